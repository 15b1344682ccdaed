import { Decimal } from '../../common/money/decimal.js';
import {
  countersFor,
  decideQuotas,
  planLimits,
  type QuotaCandidate,
  type QuotaCounter,
  type QuotaSubscription,
  quotaSubscriptionOf,
  windowOf,
} from './quota-limits.js';

const sub = (over: Partial<QuotaSubscription> = {}): QuotaSubscription => ({
  subscriptionId: 'sub_1',
  userId: 'u1',
  organizationId: null,
  planId: 'p',
  status: 'active',
  currentPeriodStart: new Date('2026-11-10T00:00:00.000Z'),
  currentPeriodEnd: new Date('2026-12-10T00:00:00.000Z'),
  quotaLimits: {},
  ...over,
});

const NOW = new Date('2026-11-25T10:00:00.000Z');
const product = { productId: 'gpt-4o-mini', productType: 'model_inference' };

describe('quota limits (pure)', () => {
  it('should read limits of object entries only, -1 as unlimited, thresholds defaulting to 50/80/100', () => {
    expect(
      planLimits({
        model_inference: { daily_requests: 100, period_units: '1000.5' },
        storage_gb: 5,
        mcp_tools: { daily_requests: -1 },
        x: { daily_requests: 1.5, period_units: 'lots', thresholds: [90, 10, 'a', 10] },
        y: { period_units: 7, thresholds: [90, 10] },
      }).map((l) => ({ key: l.key, kind: l.kind, limit: l.limit.toFixed(), thresholds: l.thresholds })),
    ).toEqual([
      { key: 'model_inference', kind: 'daily_requests', limit: '100', thresholds: [50, 80, 100] },
      { key: 'model_inference', kind: 'period_units', limit: '1000.5', thresholds: [50, 80, 100] },
      { key: 'y', kind: 'period_units', limit: '7', thresholds: [10, 90] },
    ]);
    expect(planLimits(null)).toEqual([]);
  });

  it('should take the named subscription, else the organization one, else the personal one', () => {
    const personal = sub();
    const org = sub({ subscriptionId: 'sub_org', organizationId: 'o1' });
    expect(quotaSubscriptionOf([personal, org], 'o1')).toBe(org);
    expect(quotaSubscriptionOf([personal, org], 'o2')).toBe(personal);
    expect(quotaSubscriptionOf([personal, org], null)).toBe(personal);
    expect(quotaSubscriptionOf([org], null)).toBeUndefined();
    expect(quotaSubscriptionOf([personal], 'o1', org)).toBe(org);
  });

  it('should count daily requests per UTC day and units per billing period, by product type or product id', () => {
    expect(windowOf('daily_requests', NOW, sub())).toEqual({
      start: new Date('2026-11-25T00:00:00.000Z'),
      end: new Date('2026-11-26T00:00:00.000Z'),
    });
    expect(windowOf('period_units', NOW, sub()).start.toISOString()).toBe('2026-11-10T00:00:00.000Z');
    const limits = planLimits({
      model_inference: { daily_requests: 3 },
      'gpt-4o-mini': { period_units: '10' },
      gpt4: { daily_requests: 1 },
    });
    expect(countersFor(sub(), limits, product, NOW).map((c) => `${c.key}/${c.kind}`)).toEqual([
      'model_inference/daily_requests',
      'gpt-4o-mini/period_units',
    ]);
  });

  describe('decideQuotas', () => {
    const [daily] = countersFor(sub(), planLimits({ model_inference: { daily_requests: 3 } }), product, NOW);
    const [units] = countersFor(sub(), planLimits({ model_inference: { period_units: '10' } }), product, NOW);
    const rec = (ord: number, submission: number, enforce: boolean, counter: QuotaCounter, amount = '1'): QuotaCandidate => ({
      ord,
      submission,
      enforce,
      amount: new Decimal(amount),
      productId: 'gpt-4o-mini',
      counters: [counter],
    });

    it('should refuse an enforced request that would pass a limit, take back a refused batch, and let the others through', () => {
      const decision = decideQuotas(
        [rec(0, 0, true, daily), rec(1, 1, true, daily), rec(2, 1, true, daily), rec(3, 2, true, daily), rec(4, 3, false, daily)],
        new Map([[daily.id, new Decimal('1')]]),
      );
      // used 1: request 0 → 2; request 1 (two records) would reach 4 > 3: refused whole; request 2 → 3; request 3 (not enforced) → 4, over
      expect([...decision.refused.keys()]).toEqual([1]);
      expect(decision.refused.get(1)?.used.toFixed()).toBe('2');
      expect([...decision.overQuota]).toEqual([4]);
      expect(decision.deltas.get(daily.id)?.delta.toFixed()).toBe('3');
    });

    it('should reach every threshold a jump crosses, once each, with the value after the record that reached it', () => {
      const decision = decideQuotas([rec(0, 0, false, units, '4'), rec(1, 0, false, units, '7')], new Map([[units.id, new Decimal('0')]]));
      expect(decision.reached.map((r) => [r.percent, r.used.toFixed(), r.ord])).toEqual([
        [50, '11', 1],
        [80, '11', 1],
        [100, '11', 1],
      ]);
      const jump = decideQuotas([rec(0, 0, false, units, '4'), rec(1, 1, false, units, '7')], new Map([[units.id, new Decimal('4.9')]]));
      expect(jump.reached.map((r) => r.percent)).toEqual([50, 80, 100]);
      // already past every threshold: those its window published are not reached again ...
      const published = new Map([[units.id, new Set([50, 80, 100])]]);
      const none = decideQuotas([rec(0, 0, false, units, '1')], new Map([[units.id, new Decimal('12')]]), published);
      expect(none.reached).toEqual([]);
      // ... those it never published (passed before the limit applied: records counted when the counter
      // was created, a plan lowering the limit) are reached by the next record (a "from below" rule never published them)
      const late = decideQuotas(
        [rec(0, 0, false, units, '1')],
        new Map([[units.id, new Decimal('12')]]),
        new Map([[units.id, new Set([50])]]),
      );
      expect(late.reached.map((r) => [r.percent, r.used.toFixed()])).toEqual([
        [80, '13'],
        [100, '13'],
      ]);
    });
  });
});
