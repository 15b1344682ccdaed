/**
 * The public id of one tier row (`pricing_id`, SPEC section 7): the row's primary key
 * (`product_price_tiers`: product_id, tier_index) written as `<product_id>:<tier_index>`, e.g.
 * `gpt-4o-mini:0`. The pricing response carries it on each tier; `PUT /admin/pricing/{pricing_id}`
 * addresses a row by it. Tier indexes are the table's order from 0, so an id stays the same while
 * the table keeps its shape (a replaced table reuses 0..n-1).
 */
export function pricingIdOf(productId: string, tierIndex: number): string {
  return `${productId}:${tierIndex}`;
}

/** Canonical form only (no leading zeros), so one row has exactly one id. */
const PRICING_ID = /^(.+):(0|[1-9]\d{0,8})$/su;

/** The row a pricing id names, or undefined when it is not one (the product part may itself contain `:`). */
export function parsePricingId(pricingId: string): { productId: string; tierIndex: number } | undefined {
  const match = PRICING_ID.exec(pricingId);
  return match ? { productId: match[1], tierIndex: Number(match[2]) } : undefined;
}
