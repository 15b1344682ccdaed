import { Decimal, ZERO } from '../../common/money/decimal.js';
import type { PriceTierEntity } from '../catalog/entities/price-tier.entity.js';
import type { ProductEntity } from '../catalog/entities/product.entity.js';
import { scheduleOf } from '../usage/price-schedule.js';
import { buildQuote, type QuoteInput } from './price-quote.js';
import { parseQuantity } from './pricing.dto.js';

const tier = (productId: string, tierIndex: number, tierName: string, minUnits: string, maxUnits: string | null, unitPrice: string) =>
  ({ productId, tierIndex, tierName, minUnits, maxUnits, unitPrice }) as PriceTierEntity;

const product = (over: Partial<ProductEntity>): ProductEntity =>
  ({
    productId: 'p',
    productType: 'other',
    unitType: 'request',
    currency: 'USD',
    freeTierLimit: '0',
    freeTierPeriod: 'monthly',
    isActive: true,
    ...over,
  }) as ProductEntity;

// the seed's advanced_agent and minio_storage
const agent = product({
  productId: 'advanced_agent',
  productType: 'agent_execution',
  freeTierLimit: '10',
  tiers: [tier('advanced_agent', 1, 'bulk', '1000', null, '0.45'), tier('advanced_agent', 0, 'base', '0', '1000', '0.50')],
});
const minio = product({
  productId: 'minio_storage',
  productType: 'storage_minio',
  unitType: 'byte',
  freeTierLimit: '1073741824',
  tiers: [
    tier('minio_storage', 0, 'base', '0', '107374182400', '0.000000000023'),
    tier('minio_storage', 1, 'tier2', '107374182400', null, '0.000000000020'),
  ],
});

const d = (v: string | number) => new Decimal(v);
/** A user's quote: the schedule recording uses, after `from` units. */
const forUser = (p: ProductEntity, from: string, quantity: string, over: Partial<QuoteInput> = {}) =>
  buildQuote({
    product: p,
    schedule: scheduleOf(p),
    from: d(from),
    quantity: d(quantity),
    tierCode: null,
    billingInterval: 'monthly',
    ...over,
  });
/** The list price: no free tier, from unit 0. */
const list = (p: ProductEntity, quantity: string) =>
  buildQuote({
    product: p,
    schedule: { ...scheduleOf(p), freeTierLimit: ZERO },
    from: ZERO,
    quantity: d(quantity),
    tierCode: 'standard',
    billingInterval: 'monthly',
  });

