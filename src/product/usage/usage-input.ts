import { Decimal } from '../../common/money/decimal.js';

/**
 * Parsing the billing service's usage payload (SPEC section 1 and "Usage"). Pure functions.
 */
export const MAX_USAGE_AMOUNT = new Decimal('1e12');
/** decimal places of a usage amount at most (as a string: `\d{1,15}(\.\d{1,30})?`; the same for a number) */
export const MAX_USAGE_DECIMALS = 30;
export const MAX_FUTURE_MS = 5 * 60 * 1000;
export const MAX_PAST_MS = 35 * 24 * 60 * 60 * 1000;

/** (moved to common: cost definitions and the audit list parse timestamps too) */
export { parseTimestamp } from '../../common/time/timestamp.js';

/**
 * `usage_amount`: a JSON number (or a plain decimal string), finite, > 0 and ≤ 1e12, with at most
 * MAX_USAGE_DECIMALS decimal places (1e-80 is a finite positive number whose plain notation the
 * events cannot carry), converted to an exact decimal through the number's shortest round-trip
 * string (0.1 stays 0.1, never 0.1000000000000000055...).
 * Returns the decimal, or a message saying what is wrong.
 */
export function parseUsageAmount(value: unknown): Decimal | string {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'usage_amount must be a finite number';
    text = String(value);
  } else if (typeof value === 'string' && value.length <= 100 && /^-?\d+(\.\d+)?$/.test(value)) {
    text = value; // a plain decimal; its sign, size and places are judged below as a number's are
  } else {
    return 'usage_amount must be a number or a plain decimal string (e.g. "1.5")';
  }
  const amount = new Decimal(text);
  if (!amount.gt(0)) return 'usage_amount must be greater than 0';
  if (amount.gt(MAX_USAGE_AMOUNT)) return 'usage_amount must be at most 1e12';
  if (amount.decimalPlaces() > MAX_USAGE_DECIMALS) return `usage_amount must have at most ${MAX_USAGE_DECIMALS} decimal places`;
  return amount;
}

/** null when `at` is inside [now - 35 d, now + 5 min], else what is wrong. */
export function checkUsageWindow(at: Date, now: Date): string | null {
  if (at.getTime() > now.getTime() + MAX_FUTURE_MS) return 'usage_timestamp must not be more than 5 minutes in the future';
  if (at.getTime() < now.getTime() - MAX_PAST_MS) return 'usage_timestamp must not be more than 35 days in the past';
  return null;
}
