import DecimalDefault from 'decimal.js';

// decimal.js ships CommonJS typings beside an ESM build whose default export is the class.
const DecimalJs = DecimalDefault as unknown as typeof import('decimal.js').Decimal;

/**
 * Exact decimal arithmetic for money and quantities. A private Decimal constructor with enough
 * precision that sums and products of catalog prices and usage never round.
 */
export const Decimal = DecimalJs.clone({ precision: 200, rounding: DecimalJs.ROUND_HALF_EVEN, toExpNeg: -100, toExpPos: 100 });
export type Decimal = InstanceType<typeof Decimal>;

export const ZERO = new Decimal(0);

const DECIMAL_PATTERN = /^(?:\d+)(?:\.\d+)?$/;

/** True for a non-negative plain decimal string ("0", "12.50"); no exponent, sign or spaces. */
export function isDecimalString(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 80 && DECIMAL_PATTERN.test(value);
}

/** A decimal as the API writes it: plain notation, no exponent, no trailing zeros beyond the value. */
export function formatDecimal(value: Decimal | string | number): string {
  const d = value instanceof Decimal ? value : new Decimal(value);
  return d.toFixed();
}

/**
 * A decimal input (IsDecimalInput) as the text to store: a string as written (its scale kept, like
 * the catalog's "0.50"), a JSON number through its shortest round-trip text in plain notation
 * (0.00015 → "0.00015", 1e-7 → "0.0000001").
 */
export function decimalInput(value: string | number): string {
  return typeof value === 'number' ? new Decimal(String(value)).toFixed() : value;
}
