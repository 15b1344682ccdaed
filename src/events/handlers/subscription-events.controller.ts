import { Controller, UseFilters } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { SubscriptionEffects } from '../../product/product.ports.js';
import { PaymentCompletedEvent, paymentSubscriptionId, UserDeletedEvent, WalletInsufficientFundsEvent } from '../models/consumed-events.js';
import type { InboundEvent } from '../models/envelope.js';
import { parsePayload } from '../models/validate-payload.js';
import { parseTimestamp } from '../../common/time/timestamp.js';
import type { JetStreamContext } from '../transport/jetstream.context.js';
import { type ApplyGroup, EventGroups, type EventGroup } from './event-groups.js';
import { EventsExceptionFilter } from './events-exception.filter.js';

/** A user event's group: one effect over the group's users (how many subscriptions each changed). */
const perUser =
  (effect: SubscriptionEffects['markPastDueForUsers']): ApplyGroup<string> =>
  async (tx, events) => {
    const changed = await effect(
      tx,
      events.map((e) => ({ userId: e.payload, ctx: e.call, occurredAt: occurredAt(e.event) })),
    );
    return events.map((e, i) => ({ changed: changed[i], user_id: e.payload }));
  };
const byUser = (userId: string): string => userId;
/** When an event happened: its envelope's timestamp (read at decoding; bare data: when it was received). */
const occurredAt = (event: InboundEvent): Date => parseTimestamp(event.timestamp) ?? new Date(event.timestamp);

/**
 * The consumed events (SPEC section 3, "Consumed"). Each handler validates the data against its
 * event class (a malformed event fails here, alone, and is dead-lettered), then hands the event to
 * its type's group (EventGroups): the group's transaction records every event id in the inbox and
 * applies the effects of the new ones together, through the SubscriptionEffects port, which writes
 * its own events to the outbox with the same transaction. A redelivered or duplicated event finds
 * its id in the inbox and does nothing. Events written by the effects carry
 * `metadata.correlation_id` = the consumed event's id and its `request_id`, and every log line has both.
 */
@Controller()
@UseFilters(EventsExceptionFilter)
export class SubscriptionEventsController {
  private readonly payments: EventGroup<string | null>;
  private readonly insufficientFunds: EventGroup<string>;
  private readonly userDeletions: EventGroup<string>;

  constructor(groups: EventGroups, effects: SubscriptionEffects) {
    // keyed by subscription (payments) or user (the others): their events apply in the order received
    this.payments = groups.create<string | null>(
      'payment.completed',
      async (tx, events) => {
        const named = events.filter((e) => e.payload !== null);
        const changed = await effects.activateForPayments(
          tx,
          named.map((e) => ({ subscriptionId: e.payload as string, ctx: e.call, occurredAt: occurredAt(e.event) })),
        );
        const byEvent = new Map(named.map((e, i) => [e, changed[i]]));
        return events.map((e) =>
          e.payload === null
            ? { changed: 0, note: 'no subscription_id in data or data.metadata' }
            : { changed: byEvent.get(e) ? 1 : 0, subscription_id: e.payload },
        );
      },
      (subscriptionId) => subscriptionId ?? '',
    );
    this.insufficientFunds = groups.create('wallet.insufficient_funds', perUser(effects.markPastDueForUsers.bind(effects)), byUser);
    this.userDeletions = groups.create('user.deleted', perUser(effects.cancelAllForUsers.bind(effects)), byUser);
  }

  @EventPattern('payment.completed')
  onPaymentCompleted(@Payload() event: InboundEvent, @Ctx() ctx: unknown): Promise<void> {
    const data = parsePayload(PaymentCompletedEvent, event.data, event.type);
    return this.payments.apply(event, paymentSubscriptionId(data) ?? null, (ctx as JetStreamContext).getDeliveryCount());
  }

  @EventPattern('wallet.insufficient_funds')
  onInsufficientFunds(@Payload() event: InboundEvent, @Ctx() ctx: unknown): Promise<void> {
    const data = parsePayload(WalletInsufficientFundsEvent, event.data, event.type);
    return this.insufficientFunds.apply(event, data.user_id, (ctx as JetStreamContext).getDeliveryCount());
  }

  @EventPattern('user.deleted')
  onUserDeleted(@Payload() event: InboundEvent, @Ctx() ctx: unknown): Promise<void> {
    const data = parsePayload(UserDeletedEvent, event.data, event.type);
    return this.userDeletions.apply(event, data.user_id, (ctx as JetStreamContext).getDeliveryCount());
  }
}
