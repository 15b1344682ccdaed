/**
 * Timestamps as the platform writes them (SPEC section 1): ISO 8601; input without an offset
 * (`2026-11-25T10:00:00`, Python's `isoformat()`) means UTC. Pure functions.
 */
// 2026-11-25T10:00:00, with optional fraction (Python writes microseconds) and optional Z / ±hh:mm; ' ' accepted for 'T'.
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}:?\d{2})?$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * An ISO 8601 timestamp; without an offset it means UTC. Date-only strings are midnight UTC when
 * `allowDateOnly`. Returns undefined for anything else (including impossible dates like Feb 30).
 */
export function parseTimestamp(value: unknown, allowDateOnly = false): Date | undefined {
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const date = ISO_DATE.exec(value);
  if (date && allowDateOnly) return checked(Number(date[1]), Number(date[2]), Number(date[3]), 0, 0, 0, 0, 0);
  const m = ISO_DATE_TIME.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, offset] = m;
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  let offsetMinutes = 0;
  if (offset && offset.toUpperCase() !== 'Z') {
    const sign = offset.startsWith('-') ? -1 : 1;
    const digits = offset.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2, 4));
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = sign * (oh * 60 + om);
  }
  return checked(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s ?? 0), ms, offsetMinutes);
}

/**
 * A range bound (`start_date`, `end_date` of a filter): a timestamp or date as parseTimestamp reads
 * it, but a fraction finer than a millisecond rounds UP to the next millisecond. Stored instants have
 * milliseconds, so `t >= bound` and `t < bound` then hold for exactly the records they would hold for
 * with the bound as written (`00:00:00.000001` had been cut to `.000`, leaving a record at `.000` out of
 * a range that ends after it).
 */
export function parseRangeBound(value: unknown): Date | undefined {
  const instant = parseTimestamp(value, true);
  if (instant === undefined || typeof value !== 'string') return instant;
  const fraction = /\.(\d{4,9})/.exec(value)?.[1];
  return fraction !== undefined && /[1-9]/.test(fraction.slice(3)) ? new Date(instant.getTime() + 1) : instant;
}

/**
 * The instant, when it is a real date whose UTC instant lies in years 1-9999: what ISO 8601's
 * four-digit years and Python's `datetime` can write back. (Date.UTC reads years 0-99 as 1900-1999:
 * the year is set apart, so 0050 is year 50. An offset that carries 9999-12-31 past the year's end,
 * or 0001-01-01 before it, is refused: its UTC form would need five digits or year 0.)
 */
function checked(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, offsetMinutes: number): Date | undefined {
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const probe = new Date(Date.UTC(2000, mo - 1, d, h, mi, s, ms));
  probe.setUTCFullYear(y, mo - 1, d);
  if (probe.getUTCFullYear() !== y || probe.getUTCDate() !== d || probe.getUTCMonth() !== mo - 1) return undefined; // Feb 30 and the like
  const instant = new Date(probe.getTime() - offsetMinutes * 60_000);
  const year = instant.getUTCFullYear();
  return year >= 1 && year <= 9999 ? instant : undefined;
}
