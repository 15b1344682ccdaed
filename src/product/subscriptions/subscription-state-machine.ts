import { SubscriptionErrors } from './subscription.errors.js';

/** Subscription statuses (SPEC "Statuses and the only legal transitions"). */
export const SUBSCRIPTION_STATUSES = [
  'incomplete',
  'incomplete_expired',
  'trialing',
  'active',
  'past_due',
  'unpaid',
  'paused',
  'canceled',
  'expired',
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** The SPEC table, verbatim: the only legal transitions. Everything else is 409 ILLEGAL_TRANSITION. */
export const TRANSITIONS: Readonly<Record<SubscriptionStatus, readonly SubscriptionStatus[]>> = {
  incomplete: ['active', 'incomplete_expired', 'canceled'],
  trialing: ['active', 'past_due', 'paused', 'canceled'],
  active: ['past_due', 'paused', 'canceled', 'expired'],
  past_due: ['active', 'unpaid', 'paused', 'canceled'],
  unpaid: ['active', 'canceled'],
  paused: ['active', 'canceled'],
  canceled: [],
  incomplete_expired: [],
  expired: [],
};

/** Statuses that give the user access. */
export const ENTITLING_STATUSES: readonly SubscriptionStatus[] = ['active', 'trialing'];
/** Statuses nothing leaves. */
export const TERMINAL_STATUSES: readonly SubscriptionStatus[] = ['canceled', 'incomplete_expired', 'expired'];
/** Everything else: at most one of these per (user, organization). */
export const NON_TERMINAL_STATUSES: readonly SubscriptionStatus[] = SUBSCRIPTION_STATUSES.filter((s) => !TERMINAL_STATUSES.includes(s));

export const isTerminal = (status: SubscriptionStatus): boolean => TERMINAL_STATUSES.includes(status);
export const isEntitling = (status: SubscriptionStatus): boolean => ENTITLING_STATUSES.includes(status);

export function canTransition(from: SubscriptionStatus, to: SubscriptionStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws 409 ILLEGAL_TRANSITION unless `from → to` is in the table. */
export function assertTransition(from: SubscriptionStatus, to: SubscriptionStatus): void {
  if (!canTransition(from, to)) throw SubscriptionErrors.illegalTransition(`Illegal status transition: ${from} → ${to}`);
}
