import { Decimal, formatDecimal, ZERO } from '../../common/money/decimal.js';
import type { ProductEntity } from '../catalog/entities/product.entity.js';
import { type PriceSchedule, splitUnits, type Tier, tierAt } from '../catalog/pricing-engine.js';

/** The name of the breakdown row of units inside the free tier. */
export const FREE_TIER_ROW = 'free_tier';

/** One tier the quoted units touch (SPEC section 7). */
export interface QuoteTierRow {
  tier_name: string;
  /** the tier's bounds (the free tier: 0 to free_tier_limit); max null = unbounded */
  min_quantity: string;
  max_quantity: string | null;
  unit_price: string;
  currency: string;
  /** how many of the quoted units fall in this tier */
  units: string;
  cost: string;
}

/** POST /api/v1/pricing/calculate (SPEC section 7). */
export interface PriceQuoteResponse {
  success: true;
  product_id: string;
  quantity: string;
  unit_type: string;
  /** total_price / quantity, rounded half-up to 12 places; "0" for quantity 0 */
  unit_price: string;
  total_price: string;
  /** = total_price */
  total_cost: string;
  currency: string;
  pricing_found: true;
  pricing_model_id: string;
  /** the tier of the last quoted unit (quantity 0: of the next unit) */
  tier_name: string;
  tier_breakdown: QuoteTierRow[];
  plan_discount_applied: false;
  plan_discount_amount: '0';
  metadata: {
    tier_code: string | null;
    billing_interval: string;
    product_type: string;
    free_tier_applied: boolean;
  };
}

export interface QuoteInput {
  product: ProductEntity;
  /** the schedule to price with (the list price: without its free tier) */
  schedule: PriceSchedule;
  /** units already used before the quoted ones (0 for the list price) */
  from: Decimal;
  quantity: Decimal;
  tierCode: string | null;
  billingInterval: string;
}

/** Places of the average unit price (SPEC: rounded half-up to 12 places). */
const UNIT_PRICE_PLACES = 12;

/**
 * Pure: the quote of units [from, from + quantity) on a schedule, with the pricing engine's own
 * split (`splitUnits`, the integral recording charges): the same figures recording those units
 * after `from` would store.
 */
export function buildQuote(input: QuoteInput): PriceQuoteResponse {
  const { product, schedule, from, quantity } = input;
  const parts = splitUnits(schedule, from, from.plus(quantity));
  const total = parts.reduce((sum, p) => sum.plus(p.cost), ZERO);
  // the rows name each tier's own bounds: the schedule prices past a bounded last tier at its price,
  // and so has no bound there (the pricing response shows the stored one; the quote had said null)
  const stored = [...(product.tiers ?? [])].sort((x, y) => x.tierIndex - y.tierIndex);
  const maxOf = (tier: Tier): string | null => {
    const max = stored[schedule.tiers.indexOf(tier)]?.maxUnits ?? tier.maxUnits?.toFixed() ?? null;
    return max === null ? null : formatDecimal(max);
  };
  const rows = parts.map((p): QuoteTierRow => ({
    tier_name: p.tier ? p.tier.tierName : FREE_TIER_ROW,
    min_quantity: p.tier ? formatDecimal(p.tier.minUnits) : '0',
    max_quantity: p.tier ? maxOf(p.tier) : formatDecimal(schedule.freeTierLimit),
    unit_price: formatDecimal(p.unitPrice),
    currency: product.currency,
    units: formatDecimal(p.units),
    cost: formatDecimal(p.cost),
  }));
  const last = rows.at(-1);
  const tierName = last ? last.tier_name : from.lt(schedule.freeTierLimit) ? FREE_TIER_ROW : tierAt(schedule, from).tierName;
  const unitPrice = quantity.isZero() ? ZERO : total.div(quantity).toDecimalPlaces(UNIT_PRICE_PLACES, Decimal.ROUND_HALF_UP);
  const totalText = formatDecimal(total);
  return {
    success: true,
    product_id: product.productId,
    quantity: formatDecimal(quantity),
    unit_type: product.unitType,
    unit_price: formatDecimal(unitPrice),
    total_price: totalText,
    total_cost: totalText,
    currency: product.currency,
    pricing_found: true,
    pricing_model_id: product.productId,
    tier_name: tierName,
    tier_breakdown: rows,
    plan_discount_applied: false,
    plan_discount_amount: '0',
    metadata: {
      tier_code: input.tierCode,
      billing_interval: input.billingInterval,
      product_type: product.productType,
      free_tier_applied: parts.some((p) => p.tier === null),
    },
  };
}
