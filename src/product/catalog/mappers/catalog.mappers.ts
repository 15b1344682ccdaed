import { formatDecimal } from '../../../common/money/decimal.js';
import type { TierInput } from '../pricing-engine.js';
import type { CategoryEntity } from '../entities/category.entity.js';
import type { PlanEntity } from '../entities/plan.entity.js';
import type { PriceTierEntity } from '../entities/price-tier.entity.js';
import type { ProductEntity } from '../entities/product.entity.js';

/** JSON shapes of the catalog API (snake_case; decimals as strings; ISO 8601 UTC timestamps). */
export interface CategoryResponse {
  category_id: string;
  name: string;
  description: string | null;
  display_order: number;
  is_active: boolean;
  created_at: string;
  updated_at: string;
}

export type TierResponse = TierInput;

/** A tier in the pricing response: with its row's `pricing_id` (what the admin routes address). */
export interface PricedTierResponse extends TierResponse {
  pricing_id: string;
}

export interface PricingBlock {
  pricing_type: string;
  unit_type: string;
  currency: string;
  free_tier_limit: string;
  free_tier_period: string;
  tiers: TierResponse[];
}

export interface ProductResponse {
  product_id: string;
  name: string;
  product_code: string | null;
  description: string | null;
  category_id: string;
  product_type: string;
  provider: string | null;
  features: unknown[];
  quota_limits: Record<string, unknown>;
  metadata: Record<string, unknown>;
  requires_subscription: boolean;
  is_active: boolean;
  pricing: PricingBlock;
  created_at: string;
  updated_at: string;
}

export interface PlanResponse {
  plan_id: string;
  name: string;
  plan_tier: string;
  description: string | null;
  monthly_price: string;
  yearly_price: string;
  per_seat: boolean;
  currency: string;
  included_credits: string;
  credit_rollover: boolean;
  max_rollover_credits: string | null;
  target_audience: string | null;
  min_seats: number;
  max_seats: number | null;
  trial_days: number;
  features: unknown[];
  usage_limits: Record<string, unknown>;
  included_products: { product_id: string; included_amount: string | null }[];
  support_level: string | null;
  is_public: boolean;
  is_active: boolean;
  display_order: number;
  created_at: string;
  updated_at: string;
}

const iso = (d: Date | string): string => new Date(d).toISOString();

export function toCategoryResponse(c: CategoryEntity): CategoryResponse {
  return {
    category_id: c.categoryId,
    name: c.name,
    description: c.description,
    display_order: c.displayOrder,
    is_active: c.isActive,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

/** Tiers as stored (numeric text keeps the scale it was written with: "0.50" stays "0.50"). */
export function toTierResponse(t: PriceTierEntity): TierResponse {
  return { tier_name: t.tierName, min_units: t.minUnits, max_units: t.maxUnits, unit_price: t.unitPrice };
}

export function toPricedTierResponse(t: PriceTierEntity): PricedTierResponse {
  return { pricing_id: t.pricingId, ...toTierResponse(t) };
}

export function toPricingBlock(p: ProductEntity, tiers: readonly PriceTierEntity[]): PricingBlock {
  return {
    pricing_type: p.pricingType,
    unit_type: p.unitType,
    currency: p.currency,
    free_tier_limit: p.freeTierLimit,
    free_tier_period: p.freeTierPeriod,
    tiers: [...tiers].sort((a, b) => a.tierIndex - b.tierIndex).map(toTierResponse),
  };
}

export function toProductResponse(p: ProductEntity, tiers: readonly PriceTierEntity[]): ProductResponse {
  return {
    product_id: p.productId,
    name: p.name,
    product_code: p.productCode,
    description: p.description,
    category_id: p.categoryId,
    product_type: p.productType,
    provider: p.provider,
    features: p.features,
    quota_limits: p.quotaLimits,
    metadata: p.metadata,
    requires_subscription: p.requiresSubscription,
    is_active: p.isActive,
    pricing: toPricingBlock(p, tiers),
    created_at: iso(p.createdAt),
    updated_at: iso(p.updatedAt),
  };
}

export function toPlanResponse(p: PlanEntity): PlanResponse {
  return {
    plan_id: p.planId,
    name: p.name,
    plan_tier: p.planTier,
    description: p.description,
    monthly_price: p.monthlyPrice,
    yearly_price: p.yearlyPrice,
    per_seat: p.perSeat,
    currency: p.currency,
    included_credits: formatDecimal(p.includedCredits),
    credit_rollover: p.creditRollover,
    max_rollover_credits: p.maxRolloverCredits === null ? null : formatDecimal(p.maxRolloverCredits),
    target_audience: p.targetAudience,
    min_seats: p.minSeats,
    max_seats: p.maxSeats,
    trial_days: p.trialDays,
    features: p.features,
    usage_limits: p.usageLimits,
    included_products: (p.includedProducts ?? []).map((i) => ({
      product_id: i.product_id,
      included_amount: i.included_amount === null || i.included_amount === undefined ? null : String(i.included_amount),
    })),
    support_level: p.supportLevel,
    is_public: p.isPublic,
    is_active: p.isActive,
    display_order: p.displayOrder,
    created_at: iso(p.createdAt),
    updated_at: iso(p.updatedAt),
  };
}
