/**
 * One optional filter of a repository's list query: a letter naming it in the statement's name, the
 * column it compares (with its table alias), the operator, its value (the filter is left out when
 * undefined) and a cast of its parameter.
 */
export type SqlFilter = readonly [letter: string, column: string, operator: string, value: unknown, cast?: string];

/**
 * The filters that have a value as SQL conditions with their parameters ($1...), and `key`, their
 * letters, which names the combination: one prepared statement per combination of filters.
 */
export function sqlFilters(filters: readonly SqlFilter[]): { conditions: string[]; params: unknown[]; key: string } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  let key = '';
  for (const [letter, column, operator, value, cast = ''] of filters) {
    if (value === undefined) continue;
    params.push(value);
    conditions.push(`${column} ${operator} $${params.length}${cast}`);
    key += letter;
  }
  return { conditions, params, key };
}
