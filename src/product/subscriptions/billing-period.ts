import { Decimal } from '../../common/money/decimal.js';

/**
 * Billing periods (SPEC "Subscriptions"): calendar months, UTC. A subscription keeps the instant
 * its billing started (the anchor); period n is [boundary(n), boundary(n + 1)) where
 * boundary(n) = anchor + n × cycle months, with the day of month clamped to the target month's
 * last day but always taken from the anchor (Jan 31 → Feb 28/29 → Mar 31, never drifting to 28).
 * Pure functions, no I/O.
 */
export const BILLING_CYCLES = ['monthly', 'quarterly', 'yearly', 'one_time'] as const;
export type BillingCycle = (typeof BILLING_CYCLES)[number];

/** Months one period of each cycle covers; `one_time` covers one month and does not renew. */
export const CYCLE_MONTHS: Record<BillingCycle, number> = { monthly: 1, quarterly: 3, yearly: 12, one_time: 1 };

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month + 1, 0)).getUTCDate();

/** `anchor` plus `months` calendar months (UTC), the day clamped to the target month's length. */
export function addMonthsClamped(anchor: Date, months: number): Date {
  const total = anchor.getUTCMonth() + months;
  const year = anchor.getUTCFullYear() + Math.floor(total / 12);
  const month = ((total % 12) + 12) % 12;
  const day = Math.min(anchor.getUTCDate(), daysInMonth(year, month));
  return new Date(
    Date.UTC(year, month, day, anchor.getUTCHours(), anchor.getUTCMinutes(), anchor.getUTCSeconds(), anchor.getUTCMilliseconds()),
  );
}

/** The start of period `index` of a subscription anchored at `anchor`. */
export function periodBoundary(anchor: Date, cycle: BillingCycle, index: number): Date {
  return addMonthsClamped(anchor, index * CYCLE_MONTHS[cycle]);
}

export interface Period {
  start: Date;
  end: Date;
}

/** Period `index` (0 = the first) of a subscription anchored at `anchor`. */
export function periodAt(anchor: Date, cycle: BillingCycle, index: number): Period {
  return { start: periodBoundary(anchor, cycle, index), end: periodBoundary(anchor, cycle, index + 1) };
}

/** The UTC calendar month containing `at` (the usage period when no subscription is given). */
export function calendarMonth(at: Date): Period {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  const end = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  return { start, end };
}

/** `at` plus whole days (trial ends). */
export const addDays = (at: Date, days: number): Date => new Date(at.getTime() + days * 86_400_000);

export interface PlanPricing {
  monthlyPrice: string;
  yearlyPrice: string;
  perSeat: boolean;
}

/**
 * The price of one period: monthly_price (monthly and one_time), 3 × monthly_price (quarterly),
 * yearly_price (yearly); times seats when the plan is per seat. Exact.
 */
export function cyclePrice(plan: PlanPricing, cycle: BillingCycle, seats: number): Decimal {
  const base = cycle === 'yearly' ? new Decimal(plan.yearlyPrice) : new Decimal(plan.monthlyPrice).times(cycle === 'quarterly' ? 3 : 1);
  return plan.perSeat ? base.times(seats) : base;
}

/** A period price normalised to one month, to compare plans across cycles (upgrade vs downgrade). */
export function monthlyEquivalent(price: Decimal, cycle: BillingCycle): Decimal {
  return price.dividedBy(CYCLE_MONTHS[cycle]);
}
