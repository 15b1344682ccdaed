/** esbuild's `__name` helper as scripts/inferred-names.mjs expects to find it in the bundle. */
export const ESBUILD_NAME_HELPER: string;

/**
 * The bundle's source without the `__name(fn, "name")` calls that set the name the function has
 * anyway (scripts/inferred-names.mjs), replaced by spaces; `dropped` counts them by rule.
 */
export function dropInferredNameCalls(source: string): {
  code: string;
  dropped: { ownName: number; contextName: number; declaration: number };
  kept: number;
};
