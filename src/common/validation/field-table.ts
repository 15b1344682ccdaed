import { badRequest, type ErrorDetail } from '../errors/domain-error.js';
import { isIdentifier } from './validators.js';

/** A check and the message it gives when it fails (a function of the value where the message depends on it). */
export type Check = readonly [ok: (value: unknown) => boolean, message: string | ((value: unknown) => string)];

/** A body field: whether it may be absent or null, and its checks in order (each failing one is a detail). */
export interface FieldRule {
  optional: boolean;
  checks: readonly Check[];
}

/** A body's fields (the keys of its DTO) and their rules. */
export type FieldTable<K extends string> = Readonly<Record<K, FieldRule>>;

/** The identifier check (SPEC identifiers), with IsIdentifier's message. */
export const identifierChecks = (field: string): Check[] => [
  [isIdentifier, `${field} must be a string of 1-255 characters without control characters`],
];

/**
 * A body's problems under a field table: unknown fields first, then each field's failed checks, in
 * the table's order. A hot route's body is checked this way instead of by class-validator, whose
 * per-call cost showed in its profile; the table gives class-validator's verdicts and messages for
 * the DTO that documents the body (each table's unit test compares the two on generated bodies).
 */
export function fieldTableProblems<K extends string>(fields: FieldTable<K>, body: Record<string, unknown>): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const key of Object.keys(body)) if (!(key in fields)) details.push({ field: key, message: `${key} is not an allowed field` });
  for (const field in fields) {
    const value = body[field];
    const { optional, checks } = fields[field];
    if (optional && (value === undefined || value === null)) continue;
    for (const [ok, message] of checks)
      if (!ok(value)) details.push({ field, message: typeof message === 'string' ? message : message(value) });
  }
  return details;
}

/**
 * The body checked by a field table: 400 `Request body must be a JSON object`, or 400 naming each
 * problem; else the body itself. (The global pipe has already refused bodies too deep or with NUL
 * characters; a route using this takes its body as a mapped type, emitted as Object, so the global
 * pipe validates nothing else.)
 */
export function checkBody<K extends string>(fields: FieldTable<K>, body: unknown): Record<K, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('Request body must be a JSON object');
  const details = fieldTableProblems(fields, body as Record<string, unknown>);
  if (details.length > 0) throw badRequest('Request validation failed', details);
  return body as Record<K, unknown>;
}
