import { createHash } from 'node:crypto';
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

/** A schedule's stored tiers: what the arithmetic needs (bounds and prices, normalized), in order. */
function storedTiers(schedule: PriceSchedule): { min_units: string; max_units: string | null; unit_price: string }[] {
  return schedule.tiers.map((t) => ({
    min_units: t.minUnits.toFixed(),
    max_units: t.maxUnits === null ? null : t.maxUnits.toFixed(),
    unit_price: t.unitPrice.toFixed(),
  }));
}

/**
 * The content hash that identifies a schedule in usage_price_schedules: sha256 of its free tier
 * limit and tiers (bounds and prices as normalized decimals; tier names do not price anything).
 * Two products or two catalog versions with the same arithmetic share one row.
 */
export function scheduleIdOf(schedule: PriceSchedule): string {
  const text = JSON.stringify([schedule.freeTierLimit.toFixed(), storedTiers(schedule)]);
  return createHash('sha256').update(text).digest('hex').slice(0, 40);
}

/** A usage_price_schedules row as the group statement's JSON parameter has it. */
export function scheduleJson(id: string, schedule: PriceSchedule): { id: string; free: string; tiers: ReturnType<typeof storedTiers> } {
  return { id, free: schedule.freeTierLimit.toFixed(), tiers: storedTiers(schedule) };
}

/** A stored schedule back as the pricing engine's. */
export function storedSchedule(
  freeTierLimit: string,
  tiers: readonly { min_units: string; max_units: string | null; unit_price: string }[],
): PriceSchedule {
  return toSchedule(
    freeTierLimit,
    tiers.map((t, i) => ({ tier_name: `t${i}`, min_units: t.min_units, max_units: t.max_units, unit_price: t.unit_price })),
    false, // as the record was priced
  );
}
