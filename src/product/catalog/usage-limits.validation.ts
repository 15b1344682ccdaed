import { isJsonObject } from '../../common/validation/json-guard.js';

/** The largest daily_requests a limit may have: counts stay exact JSON integers (2^53 - 1). */
export const MAX_DAILY_REQUESTS = Number.MAX_SAFE_INTEGER;
const PERIOD_UNITS = /^(?:-1|\d{1,15}(?:\.\d{1,30})?)$/;

/**
 * What a plan's `usage_limits` may hold (SPEC section 8), checked when a plan is written: in an
 * entry that is an object, `daily_requests` is -1 (unlimited) or an integer from 0 to 2^53 - 1
 * (a number or its digits as a string), `period_units` -1 or a decimal (a string such as "1000.5",
 * or a number) of at most 15 integer and 30 decimal digits, `thresholds` a list of percentages
 * above 0 and at most 1000. Other entries and other fields of an entry are informational and free
 * (`storage_gb: 5`). Returns one message per problem, naming the field's path; none when valid.
 * (Values stored before these checks that `planLimits` cannot read still mean "no limit".)
 */
export function usageLimitsProblems(usageLimits: unknown, field = 'usage_limits'): string[] {
  if (!isJsonObject(usageLimits)) return [];
  const problems: string[] = [];
  for (const [key, entry] of Object.entries(usageLimits)) {
    if (!isJsonObject(entry)) continue;
    const at = `${field}.${key}`;
    const daily = entry.daily_requests;
    if (daily !== undefined && daily !== null) {
      const n = typeof daily === 'string' && /^-?\d{1,16}$/.test(daily) ? Number(daily) : daily;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < -1 || n > MAX_DAILY_REQUESTS) {
        problems.push(`${at}.daily_requests must be -1 (unlimited) or an integer from 0 to ${MAX_DAILY_REQUESTS}`);
      }
    }
    const units = entry.period_units;
    if (units !== undefined && units !== null) {
      const text = typeof units === 'number' && Number.isFinite(units) ? String(units) : units;
      if (typeof text !== 'string' || !PERIOD_UNITS.test(text)) {
        problems.push(`${at}.period_units must be -1 (unlimited) or a non-negative decimal such as "1000.5"`);
      }
    }
    const thresholds = entry.thresholds;
    if (thresholds !== undefined && thresholds !== null) {
      const ok =
        Array.isArray(thresholds) &&
        thresholds.length <= 20 &&
        thresholds.every((p) => typeof p === 'number' && Number.isFinite(p) && p > 0 && p <= 1000);
      if (!ok) problems.push(`${at}.thresholds must be a list of at most 20 percentages, each above 0 and at most 1000`);
    }
  }
  return problems;
}
