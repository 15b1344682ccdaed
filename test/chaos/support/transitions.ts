/** The SPEC's table of subscription statuses and the only legal transitions (section 2), copied from the contract. */
export const LEGAL_TRANSITIONS: Readonly<Record<string, readonly string[]>> = {
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

export const STATUSES = Object.keys(LEGAL_TRANSITIONS);
export const TERMINAL = new Set(['canceled', 'incomplete_expired', 'expired']);

export const isLegal = (from: string, to: string): boolean => LEGAL_TRANSITIONS[from]?.includes(to) ?? false;
