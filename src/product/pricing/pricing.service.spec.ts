import { Decimal } from '../../common/money/decimal.js';
import type { PriceTierEntity } from '../catalog/entities/price-tier.entity.js';
import type { ProductEntity } from '../catalog/entities/product.entity.js';
import { calendarMonth } from '../subscriptions/billing-period.js';
import { buildPricingResponse } from './pricing.service.js';

const productRow = (over: Partial<ProductEntity>): ProductEntity =>
  ({
    productId: 'p1',
    name: 'P1',
    pricingType: 'usage_based',
    unitType: 'request',
    currency: 'USD',
    freeTierLimit: '0',
    freeTierPeriod: 'monthly',
    ...over,
  }) as ProductEntity;
const tierRow = (tierIndex: number, minUnits: string, maxUnits: string | null, unitPrice: string): PriceTierEntity => ({
  pricingId: `00000000-0000-4000-8000-00000000000${tierIndex}`,
  productId: 'p1',
  tierIndex,
  tierName: `t${tierIndex}`,
  minUnits,
  maxUnits,
  unitPrice,
});

const calendar = calendarMonth(new Date('2026-02-14T23:59:59Z'));
const month = { periodStart: calendar.start, periodEnd: calendar.end };
const tiers = [tierRow(0, '0', '1000', '0.50'), tierRow(1, '1000', null, '0.45')];

describe('pricing response', () => {
  it('should use the first tier price and the whole free tier without a user', () => {
    const res = buildPricingResponse(productRow({ freeTierLimit: '10' }), tiers, { ...month, units: new Decimal(0) }, false);
    expect(res.unit_price).toBe('0.50');
    expect(res.base_unit_price).toBe('0.50');
    expect(res.pricing_model).toMatchObject({ base_unit_price: '0.50', free_tier_limit: '10', tier_mode: 'graduated' });
    expect(res.effective_pricing).toEqual({
      base_unit_price: '0.50',
      period_start: '2026-02-01T00:00:00.000Z',
      period_end: '2026-03-01T00:00:00.000Z',
      period_usage: '0',
      free_tier_remaining: '10',
      current_tier: 't0',
    });
  });

  it('should give each tier its pricing_id, the tier row id, in tiers and pricing_model.tiers', () => {
    const res = buildPricingResponse(productRow({}), [tiers[1], tiers[0]], { ...month, units: new Decimal(0) }, false);
    expect(res.tiers.map((t) => [t.pricing_id, t.tier_name])).toEqual([
      ['00000000-0000-4000-8000-000000000000', 't0'],
      ['00000000-0000-4000-8000-000000000001', 't1'],
    ]);
    expect(res.pricing_model.tiers).toEqual(res.tiers);
  });

  it('should give the marginal price of the next unit for a user: 0 inside the free tier', () => {
    const res = buildPricingResponse(productRow({ freeTierLimit: '10' }), tiers, { ...month, units: new Decimal('9.5') }, true);
    expect(res.unit_price).toBe('0');
    expect(res.effective_pricing.free_tier_remaining).toBe('0.5');
    expect(res.base_unit_price).toBe('0.50');
  });

  it('should move to the next tier at its lower bound (graduated, min inclusive)', () => {
    const inBase = buildPricingResponse(productRow({ freeTierLimit: '10' }), tiers, { ...month, units: new Decimal('999') }, true);
    expect(inBase.unit_price).toBe('0.50');
    const atBound = buildPricingResponse(productRow({ freeTierLimit: '10' }), tiers, { ...month, units: new Decimal('1000') }, true);
    expect(atBound.unit_price).toBe('0.45');
    expect(atBound.base_unit_price).toBe('0.50');
    expect(atBound.effective_pricing).toMatchObject({
      base_unit_price: '0.45',
      current_tier: 't1',
      period_usage: '1000',
      free_tier_remaining: '0',
    });
  });
});
