import { parseRangeBound, parseTimestamp } from './timestamp.js';

const iso = (value: string, dateOnly = false) => parseTimestamp(value, dateOnly)?.toISOString();

describe('parseTimestamp', () => {
  it('should read years 1-99 as themselves (Date.UTC reads 0-99 as 1900-1999)', () => {
    expect(iso('0001-01-01T00:00:00Z')).toBe('0001-01-01T00:00:00.000Z');
    expect(iso('0050-06-15T12:00:00')).toBe('0050-06-15T12:00:00.000Z');
    expect(iso('0099-12-31T23:59:59.999Z')).toBe('0099-12-31T23:59:59.999Z');
    expect(iso('0001-01-01', true)).toBe('0001-01-01T00:00:00.000Z');
    expect(iso('0004-02-29T00:00:00Z')).toBe('0004-02-29T00:00:00.000Z'); // a leap year
    expect(iso('0100-02-29T00:00:00Z')).toBeUndefined(); // not one
    expect(iso('2000-02-29T00:00:00Z')).toBe('2000-02-29T00:00:00.000Z');
  });

  it('should refuse year 0 and instants whose UTC form leaves years 1-9999', () => {
    expect(iso('0000-06-15T12:00:00Z')).toBeUndefined();
    expect(iso('0001-01-01T00:30:00+01:00')).toBeUndefined(); // year 0 in UTC
    expect(iso('9999-12-31T23:59:59Z')).toBe('9999-12-31T23:59:59.000Z');
    expect(iso('9999-12-31T23:59:59-14:00')).toBeUndefined(); // year 10000 in UTC
  });

  it('should keep reading the platform’s usual forms', () => {
    expect(iso('2026-12-08T10:00:00.123456')).toBe('2026-12-08T10:00:00.123Z');
    expect(iso('2026-12-08 10:00:00+05:30')).toBe('2026-12-08T04:30:00.000Z');
    expect(iso('2026-12-01T03:00:00+05:30')).toBe('2026-11-30T21:30:00.000Z');
    expect(iso('2027-02-29T10:00:00')).toBeUndefined();
    expect(iso('2026-12-08')).toBeUndefined(); // date-only only where allowed
  });
});

describe('parseRangeBound', () => {
  it('should round a fraction finer than a millisecond up (records have milliseconds: the same records fall in the range)', () => {
    expect(parseRangeBound('2026-12-08T00:00:00.000001Z')?.toISOString()).toBe('2026-12-08T00:00:00.001Z');
    expect(parseRangeBound('2026-12-08T00:00:00.0005')?.toISOString()).toBe('2026-12-08T00:00:00.001Z');
    expect(parseRangeBound('2026-12-08T00:00:00.123000')?.toISOString()).toBe('2026-12-08T00:00:00.123Z');
    expect(parseRangeBound('2026-12-08T00:00:00.999999Z')?.toISOString()).toBe('2026-12-08T00:00:01.000Z');
    expect(parseRangeBound('2026-12-08')?.toISOString()).toBe('2026-12-08T00:00:00.000Z');
    expect(parseRangeBound('yesterday')).toBeUndefined();
  });
});
