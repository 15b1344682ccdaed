import type { ErrorDetail } from '../errors/domain-error.js';
import { Decimal } from '../money/decimal.js';

/** A JSON object: not null, not an array. */
export const isJsonObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

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

/**
 * The text could hold a number a double does not keep as written: 16 or more digits in a row (a
 * decimal point between them included: `1000000000000.0000001`), or a three-digit exponent
 * (checked further by `inexactNumbers`; every other number is kept by JSON.parse's shortest round
 * trip).
 */
const MAYBE_INEXACT = /\d(?:\.?\d){15}|[eE][+-]?\d{3}/;

/**
 * Objects whose numbers are the caller's own data, stored as JSON and read by no rule here: a number
 * JSON.parse changes there is the caller's to send as a string (a Python client's nanosecond
 * timestamp in `usage_details` keeps being accepted). Only the numbers the service reads as
 * quantities, money, counts or limits are checked.
 */
const FREE_FORM = new Set(['metadata', 'usage_details', 'features', 'quota_limits']);

/**
 * JSON numbers that JSON.parse cannot keep as written (SPEC section 1: quantities are stored
 * exactly), outside free-form objects: more significant digits than a double holds
 * (`0.12345678901234567890`, `9007199254740993`), or past its range (`1e-400` reads as 0, `1e999`
 * as Infinity). The value would change silently; the caller is told to send it as a decimal string.
 * A number counts as kept when the double's shortest decimal has the same value (`0.1`, `2.0`,
 * `1E5` are). Reads the numbers' source text (JSON.parse's reviver context, Node 21+), only for
 * texts that `MAYBE_INEXACT` flags: the common body pays one regular-expression test. The reviver
 * runs bottom-up, so each problem climbs to the root through its holders, its path growing.
 */
export function inexactNumbers(text: string): ErrorDetail[] {
  if (!MAYBE_INEXACT.test(text)) return [];
  const below = new Map<object, { path: string[]; source: string }[]>();
  let found: { path: string[]; source: string }[] = [];
  try {
    JSON.parse(text, function (this: object, key: string, value: unknown, context?: { source?: string }) {
      let mine: { path: string[]; source: string }[] | undefined;
      if (typeof value === 'number') {
        const source = context?.source;
        if (source !== undefined && !sameNumber(source, value)) mine = [{ path: [], source }];
      } else if (value !== null && typeof value === 'object') {
        mine = below.get(value);
        below.delete(value);
      }
      if (mine && !FREE_FORM.has(key)) {
        if (key === '') found = mine;
        else {
          const segment = Array.isArray(this) ? `[${key}]` : key;
          const list = below.get(this) ?? [];
          for (const p of mine) list.push({ path: [segment, ...p.path], source: p.source });
          below.set(this, list);
        }
      }
      return value;
    });
  } catch {
    return []; // nested too deep for the reviver's recursion: the depth guard refuses the body (MAX_JSON_DEPTH)
  }
  return found.slice(0, 20).map(({ path, source }) => {
    const field = path.map((s, i) => (i === 0 || s.startsWith('[') ? s : `.${s}`)).join('') || 'body';
    return { field, message: `${field}: the number ${source.slice(0, 40)} cannot be held exactly; send it as a decimal string` };
  });
}

const sameNumber = (source: string, value: number): boolean => {
  if (!Number.isFinite(value)) return false;
  if (String(value) === source) return true;
  return new Decimal(source).eq(new Decimal(String(value)));
};

/**
 * Valid JSON that Fastify's parser (secure-json-parse) refuses: a key that could poison prototypes
 * (`__proto__`, or `constructor` holding a `prototype`), at any depth. Fastify answers that as "not
 * valid JSON"; this names the key and where it is. Undefined when the text is not JSON at all, or
 * holds no such key. (Iterative: a body may nest thousands deep.)
 */
export function poisonedKey(text: string): ErrorDetail | undefined {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return undefined;
  }
  const stack: [unknown, string][] = [[root, '']];
  while (stack.length > 0) {
    const [node, path] = stack.pop() as [unknown, string];
    if (node === null || typeof node !== 'object') continue;
    for (const [key, value] of Object.entries(node) as [string, unknown][]) {
      const field = Array.isArray(node) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      if (key === '__proto__' || (key === 'constructor' && isJsonObject(value) && Object.hasOwn(value, 'prototype'))) {
        return { field, message: `${field}: the key "${key}"${key === 'constructor' ? ' holding a "prototype"' : ''} is not allowed` };
      }
      stack.push([value, field]);
    }
  }
  return undefined;
}
