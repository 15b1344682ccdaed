import { addMonthsClamped, calendarMonth, cyclePrice, monthlyEquivalent, periodAt, periodBoundary } from './billing-period.js';
import { Decimal } from '../../common/money/decimal.js';

const iso = (d: Date): string => d.toISOString();

describe('billing periods', () => {
  it('should clamp Jan 31 monthly to Feb 28 and come back to Mar 31 (anchored on the original day)', () => {
    const anchor = new Date('2026-01-31T10:15:00.000Z');
    expect(iso(periodBoundary(anchor, 'monthly', 1))).toBe('2026-02-28T10:15:00.000Z');
    expect(iso(periodBoundary(anchor, 'monthly', 2))).toBe('2026-03-31T10:15:00.000Z');
    expect(iso(periodBoundary(anchor, 'monthly', 3))).toBe('2026-04-30T10:15:00.000Z');
    expect(iso(periodBoundary(anchor, 'monthly', 4))).toBe('2026-05-31T10:15:00.000Z');
  });

  it('should clamp to Feb 29 in a leap year', () => {
    const anchor = new Date('2028-01-31T00:00:00.000Z');
    expect(iso(addMonthsClamped(anchor, 1))).toBe('2028-02-29T00:00:00.000Z');
    expect(iso(addMonthsClamped(new Date('2027-01-29T00:00:00.000Z'), 1))).toBe('2027-02-28T00:00:00.000Z');
  });

  it('should move a Feb 29 anchor yearly to Feb 28 and back to Feb 29 four years later', () => {
    const anchor = new Date('2028-02-29T12:00:00.000Z');
    expect(iso(periodBoundary(anchor, 'yearly', 1))).toBe('2029-02-28T12:00:00.000Z');
    expect(iso(periodBoundary(anchor, 'yearly', 4))).toBe('2032-02-29T12:00:00.000Z');
  });

  it('should add three months per quarterly period and cross years', () => {
    const anchor = new Date('2026-11-30T08:00:00.000Z');
    expect(iso(periodBoundary(anchor, 'quarterly', 1))).toBe('2027-02-28T08:00:00.000Z');
    expect(iso(periodBoundary(anchor, 'quarterly', 2))).toBe('2027-05-30T08:00:00.000Z');
  });

  it('should give one_time a one-month period', () => {
    const p = periodAt(new Date('2026-03-15T00:00:00.000Z'), 'one_time', 0);
    expect(iso(p.start)).toBe('2026-03-15T00:00:00.000Z');
    expect(iso(p.end)).toBe('2026-04-15T00:00:00.000Z');
  });

  it('should make consecutive periods contiguous', () => {
    const anchor = new Date('2026-01-31T23:59:59.999Z');
    for (let i = 0; i < 30; i++) {
      expect(periodAt(anchor, 'monthly', i).end.getTime()).toBe(periodAt(anchor, 'monthly', i + 1).start.getTime());
    }
  });

  it('should compute the UTC calendar month', () => {
    const m = calendarMonth(new Date('2026-12-31T23:59:59.999Z'));
    expect(iso(m.start)).toBe('2026-12-01T00:00:00.000Z');
    expect(iso(m.end)).toBe('2027-01-01T00:00:00.000Z');
  });

  it('should price cycles and seats exactly', () => {
    const plan = { monthlyPrice: '25', yearlyPrice: '240', perSeat: true };
    expect(cyclePrice(plan, 'monthly', 3).toFixed()).toBe('75');
    expect(cyclePrice(plan, 'quarterly', 2).toFixed()).toBe('150');
    expect(cyclePrice(plan, 'yearly', 2).toFixed()).toBe('480');
    expect(cyclePrice(plan, 'one_time', 1).toFixed()).toBe('25');
    expect(cyclePrice({ monthlyPrice: '19.99', yearlyPrice: '0', perSeat: false }, 'quarterly', 5).toFixed()).toBe('59.97');
  });

  it('should normalise prices to a month for comparison', () => {
    expect(monthlyEquivalent(new Decimal('240'), 'yearly').toFixed()).toBe('20');
    expect(monthlyEquivalent(new Decimal('60'), 'quarterly').toFixed()).toBe('20');
  });
});
