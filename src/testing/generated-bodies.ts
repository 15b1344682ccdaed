/** A deterministic pseudo-random generator (mulberry32), so a failure names a body that can be replayed. */
export function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What to build bodies from: values per field, valid ones per field, sets of unknown fields, the required fields. */
export interface BodyValues {
  /** values worth trying for each field: valid ones, edge ones and wrong types */
  candidates: Record<string, unknown[]>;
  /** values each field accepts (null stands for "not given" on the optional ones) */
  valid: Record<string, unknown[]>;
  /** fields no body may have, added as a set */
  unknown: Record<string, unknown>[];
  /** fields a valid body needs (left out rarely, to see them missing) */
  required: readonly string[];
}

/**
 * `n` bodies for comparing a field table with class-validator (see common/validation/field-table.ts):
 * half from valid values only, each field absent about a third of the time (a required one rarely),
 * with at most one field changed to any candidate; half from any candidates; unknown fields added to
 * that half and to a tenth of the first. The same `seed` gives the same bodies.
 */
export function generatedBodies(n: number, seed: number, values: BodyValues): Record<string, unknown>[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const bodies: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const validOnly = i % 2 === 0;
    const body: Record<string, unknown> = {};
    for (const [field, options] of Object.entries(validOnly ? values.valid : values.candidates)) {
      if (next() < (validOnly && values.required.includes(field) ? 0.02 : 0.35)) continue;
      body[field] = pick(options);
    }
    if (validOnly && next() < 0.3) {
      const field = pick(Object.keys(values.candidates));
      body[field] = pick(values.candidates[field]);
    }
    if (!validOnly || next() < 0.1) Object.assign(body, pick(values.unknown));
    bodies.push(body);
  }
  return bodies;
}
