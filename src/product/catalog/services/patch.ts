/** The body's fields that were given (absent and null both mean "not given"). */
export function definedEntries(dto: object): [string, unknown][] {
  return Object.entries(dto).filter(([, v]) => v !== undefined && v !== null);
}

/** `free_tier_limit` → `freeTierLimit`: a body field to its entity property. */
export const snakeToCamel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
