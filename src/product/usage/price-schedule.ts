import type { ProductEntity } from '../catalog/entities/product.entity.js';
import { type PriceSchedule, toSchedule } from '../catalog/pricing-engine.js';

/** The product's price schedule (its tiers, `product.tiers`); a product without tiers is free. */
export function scheduleOf(product: ProductEntity): PriceSchedule {
  const tiers = [...(product.tiers ?? [])].sort((x, y) => x.tierIndex - y.tierIndex);
  if (tiers.length === 0)
    return toSchedule(product.freeTierLimit, [{ tier_name: 'base', min_units: '0', max_units: null, unit_price: '0' }]);
  return toSchedule(
    product.freeTierLimit,
    tiers.map((t) => ({ tier_name: t.tierName, min_units: t.minUnits, max_units: t.maxUnits, unit_price: t.unitPrice })),
  );
}
