import type { ErrorDetail } from '../errors/domain-error.js';

/** Deepest nesting of arrays/objects a request body may have (class-transformer recurses). */
export const MAX_JSON_DEPTH = 32;

const pathOf = (parent: string, key: string | number): string =>
  typeof key === 'number' ? `${parent}[${key}]` : parent ? `${parent}.${key}` : key;

/** A value still to visit, and where it sits: its path is built only when it has a problem. */
interface Pending {
  value: unknown;
  parent: Pending | null;
  key: string | number | null;
  depth: number;
}

const pathOfEntry = (e: Pending): string => (e.parent === null || e.key === null ? '' : pathOf(pathOfEntry(e.parent), e.key));
/** the field a problem names: the value's path, or `body` for the whole */
const fieldOf = (e: Pending): string => pathOfEntry(e) || 'body';

/**
 * A string PostgreSQL cannot store as sent: a NUL (text and jsonb refuse U+0000), or an unpaired
 * surrogate (`"\ud800"` in the JSON: jsonb refuses it, and text would get U+FFFD instead, changing
 * the value). `isWellFormed` answers at once for a one-byte string, which cannot hold a surrogate.
 */
const badString = (value: string): boolean => value.includes('\u0000') || !value.isWellFormed();

/** Whether a value can have a problem (containers, and bad strings): the others are not visited. */
const worthVisiting = (value: unknown): boolean =>
  typeof value === 'string' ? badString(value) : value !== null && typeof value === 'object';

const stringProblem = (field: string, value: string): string =>
  value.includes('\u0000') ? `${field} must not contain NUL characters` : `${field} must be valid Unicode (it has an unpaired surrogate)`;

/**
 * Checks a parsed JSON body before it is transformed and stored: nesting at most `maxDepth` levels
 * (deeper bodies would overflow the stack of recursive transformers), and no string or key that
 * PostgreSQL cannot store as sent (a NUL, an unpaired surrogate: see badString). Iterative, so any
 * depth is safe. Returns one detail per problem found (at most 20). It runs on every body and every
 * consumed event: values that cannot have a problem (numbers, booleans, null, good strings) are not
 * put on the stack, and a path is built only for a problem.
 */
export function checkJsonBody(body: unknown, maxDepth = MAX_JSON_DEPTH): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  if (!worthVisiting(body)) return problems;
  const stack: Pending[] = [{ value: body, parent: null, key: null, depth: 0 }];
  while (stack.length > 0 && problems.length < 20) {
    const entry = stack.pop()!;
    const { value, depth } = entry;
    if (typeof value === 'string') {
      const field = fieldOf(entry);
      problems.push({ field, message: stringProblem(field, value) });
      continue;
    }
    if (depth >= maxDepth) {
      const field = fieldOf(entry);
      problems.push({ field, message: `JSON may be nested at most ${maxDepth} levels` });
      continue;
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        if (worthVisiting(value[i])) stack.push({ value: value[i], parent: entry, key: i, depth: depth + 1 });
      }
      continue;
    }
    const object = value as Record<string, unknown>;
    for (const key of Object.keys(object)) {
      if (badString(key)) {
        const field = fieldOf(entry);
        problems.push({
          field,
          message: `${field} has a key with ${key.includes('\u0000') ? 'a NUL character' : 'an unpaired surrogate'}`,
        });
        continue;
      }
      if (worthVisiting(object[key])) stack.push({ value: object[key], parent: entry, key, depth: depth + 1 });
    }
  }
  return problems;
}
