import { Controller, Logger, UseFilters } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { type CallContext, systemContext } from '../../common/auth/principal.js';
import { type Tx, UnitOfWork } from '../../database/unit-of-work.js';
import { SubscriptionEffects } from '../../product/product.ports.js';
import { InboxRepository } from '../inbox/inbox.repository.js';
import { PaymentCompletedEvent, paymentSubscriptionId, UserDeletedEvent, WalletInsufficientFundsEvent } from '../models/consumed-events.js';
import type { InboundEvent } from '../models/envelope.js';
import { parsePayload } from '../models/validate-payload.js';
import type { JetStreamContext } from '../transport/jetstream.context.js';
import { EventsExceptionFilter } from './events-exception.filter.js';

/**
 * The consumed events (SPEC section 3, "Consumed"). Each handler validates the data against its
 * event class, then in ONE transaction records the event id in the inbox and applies the effect
 * (through the SubscriptionEffects port, which writes its own events to the outbox with the same
 * transaction). A redelivered or duplicated event finds its id in the inbox and does nothing.
 * Events written by the effects carry `metadata.correlation_id` = the consumed event's id and
 * its `request_id`, and every log line here has both.
 */
@Controller()
@UseFilters(EventsExceptionFilter)
export class SubscriptionEventsController {
  private readonly logger = new Logger('EventHandlers');

  constructor(
    private readonly uow: UnitOfWork,
    private readonly inbox: InboxRepository,
    private readonly effects: SubscriptionEffects,
  ) {}

  @EventPattern('payment.completed')
  async onPaymentCompleted(@Payload() event: InboundEvent, @Ctx() ctx: unknown): Promise<void> {
    const data = parsePayload(PaymentCompletedEvent, event.data, event.type);
    const subscriptionId = paymentSubscriptionId(data);
    await this.handle(event, ctx as JetStreamContext, async (effects, tx, call) => {
      if (!subscriptionId) return { changed: 0, note: 'no subscription_id in data or data.metadata' };
      const changed = await effects.activateForPayment(tx, subscriptionId, call);
      return { changed: changed ? 1 : 0, subscription_id: subscriptionId };
    });
  }

  @EventPattern('wallet.insufficient_funds')
  async onInsufficientFunds(@Payload() event: InboundEvent, @Ctx() ctx: unknown): Promise<void> {
    const data = parsePayload(WalletInsufficientFundsEvent, event.data, event.type);
    await this.handle(event, ctx as JetStreamContext, async (effects, tx, call) => ({
      changed: await effects.markPastDueForUser(tx, data.user_id, call),
      user_id: data.user_id,
    }));
  }

  @EventPattern('user.deleted')
  async onUserDeleted(@Payload() event: InboundEvent, @Ctx() ctx: unknown): Promise<void> {
    const data = parsePayload(UserDeletedEvent, event.data, event.type);
    await this.handle(event, ctx as JetStreamContext, async (effects, tx, call) => ({
      changed: await effects.cancelAllForUser(tx, data.user_id, call),
      user_id: data.user_id,
    }));
  }

  private async handle(
    event: InboundEvent,
    ctx: JetStreamContext,
    work: (effects: SubscriptionEffects, tx: Tx, call: CallContext) => Promise<Record<string, unknown> & { changed: number }>,
  ): Promise<void> {
    const effects = this.effects;
    const log = {
      event_id: event.id,
      type: event.type,
      source: event.source,
      stream_seq: event.streamSequence,
      delivery: ctx.getDeliveryCount(),
      request_id: event.metadata.request_id ?? null,
      correlation_id: event.id,
      ...(event.metadata.correlation_id ? { caused_by: event.metadata.correlation_id } : {}),
      ...(event.raw ? { raw: true } : {}),
    };
    const call = systemContext(event.metadata.request_id ?? '', event.id);
    const outcome = await this.uow.run(async (tx) => {
      if (!(await this.inbox.claim(tx, event.id, event.type))) return undefined;
      return work(effects, tx, call);
    });
    if (outcome === undefined) this.logger.log(log, 'Event already handled (duplicate); nothing done');
    else this.logger.log({ ...log, ...outcome }, outcome.changed > 0 ? 'Event handled' : 'Event handled; nothing to change');
  }
}
