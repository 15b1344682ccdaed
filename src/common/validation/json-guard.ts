import type { ErrorDetail } from '../errors/domain-error.js';

/** Deepest nesting of arrays/objects a request body may have (class-transformer recurses). */
export const MAX_JSON_DEPTH = 32;

const pathOf = (parent: string, key: string | number): string =>
  typeof key === 'number' ? `${parent}[${key}]` : parent ? `${parent}.${key}` : key;

/**
 * Checks a parsed JSON body before it is transformed and stored: nesting at most `maxDepth` levels
 * (deeper bodies would overflow the stack of recursive transformers) and no NUL character in any
 * string or key (PostgreSQL text and jsonb cannot store U+0000). Iterative, so any depth is safe.
 * Returns one detail per problem found (at most 20).
 */
export function checkJsonBody(body: unknown, maxDepth = MAX_JSON_DEPTH): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: body, path: '', depth: 0 }];
  while (stack.length > 0 && problems.length < 20) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) problems.push({ field: path || 'body', message: `${path || 'body'} must not contain NUL characters` });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= maxDepth) {
      problems.push({ field: path || 'body', message: `JSON may be nested at most ${maxDepth} levels` });
      continue;
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: pathOf(path, i), depth: depth + 1 });
      continue;
    }
    for (const [key, child] of Object.entries(value)) {
      if (key.includes('\u0000')) {
        problems.push({ field: path || 'body', message: `${path || 'body'} has a key with a NUL character` });
        continue;
      }
      stack.push({ value: child, path: pathOf(path, key), depth: depth + 1 });
    }
  }
  return problems;
}
