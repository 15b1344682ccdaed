import type { CallContext } from '../../common/auth/principal.js';
import type { Tx } from '../../database/unit-of-work.js';

/** One consumed event's request of a subscription: which one, and the call context of the events it writes. */
export interface SubscriptionRequest {
  subscriptionId: string;
  ctx: CallContext;
  /** when the event happened (its envelope's timestamp) */
  occurredAt: Date;
}

/** One consumed event's request about a user's subscriptions. */
export interface UserRequest {
  userId: string;
  ctx: CallContext;
  /** when the event happened (its envelope's timestamp) */
  occurredAt: Date;
}

/**
 * What consumed events do to subscriptions (SPEC section 3, "Consumed"). Implemented by the
 * subscriptions service; the events module's handlers call it inside the transaction that also
 * records the events in the inbox, so a redelivered event changes nothing. Each method takes the
 * requests of a group of events, applies them in the order given (a later request sees what an
 * earlier one changed) with set-based statements, writes the status-change events through the
 * publishers with the same `tx`, and answers each request in order.
 */
export abstract class SubscriptionEffects {
  /**
   * payment.completed: incomplete / trialing / past_due / unpaid / paused → active; active or unknown
   * id: no change; older than the subscription's latest payment or failed charge (billingEventAt):
   * no change. Whether each changed something.
   */
  abstract activateForPayments(tx: Tx, requests: readonly SubscriptionRequest[]): Promise<boolean[]>;
  /**
   * wallet.insufficient_funds: each active / trialing subscription of the user → past_due (reason
   * insufficient_funds), unless the subscription's latest payment is newer. How many each changed.
   */
  abstract markPastDueForUsers(tx: Tx, requests: readonly UserRequest[]): Promise<number[]>;
  /** user.deleted: every non-terminal subscription of the user → canceled now (reason user_deleted). How many each changed. */
  abstract cancelAllForUsers(tx: Tx, requests: readonly UserRequest[]): Promise<number[]>;
}
