import { EventField as F, EventSchema } from './event-field.js';

/**
 * The data of the events this service consumes (SPEC section 3, "Consumed"). Other services send
 * more than we read, so these classes are open (extra properties allowed), and the fields no
 * handler reads are documented but never checked (`unread`): a payment is applied whatever shape
 * its `payment_method` or `amount` has (a tolerant reader; they had dead-lettered real payments).
 */
@EventSchema({
  title: 'PaymentMetadata',
  description: 'Free-form payment metadata; the payment service puts the subscription id here.',
  open: true,
})
export class PaymentMetadata {
  @F.id({ optional: true, nullable: true, example: 'sub_7f3c2a' }) subscription_id?: string | null;
}

@EventSchema({
  title: 'PaymentCompletedEvent',
  description:
    'A payment succeeded (payment service). The subscription is `data.subscription_id` or `data.metadata.subscription_id`; ' +
    'it becomes active from incomplete, trialing, past_due, unpaid or paused.',
  open: true,
})
export class PaymentCompletedEvent {
  @F.unread({ type: 'string' }, { example: 'pi_3Nx' }) payment_intent_id?: unknown;
  @F.unread({ type: 'string' }, { example: 'pay_91' }) payment_id?: unknown;
  @F.unread({ type: 'string' }, { example: 'user_123' }) user_id?: unknown;
  @F.unread({ type: ['string', 'number'] }, { example: '29.00' }) amount?: unknown;
  @F.unread({ type: 'string' }, { example: 'USD' }) currency?: unknown;
  @F.unread({}, { example: 'card', description: 'a method name or object, as the payment service sends it' }) payment_method?: unknown;
  @F.id({ optional: true, nullable: true, example: 'sub_7f3c2a' }) subscription_id?: string | null;
  @F.nested(() => PaymentMetadata, { optional: true, nullable: true }) metadata?: PaymentMetadata | null;
}

@EventSchema({
  title: 'WalletInsufficientFundsEvent',
  description: "A charge failed for lack of funds (wallet service): the user's active and trialing subscriptions become past_due.",
  open: true,
})
export class WalletInsufficientFundsEvent {
  @F.id({ example: 'user_123' }) user_id!: string;
  @F.unread({ type: 'string' }, { example: 'wallet_9' }) wallet_id?: unknown;
  @F.unread({ type: ['string', 'number'] }, { example: '29.00' }) required_amount?: unknown;
  @F.unread({ type: ['string', 'number'] }, { example: '3.10' }) available_balance?: unknown;
  @F.unread({ type: 'string' }, { example: 'sub_7f3c2a' }) subscription_id?: unknown;
}

@EventSchema({
  title: 'UserDeletedEvent',
  description: 'A user account was deleted (account service): every non-terminal subscription of the user is canceled at once.',
  open: true,
})
export class UserDeletedEvent {
  @F.id({ example: 'user_123' }) user_id!: string;
}

/** The subscription a payment pays for, wherever the sender put it. */
export function paymentSubscriptionId(data: PaymentCompletedEvent): string | undefined {
  return data.subscription_id ?? data.metadata?.subscription_id ?? undefined;
}
