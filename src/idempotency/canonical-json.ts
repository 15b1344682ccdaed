import { withoutValue } from '../common/validation/validation.pipe.js';

/** JSON with object keys sorted at every level: equal values give equal strings (request hashes). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * The body as a request's hash sees it: a top-level field sent as `null` is left out, as if absent
 * (SPEC 1: optional input fields may be absent or null, both mean "not given"), so a retry that
 * writes Python's None as null is the same request. Only at the top level: inside a field (an
 * included product's `included_amount: null`, a free-form `metadata`) null is a value of its own.
 */
export function withoutNullFields(body: unknown): unknown {
  return body === null || typeof body !== 'object' || Array.isArray(body) ? body : withoutValue(body, null);
}
