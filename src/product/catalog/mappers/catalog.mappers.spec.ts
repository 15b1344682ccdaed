import type { PlanEntity } from '../entities/plan.entity.js';
import type { PriceTierEntity } from '../entities/price-tier.entity.js';
import type { ProductEntity } from '../entities/product.entity.js';
import { toPlanResponse, toProductResponse } from './catalog.mappers.js';

const at = new Date('2026-11-20T10:00:00Z');

const productRow = (over: Partial<ProductEntity> = {}): ProductEntity => ({
  productId: 'p1',
  name: 'P1',
  productCode: null,
  description: null,
  categoryId: 'c1',
  productType: 'model_inference',
  provider: null,
  features: [],
  quotaLimits: {},
  metadata: {},
  requiresSubscription: false,
  isActive: true,
  pricingType: 'usage_based',
  unitType: 'token',
  currency: 'USD',
  freeTierLimit: '100',
  freeTierPeriod: 'monthly',
  createdAt: at,
  updatedAt: at,
  ...over,
});

const tierRow = (tierIndex: number, minUnits: string, maxUnits: string | null, unitPrice: string): PriceTierEntity => ({
  pricingId: `00000000-0000-4000-8000-00000000000${tierIndex}`,
  productId: 'p1',
  tierIndex,
  tierName: `t${tierIndex}`,
  minUnits,
  maxUnits,
  unitPrice,
});

describe('catalog mappers', () => {
  it('should map a product with its tiers in tier order, decimals as stored and dates in UTC', () => {
    const res = toProductResponse(productRow(), [tierRow(1, '10', null, '0.20'), tierRow(0, '0', '10', '0.50')]);
    expect(res.pricing).toEqual({
      pricing_type: 'usage_based',
      unit_type: 'token',
      currency: 'USD',
      free_tier_limit: '100',
      free_tier_period: 'monthly',
      tiers: [
        { tier_name: 't0', min_units: '0', max_units: '10', unit_price: '0.50' },
        { tier_name: 't1', min_units: '10', max_units: null, unit_price: '0.20' },
      ],
    });
    expect(res.created_at).toBe('2026-11-20T10:00:00.000Z');
    expect(Object.keys(res)).toEqual(expect.arrayContaining(['product_id', 'is_active', 'requires_subscription', 'updated_at']));
  });

  it('should write plan amounts as strings and keep unlimited included amounts null', () => {
    const plan = {
      planId: 'pl',
      name: 'Plan',
      planTier: 'pro',
      description: null,
      monthlyPrice: '20',
      yearlyPrice: '192.00',
      perSeat: false,
      currency: 'USD',
      includedCredits: '30000000',
      creditRollover: true,
      maxRolloverCredits: null,
      targetAudience: null,
      minSeats: 1,
      maxSeats: null,
      trialDays: 14,
      features: [],
      usageLimits: {},
      includedProducts: [
        { product_id: 'a', included_amount: '5' },
        { product_id: 'b', included_amount: null },
      ],
      supportLevel: null,
      isPublic: true,
      isActive: true,
      displayOrder: 1,
      createdAt: at,
      updatedAt: at,
    } as PlanEntity;
    const res = toPlanResponse(plan);
    expect(res).toMatchObject({ monthly_price: '20', yearly_price: '192.00', included_credits: '30000000', max_rollover_credits: null });
    expect(res.included_products).toEqual([
      { product_id: 'a', included_amount: '5' },
      { product_id: 'b', included_amount: null },
    ]);
  });
});
