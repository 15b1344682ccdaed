import { HTTP_STATUS_BY_KIND } from '../../common/http/error-response.js';
import { DomainError } from '../../common/errors/domain-error.js';
import {
  assertTransition,
  canTransition,
  isEntitling,
  isTerminal,
  SUBSCRIPTION_STATUSES,
  type SubscriptionStatus,
} from './subscription-state-machine.js';

const LEGAL: [SubscriptionStatus, SubscriptionStatus][] = [
  ['incomplete', 'active'],
  ['incomplete', 'incomplete_expired'],
  ['incomplete', 'canceled'],
  ['trialing', 'active'],
  ['trialing', 'past_due'],
  ['trialing', 'paused'],
  ['trialing', 'canceled'],
  ['active', 'past_due'],
  ['active', 'paused'],
  ['active', 'canceled'],
  ['active', 'expired'],
  ['past_due', 'active'],
  ['past_due', 'unpaid'],
  ['past_due', 'paused'],
  ['past_due', 'canceled'],
  ['unpaid', 'active'],
  ['unpaid', 'canceled'],
  ['paused', 'active'],
  ['paused', 'canceled'],
];

const key = (from: string, to: string): string => `${from}->${to}`;
const legal = new Set(LEGAL.map(([f, t]) => key(f, t)));
const ALL_PAIRS = SUBSCRIPTION_STATUSES.flatMap((from) => SUBSCRIPTION_STATUSES.map((to) => [from, to] as const));

describe('subscription state machine', () => {
  it.each(LEGAL)('should allow %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  it.each(ALL_PAIRS.filter(([f, t]) => !legal.has(key(f, t))))('should refuse %s → %s with 409 ILLEGAL_TRANSITION', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    try {
      assertTransition(from, to);
      throw new Error('expected a DomainError');
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError);
      expect(HTTP_STATUS_BY_KIND[(err as DomainError).kind]).toBe(409);
      expect((err as DomainError).code).toBe('ILLEGAL_TRANSITION');
    }
  });

  it('should treat canceled, incomplete_expired and expired as terminal and only active and trialing as entitling', () => {
    expect(SUBSCRIPTION_STATUSES.filter(isTerminal)).toEqual(['incomplete_expired', 'canceled', 'expired']);
    expect(SUBSCRIPTION_STATUSES.filter(isEntitling)).toEqual(['trialing', 'active']);
  });
});
