import type { CallContext } from '../../common/auth/principal.js';
import type { Tx } from '../../database/unit-of-work.js';

/**
 * What consumed events do to subscriptions (SPEC section 3, "Consumed"). Implemented by the
 * subscriptions service; the events module's handlers call it inside the transaction that also
 * records the event in the inbox, so a redelivered event changes nothing. Each method writes its
 * own status-change events through the publishers with the same `tx`.
 */
export abstract class SubscriptionEffects {
  /** payment.completed: incomplete / trialing / past_due / unpaid / paused → active; active: no change; unknown id: no change. Returns whether anything changed. */
  abstract activateForPayment(tx: Tx, subscriptionId: string, ctx: CallContext): Promise<boolean>;
  /** wallet.insufficient_funds: each active / trialing subscription of the user → past_due (reason insufficient_funds). Returns how many changed. */
  abstract markPastDueForUser(tx: Tx, userId: string, ctx: CallContext): Promise<number>;
  /** user.deleted: every non-terminal subscription of the user → canceled now (reason user_deleted). Returns how many changed. */
  abstract cancelAllForUser(tx: Tx, userId: string, ctx: CallContext): Promise<number>;
}