describe('price quotes', () => {
  it('should quote the SPEC minio example for a user: the free GiB, then the next GiB at the base tier', () => {
    const q = forUser(minio, '0', '2147483648');
    expect(q).toEqual({
      success: true,
      product_id: 'minio_storage',
      quantity: '2147483648',
      unit_type: 'byte',
      unit_price: '0.000000000012', // 0.024696061952 / 2147483648 = 0.0000000000115, at 12 places
      total_price: '0.024696061952',
      total_cost: '0.024696061952',
      currency: 'USD',
      pricing_found: true,
      pricing_model_id: 'minio_storage',
      tier_name: 'base',
      tier_breakdown: [
        {
          tier_name: 'free_tier',
          min_quantity: '0',
          max_quantity: '1073741824',
          unit_price: '0',
          currency: 'USD',
          units: '1073741824',
          cost: '0',
        },
        {
          tier_name: 'base',
          min_quantity: '0',
          max_quantity: '107374182400',
          unit_price: '0.000000000023',
          currency: 'USD',
          units: '1073741824',
          cost: '0.024696061952',
        },
      ],
      plan_discount_applied: false,
      plan_discount_amount: '0',
      metadata: { tier_code: null, billing_interval: 'monthly', product_type: 'storage_minio', free_tier_applied: true },
    });
  });

  it('should quote the list price over the paid tiers only, across a tier boundary', () => {
    const q = list(agent, '1010');
    expect(q.total_price).toBe('504.5'); // 1000 × 0.50 + 10 × 0.45
    expect(q.total_cost).toBe(q.total_price);
    expect(q.tier_breakdown.map((r) => [r.tier_name, r.min_quantity, r.max_quantity, r.unit_price, r.units, r.cost])).toEqual([
      ['base', '0', '1000', '0.5', '1000', '500'],
      ['bulk', '1000', null, '0.45', '10', '4.5'],
    ]);
    expect(q.tier_name).toBe('bulk');
    expect(q.unit_price).toBe('0.499504950495'); // 504.5 / 1010 = 0.4995049504950495… half-up at 12 places
    expect(q.metadata).toEqual({
      tier_code: 'standard',
      billing_interval: 'monthly',
      product_type: 'agent_execution',
      free_tier_applied: false,
    });
  });

  it('should quote the next units after the user’s usage: what recording them would cost', () => {
    // 8 used: 2 free units left, then 0.50 each
    const q = forUser(agent, '8', '5');
    expect(q.tier_breakdown.map((r) => [r.tier_name, r.units, r.cost])).toEqual([
      ['free_tier', '2', '0'],
      ['base', '3', '1.5'],
    ]);
    expect([q.total_price, q.unit_price, q.tier_name, q.metadata.free_tier_applied]).toEqual(['1.5', '0.3', 'base', true]);
    // past the free tier: no free_tier row
    const later = forUser(agent, '995', '10');
    expect(later.tier_breakdown.map((r) => [r.tier_name, r.units, r.cost])).toEqual([
      ['base', '5', '2.5'],
      ['bulk', '5', '2.25'],
    ]);
    expect(later.metadata.free_tier_applied).toBe(false);
  });

  it("should name a bounded last tier's own bounds in its rows, pricing the units past it at its price", () => {
    const bounded = product({ tiers: [tier('p', 0, 'a', '0', '2', '1'), tier('p', 1, 'b', '2', '10', '0.5')] });
    for (const quantity of ['5', '50']) {
      const quote = list(bounded, quantity);
      expect(quote.tier_breakdown.map((r) => [r.tier_name, r.min_quantity, r.max_quantity])).toEqual([
        ['a', '0', '2'],
        ['b', '2', '10'],
      ]);
    }
    expect(list(bounded, '50').total_price).toBe('26');
  });

  it('should name the free tier when every quoted unit is free', () => {
    const q = forUser(agent, '0', '10');
    expect([q.total_price, q.unit_price, q.tier_name]).toEqual(['0', '0', 'free_tier']);
    expect(q.tier_breakdown).toHaveLength(1);
  });

  it('should quote 0 units as 0, with the tier the next unit falls in and no rows', () => {
    expect(forUser(agent, '3', '0')).toMatchObject({
      quantity: '0',
      total_price: '0',
      unit_price: '0',
      tier_name: 'free_tier',
      tier_breakdown: [],
    });
    expect(forUser(agent, '1000', '0')).toMatchObject({ tier_name: 'bulk', tier_breakdown: [] });
    expect(list(agent, '0')).toMatchObject({ total_price: '0', unit_price: '0', tier_name: 'base' });
  });

  it('should round the average unit price half-up at 12 places', () => {
    const one = product({ tiers: [tier('p', 0, 'base', '0', null, '0.0000000000005')] });
    // 1 × 0.0000000000005: the 13th place is a 5, rounded up (half-even would give 0)
    expect(list(one, '1').unit_price).toBe('0.000000000001');
    const third = product({ tiers: [tier('p', 0, 'base', '0', null, '1')] });
    const q = buildQuote({
      product: third,
      schedule: scheduleOf(third),
      from: ZERO,
      quantity: d(3),
      tierCode: null,
      billingInterval: 'monthly',
    });
    expect(q.unit_price).toBe('1');
    const twoThirds = list(product({ tiers: [tier('p', 0, 'a', '0', '1', '2'), tier('p', 1, 'b', '1', null, '0')] }), '3');
    expect(twoThirds.unit_price).toBe('0.666666666667');
  });

  it('should price fractional quantities exactly', () => {
    const tokens = product({ unitType: 'token', tiers: [tier('p', 0, 'base', '0', null, '0.00003')] });
    expect(list(tokens, '0.1')).toMatchObject({ quantity: '0.1', total_price: '0.000003', unit_price: '0.00003' });
  });

  it('should read a quantity as an exact decimal from a JSON number or a decimal string', () => {
    expect(parseQuantity(0.1)?.toFixed()).toBe('0.1');
    expect(parseQuantity(1073741824)?.toFixed()).toBe('1073741824');
    expect(parseQuantity(-0)?.toFixed()).toBe('0');
    expect(parseQuantity('2147483648.25')?.toFixed()).toBe('2147483648.25');
    expect(parseQuantity('1000000000000000000')?.toFixed()).toBe('1000000000000000000');
    for (const bad of [
      -1,
      -0.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      1e19,
      '-1',
      '1e5',
      ' 1',
      '',
      'abc',
      '1000000000000000001',
      null,
      true,
      [],
      {},
    ]) {
      expect([bad, parseQuantity(bad)]).toEqual([bad, undefined]);
    }
  });
});
