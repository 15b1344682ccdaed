import { isDeepStrictEqual } from 'node:util';

/**
 * Whether `patch` (entity properties, `updatedAt` aside) would change `entity`: a write that
 * changes nothing writes nothing and publishes nothing (SPEC: `product.catalog.changed` and
 * `product.cost_definitions.changed` are published when something changes; the audit trail records
 * changes). JSON fields compare by value, whatever their keys' order.
 */
export function changes(entity: object, patch: Record<string, unknown>): boolean {
  const current = entity as Record<string, unknown>;
  return Object.entries(patch).some(
    ([key, value]) => key !== 'updatedAt' && !isDeepStrictEqual(normalized(current[key]), normalized(value)),
  );
}

/** Plain JSON data (class instances and prototypes aside), for comparing stored values with a body's. */
const normalized = (value: unknown): unknown => (value !== null && typeof value === 'object' ? JSON.parse(JSON.stringify(value)) : value);
