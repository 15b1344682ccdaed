import { checkUsageWindow, parseTimestamp, parseUsageAmount } from './usage-input.js';

describe('usage input', () => {
  it('should read an offset-less timestamp as UTC', () => {
    expect(parseTimestamp('2026-11-25T10:00:00')?.toISOString()).toBe('2026-11-25T10:00:00.000Z');
    expect(parseTimestamp('2026-11-25T10:00:00.123456')?.toISOString()).toBe('2026-11-25T10:00:00.123Z');
    expect(parseTimestamp('2026-11-25 10:00:00')?.toISOString()).toBe('2026-11-25T10:00:00.000Z');
  });

  it('should honour Z and explicit offsets', () => {
    expect(parseTimestamp('2026-11-25T10:00:00Z')?.toISOString()).toBe('2026-11-25T10:00:00.000Z');
    expect(parseTimestamp('2026-11-25T12:30:00+02:30')?.toISOString()).toBe('2026-11-25T10:00:00.000Z');
    expect(parseTimestamp('2026-11-25T05:00:00-05:00')?.toISOString()).toBe('2026-11-25T10:00:00.000Z');
  });

  it('should refuse malformed and impossible timestamps', () => {
    for (const bad of ['', 'yesterday', '2026-02-30T00:00:00', '2026-13-01T00:00:00', '2026-11-25T24:00:00', 1764064800000, null]) {
      expect(parseTimestamp(bad)).toBeUndefined();
    }
    expect(parseTimestamp('2026-11-25')).toBeUndefined();
    expect(parseTimestamp('2026-11-25', true)?.toISOString()).toBe('2026-11-25T00:00:00.000Z');
  });

  it('should convert numbers through their shortest decimal string', () => {
    expect((parseUsageAmount(0.1) as { toFixed(): string }).toFixed()).toBe('0.1');
    expect((parseUsageAmount(1073741824) as { toFixed(): string }).toFixed()).toBe('1073741824');
    expect((parseUsageAmount(1e-7) as { toFixed(): string }).toFixed()).toBe('0.0000001');
    expect((parseUsageAmount(1e12) as { toFixed(): string }).toFixed()).toBe('1000000000000');
  });

  it('should take amounts with up to 30 decimal places and refuse finer ones (their plain notation is too long for the events)', () => {
    expect((parseUsageAmount(1e-30) as { toFixed(): string }).toFixed()).toBe(`0.${'0'.repeat(29)}1`);
    expect((parseUsageAmount(`0.${'0'.repeat(29)}1`) as { toFixed(): string }).toFixed()).toBe(`0.${'0'.repeat(29)}1`);
    for (const tiny of [1e-31, 1e-80, 5e-324, 1.5e-30]) {
      expect(parseUsageAmount(tiny)).toBe('usage_amount must have at most 30 decimal places');
    }
  });

  it('should refuse zero, negatives, non-numbers and amounts above 1e12', () => {
    for (const bad of [0, -1, 1e12 + 1, Infinity, NaN, 'abc', '1e5', null, true, {}]) {
      expect(typeof parseUsageAmount(bad)).toBe('string');
    }
  });

  it('should say what is wrong with a decimal string as with a number (not "must be a number")', () => {
    expect(parseUsageAmount('-1')).toBe('usage_amount must be greater than 0');
    expect(parseUsageAmount('0.000')).toBe('usage_amount must be greater than 0');
    expect(parseUsageAmount('1000000000000.5')).toBe('usage_amount must be at most 1e12');
    expect(parseUsageAmount(`0.${'0'.repeat(30)}1`)).toBe('usage_amount must have at most 30 decimal places');
    expect((parseUsageAmount('000000000000000000002.5') as { toFixed(): string }).toFixed()).toBe('2.5');
    for (const bad of ['1e5', ' 1', '1.', '.5', '+1', '0x10', '1'.repeat(101)]) {
      expect(parseUsageAmount(bad)).toBe('usage_amount must be a number or a plain decimal string (e.g. "1.5")');
    }
  });

  it('should accept usage 5 minutes ahead and 35 days back, not beyond', () => {
    const now = new Date('2026-11-25T10:00:00.000Z');
    expect(checkUsageWindow(new Date('2026-11-25T10:05:00.000Z'), now)).toBeNull();
    expect(checkUsageWindow(new Date('2026-11-25T10:05:00.001Z'), now)).toMatch(/future/);
    expect(checkUsageWindow(new Date('2026-10-21T10:00:00.000Z'), now)).toBeNull();
    expect(checkUsageWindow(new Date('2026-10-21T09:59:59.999Z'), now)).toMatch(/past/);
  });
});
