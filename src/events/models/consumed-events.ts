import { EventField as F, EventSchema } from './event-field.js';

/**
 * The data of the events this service consumes (SPEC section 3, "Consumed"). Other services send
 * more than we read, so these classes are open (extra properties allowed) and every field we do
 * not strictly need is optional (absent or null).
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
  @F.id({ optional: true, nullable: true, example: 'pi_3Nx' }) payment_intent_id?: string | null;
  @F.id({ optional: true, nullable: true, example: 'pay_91' }) payment_id?: string | null;
  @F.id({ optional: true, nullable: true, example: 'user_123' }) user_id?: string | null;
  @F.amount({ optional: true, nullable: true, example: '29.00' }) amount?: string | number | null;
  @F.string({ optional: true, nullable: true, maxLength: 16, example: 'USD' }) currency?: string | null;
  @F.string({ optional: true, nullable: true, maxLength: 255, example: 'card' }) payment_method?: string | null;
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
  @F.id({ optional: true, nullable: true, example: 'wallet_9' }) wallet_id?: string | null;
  @F.amount({ optional: true, nullable: true, example: '29.00' }) required_amount?: string | number | null;
  @F.amount({ optional: true, nullable: true, example: '3.10' }) available_balance?: string | number | null;
  @F.id({ optional: true, nullable: true, example: 'sub_7f3c2a' }) subscription_id?: string | null;
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
