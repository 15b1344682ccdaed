import { Decimal } from '../../common/money/decimal.js';
import {
  costOfUnits,
  freeTierRemaining,
  priceRecord,
  splitUnits,
  tierAt,
  toSchedule,
  unitPriceAt,
  validateTiers,
} from './pricing-engine.js';

const minio = toSchedule('1073741824', [
  { tier_name: 'base', min_units: '0', max_units: '107374182400', unit_price: '0.000000000023' },
  { tier_name: 'tier2', min_units: '107374182400', max_units: null, unit_price: '0.000000000020' },
]);
const agent = toSchedule('10', [
  { tier_name: 'base', min_units: '0', max_units: '1000', unit_price: '0.50' },
  { tier_name: 'bulk', min_units: '1000', max_units: null, unit_price: '0.45' },
]);
const d = (v: string | number) => new Decimal(v);

describe('pricing engine', () => {
  it('should price the SPEC minio example exactly', () => {
    const gib = d('1073741824');
    expect(costOfUnits(minio, d(0), gib).toFixed()).toBe('0');
    expect(costOfUnits(minio, gib, gib.times(2)).toFixed()).toBe('0.024696061952');
    const record = priceRecord(minio, gib, gib);
    expect(record.cost.toFixed()).toBe('0.024696061952');
    expect(record.isFreeTier).toBe(false);
    expect(record.unitPrice.toFixed()).toBe('0.000000000023');
  });

  it('should price units beyond a bounded last tier at its price (every unit has a price), a stored schedule as stored', () => {
    const tiers = [
      { tier_name: 'a', min_units: '0', max_units: '100', unit_price: '1' },
      { tier_name: 'b', min_units: '100', max_units: '200', unit_price: '0.5' },
    ];
    expect(costOfUnits(toSchedule('10', tiers), d(0), d(250)).toFixed()).toBe('165'); // 90 × 1 + 150 × 0.5
    expect(priceRecord(toSchedule('0', tiers), d(300), d(10)).cost.toFixed()).toBe('5');
    expect(costOfUnits(toSchedule('10', tiers, false), d(0), d(250)).toFixed()).toBe('140'); // the bound kept: 90 + 50
  });

  it('should split a record across the free tier boundary', () => {
    const record = priceRecord(agent, d(5), d(10));
    expect(record.cost.toFixed()).toBe('2.5');
    expect(record.isFreeTier).toBe(false);
    expect(priceRecord(agent, d(0), d(10)).isFreeTier).toBe(true);
    expect(priceRecord(agent, d(0), d(10)).cost.toFixed()).toBe('0');
  });

  it('should split a record across a tier boundary inside one record', () => {
    // units 990..1010: 10 at 0.50, 10 at 0.45
    expect(costOfUnits(agent, d(990), d(1010)).toFixed()).toBe('9.5');
  });

  it('should give the marginal price and tier of a unit', () => {
    expect(unitPriceAt(agent, d(9)).toFixed()).toBe('0');
    expect(unitPriceAt(agent, d(10)).toFixed()).toBe('0.5');
    expect(unitPriceAt(agent, d(1000)).toFixed()).toBe('0.45');
    expect(tierAt(agent, d(999)).tierName).toBe('base');
    expect(freeTierRemaining(agent, d(4)).toFixed()).toBe('6');
    expect(freeTierRemaining(agent, d(40)).toFixed()).toBe('0');
  });

  it('should be additive: pricing in pieces equals pricing at once', () => {
    const whole = costOfUnits(minio, d(0), d('300000000000'));
    let pieces = d(0);
    let at = d(0);
    for (const step of ['1', '1073741823', '5', '106300440571', '192625817600']) {
      pieces = pieces.plus(costOfUnits(minio, at, at.plus(step)));
      at = at.plus(step);
    }
    expect(at.toFixed()).toBe('300000000000');
    expect(pieces.eq(whole)).toBe(true);
  });

  it('should price fractional units exactly', () => {
    const tokens = toSchedule('0', [{ tier_name: 'base', min_units: '0', max_units: null, unit_price: '0.00003' }]);
    expect(costOfUnits(tokens, d(0), d('0.1')).toFixed()).toBe('0.000003');
  });

  it('should split a range by tier: the free tier first, then each tier it touches', () => {
    // advanced_agent units 5..1010: 5 free, 990 at 0.50 (10..1000), 10 at 0.45
    const parts = splitUnits(agent, d(5), d(1010));
    expect(parts.map((p) => [p.tier?.tierName ?? 'free', p.from.toFixed(), p.to.toFixed(), p.units.toFixed(), p.cost.toFixed()])).toEqual([
      ['free', '5', '10', '5', '0'],
      ['base', '10', '1000', '990', '495'],
      ['bulk', '1000', '1010', '10', '4.5'],
    ]);
    expect(splitUnits(agent, d(3), d(3))).toEqual([]);
    expect(splitUnits(agent, d(20), d(30)).map((p) => p.tier?.tierName)).toEqual(['base']);
  });

  it('should split into parts whose costs add up to the cost of the range, as recording prices it', () => {
    const cases: [string, string][] = [
      ['0', '1073741824'],
      ['0', '2147483648'],
      ['1073741823.5', '107374182401.25'],
      ['107374182400', '300000000000'],
      ['5', '5.000001'],
    ];
    for (const [from, to] of cases) {
      const parts = splitUnits(minio, d(from), d(to));
      const sum = parts.reduce((acc, p) => acc.plus(p.cost), d(0));
      expect([from, to, sum.toFixed()]).toEqual([from, to, costOfUnits(minio, d(from), d(to)).toFixed()]);
      expect(sum.eq(priceRecord(minio, d(from), d(to).minus(from)).cost)).toBe(true);
      expect(parts.reduce((acc, p) => acc.plus(p.units), d(0)).toFixed()).toBe(d(to).minus(from).toFixed());
    }
  });

  it('should accept a contiguous tier table and name each problem of a bad one', () => {
    expect(validateTiers([{ tier_name: 'a', min_units: '0', max_units: null, unit_price: '1' }])).toEqual([]);
    const problems = validateTiers([
      { tier_name: 'a', min_units: '1', max_units: '10', unit_price: '1' },
      { tier_name: 'b', min_units: '11', max_units: null, unit_price: '-1' },
      { tier_name: 'c', min_units: '20', max_units: '5', unit_price: '1' },
    ]);
    const fields = problems.map((p) => p.field);
    expect(fields).toEqual(
      expect.arrayContaining(['tiers[0].min_units', 'tiers[1].min_units', 'tiers[1].unit_price', 'tiers[1].max_units']),
    );
    expect(validateTiers([])).toHaveLength(1);
  });
});
