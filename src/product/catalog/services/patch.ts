import { Decimal } from '../../../common/money/decimal.js';
import type { SeedPricing } from '../../../database/seed/catalog-seed.types.js';

/** The body's fields that were given (absent and null both mean "not given"). */
export function definedEntries(dto: object): [string, unknown][] {
  return Object.entries(dto).filter(([, v]) => v !== undefined && v !== null);
}

/** `free_tier_limit` → `freeTierLimit`: a body field to its entity property. */
export const snakeToCamel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The same pricing: its fields and its tier table, bounds and prices by decimal value ("1.0" is "1"). */
export function samePricing(
  product: { pricingType: string; unitType: string; currency: string; freeTierLimit: string; freeTierPeriod: string },
  tiers: readonly { tierName: string; minUnits: string; maxUnits: string | null; unitPrice: string }[],
  pricing: SeedPricing,
): boolean {
  const same = (a: string | null | undefined, b: string | null | undefined) =>
    a === null || a === undefined || b === null || b === undefined ? (a ?? null) === (b ?? null) : new Decimal(a).eq(b);
  return (
    product.pricingType === pricing.pricing_type &&
    product.unitType === pricing.unit_type &&
    product.currency === pricing.currency &&
    same(product.freeTierLimit, pricing.free_tier_limit ?? '0') &&
    product.freeTierPeriod === (pricing.free_tier_period ?? 'monthly') &&
    tiers.length === pricing.tiers.length &&
    tiers.every(
      (t, i) =>
        t.tierName === pricing.tiers[i].tier_name &&
        same(t.minUnits, pricing.tiers[i].min_units) &&
        same(t.maxUnits, pricing.tiers[i].max_units) &&
        same(t.unitPrice, pricing.tiers[i].unit_price),
    )
  );
}
