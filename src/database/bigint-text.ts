import type { ValueTransformer } from 'typeorm';

/**
 * A `bigint` column read as its decimal text on every driver: node-postgres hands int8 over as a
 * string, embedded PGlite as a number (or a BigInt beyond 2^53). Entities type such columns
 * (`seq`, the keyset of paged lists) as `string`; this keeps that true on both. Written as given.
 */
export const BIGINT_AS_TEXT: ValueTransformer = {
  from: (value: unknown): unknown => (typeof value === 'number' || typeof value === 'bigint' ? value.toString() : value),
  to: (value: unknown): unknown => value,
};
