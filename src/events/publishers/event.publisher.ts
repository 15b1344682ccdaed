import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { CallContext } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock/clock.js';
import { Decimal, formatDecimal } from '../../common/money/decimal.js';
import type { AppConfig } from '../../config/app-config.js';
import type { Tx } from '../../database/unit-of-work.js';
import {
  CatalogChangedEvent,
  CostDefinitionsChangedEvent,
  ProductUsageRecordedEvent,
  ProductUsageThresholdReachedEvent,
  ProductUsageVoidedEvent,
  SubscriptionActivatedEvent,
  SubscriptionCanceledEvent,
  SubscriptionCreatedEvent,
  SubscriptionExpiredEvent,
  SubscriptionPlanChangedEvent,
  SubscriptionRenewedEvent,
  SubscriptionStatusChangedEvent,
  type CatalogChangedData,
  type CostDefinitionsChangedData,
  type ProductUsageRecordedData,
  type ProductUsageThresholdReachedData,
  type ProductUsageVoidedData,
  type SubscriptionCreatedData,
  type SubscriptionLifecycleData,
  type SubscriptionPlanChangedData,
  type SubscriptionRenewedData,
  type SubscriptionStatusChangedData,
} from '../models/event-data.js';
import type { EventEnvelope } from '../models/envelope.js';
import { fastPayloadProblems, fieldNamesOf } from '../models/event-field.js';
import { EventValidationError } from '../models/validate-payload.js';
import type { OutboxMessage, OutboxTemplate } from '../outbox/outbox-message.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { OutboxSignal } from '../outbox/outbox.signal.js';
import { publishedSubject } from '../transport/subjects.js';

type PayloadClass = new () => object;

/** Marks a hole in a template's JSON text: unguessable (a nonce of this process), so no caller's data can contain it. */
const HOLE_NONCE = randomBytes(12).toString('hex');
const holeMark = (field: string): string => `\u0001hole:${HOLE_NONCE}:${field}`;
/** Each hole's mark as the envelope's JSON text has it (a JSON string), per field name. */
const quotedMarks = new Map<string, string>();
function quotedMark(field: string): string {
  let mark = quotedMarks.get(field);
  if (mark === undefined) quotedMarks.set(field, (mark = JSON.stringify(holeMark(field))));
  return mark;
}

/** Values as the wire has them: Date → ISO 8601 UTC string, Decimal → plain decimal string, undefined → null. */
function wireValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Decimal) return formatDecimal(value);
  return value;
}

/** The payload as the contract has it: only the class's fields, in their order, checked by the fields' own predicates. */
function contractPayload(cls: PayloadClass, type: string, data: object): Record<string, unknown> {
  const source = data as Record<string, unknown>;
  const payload: Record<string, unknown> = {};
  for (const name of fieldNamesOf(cls)) payload[name] = wireValue(source[name]);
  const problems = fastPayloadProblems(cls, payload);
  if (problems.length > 0) throw new EventValidationError(type, problems);
  return payload;
}

/**
 * Publishers: one method per event. Each writes the event to the outbox with the caller's
 * transaction, so it commits (or not) with the change it describes; the relay is signalled after
 * the commit. Business code never talks to NATS; the outbox relay does. For a repository that
 * writes its rows and their events in one statement, `...Messages` builds the outbox messages and
 * `written(tx)` signals the relay once that statement's transaction commits.
 */
/** The holes of a `product.usage.recorded` template, with the values the payload is checked with. */
const USAGE_PRICE_HOLES = { unit_price: '0', total_cost: '0', is_free_tier: false } as const;

@Injectable()
export class EventPublisher {
  private readonly source: string;
  private readonly prefix: string;

  constructor(
    private readonly clock: Clock,
    private readonly outbox: OutboxRepository,
    private readonly signal: OutboxSignal,
    config: ConfigService<AppConfig, true>,
  ) {
    this.source = config.get('serviceName', { infer: true });
    this.prefix = config.get('nats', { infer: true }).subjectPrefix;
  }

  publishSubscriptionCreated(tx: Tx, data: SubscriptionCreatedData, ctx: CallContext): Promise<string> {
    return this.write(tx, SubscriptionCreatedEvent, 'subscription.created', data.subscription_id, data, ctx);
  }

  /** The `subscription.created` message for a subscription written by the caller's own statement (see `written`). */
  subscriptionCreatedMessage(data: SubscriptionCreatedData, ctx: CallContext): OutboxMessage {
    return this.row(SubscriptionCreatedEvent, 'subscription.created', data.subscription_id, data, ctx);
  }

  /** Writes subscription.status_changed plus activated / canceled / expired when the new status calls for it. */
  publishSubscriptionStatusChanged(tx: Tx, data: SubscriptionLifecycleData, ctx: CallContext): Promise<void> {
    return this.publishMessages(tx, this.subscriptionStatusChangedMessages(data, ctx));
  }

  /** The messages of a status change: subscription.status_changed, then activated / canceled / expired when the new status calls for it. */
  subscriptionStatusChangedMessages(data: SubscriptionLifecycleData, ctx: CallContext): OutboxMessage[] {
    const { cancellation_reason: _c, expiration_date: _e, ...statusChanged } = data;
    const id = data.subscription_id;
    const messages = [
      this.row(
        SubscriptionStatusChangedEvent,
        'subscription.status_changed',
        id,
        statusChanged satisfies SubscriptionStatusChangedData,
        ctx,
      ),
    ];
    if (data.new_status === 'active') messages.push(this.row(SubscriptionActivatedEvent, 'subscription.activated', id, statusChanged, ctx));
    if (data.new_status === 'canceled') {
      const canceled = { ...data, cancellation_reason: data.cancellation_reason ?? data.reason };
      messages.push(this.row(SubscriptionCanceledEvent, 'subscription.canceled', id, canceled, ctx));
    }
    if (data.new_status === 'expired' || data.new_status === 'incomplete_expired') {
      const expired = { ...data, expiration_date: data.expiration_date ?? null };
      messages.push(this.row(SubscriptionExpiredEvent, 'subscription.expired', id, expired, ctx));
    }
    return messages;
  }

  /** Writes messages built by the `...Messages` methods, in one insert with the caller's transaction. */
  async publishMessages(tx: Tx, messages: readonly OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.outbox.insert(tx, messages);
    this.written(tx);
  }

  publishSubscriptionRenewed(tx: Tx, data: SubscriptionRenewedData, ctx: CallContext): Promise<string> {
    return this.write(tx, SubscriptionRenewedEvent, 'subscription.renewed', data.subscription_id, data, ctx);
  }

  publishSubscriptionPlanChanged(tx: Tx, data: SubscriptionPlanChangedData, ctx: CallContext): Promise<string> {
    return this.write(tx, SubscriptionPlanChangedEvent, 'subscription.plan_changed', data.subscription_id, data, ctx);
  }

  publishProductUsageRecorded(tx: Tx, data: ProductUsageRecordedData, ctx: CallContext): Promise<string> {
    return this.write(tx, ProductUsageRecordedEvent, 'product.usage.recorded', data.usage_record_id, data, ctx);
  }

  /** `product.usage.recorded` messages for records written by the caller's own statement (see `written`). */
  productUsageRecordedMessages(data: readonly ProductUsageRecordedData[], ctx: CallContext): OutboxMessage[] {
    return data.map((d) => this.row(ProductUsageRecordedEvent, 'product.usage.recorded', d.usage_record_id, d, ctx));
  }

  /**
   * `product.usage.recorded` of a record whose price the writing statement computes: a template
   * with holes for `unit_price`, `total_cost` and `is_free_tier` (see OutboxTemplate). The payload
   * is checked with the holes' example values, so only the statement's own values go in unchecked
   * (a decimal, a decimal, a boolean).
   */
  productUsageRecordedTemplate(data: ProductUsageRecordedData, ctx: CallContext): OutboxTemplate {
    return this.template(ProductUsageRecordedEvent, 'product.usage.recorded', data.usage_record_id, data, ctx, USAGE_PRICE_HOLES);
  }

  /** `product.usage.voided`, ordered with the record's `product.usage.recorded` (same aggregate). */
  publishProductUsageVoided(tx: Tx, data: ProductUsageVoidedData, ctx: CallContext): Promise<string> {
    return this.write(tx, ProductUsageVoidedEvent, 'product.usage.voided', data.usage_record_id, data, ctx);
  }

  /**
   * A `product.usage.threshold_reached` message for a statement that writes it only when it records
   * the threshold as reached for the first time (see UsageQuotaRepository.applyCounters); signal with `written`.
   */
  productUsageThresholdReachedMessage(data: ProductUsageThresholdReachedData, ctx: CallContext): OutboxMessage {
    return this.row(ProductUsageThresholdReachedEvent, 'product.usage.threshold_reached', `usage-quota:${data.user_id}`, data, ctx);
  }

  publishCatalogChanged(tx: Tx, data: CatalogChangedData, ctx: CallContext): Promise<string> {
    return this.write(tx, CatalogChangedEvent, 'product.catalog.changed', `${data.entity}:${data.id}`, data, ctx);
  }

  /** One aggregate for every cost definition: their changes are published in commit order. */
  publishCostDefinitionsChanged(tx: Tx, data: CostDefinitionsChangedData, ctx: CallContext): Promise<string> {
    return this.write(tx, CostDefinitionsChangedEvent, 'product.cost_definitions.changed', 'cost_definitions', data, ctx);
  }

  /** Signals the relay once `tx` commits (for messages another repository wrote with its own rows). */
  written(tx: Tx): void {
    tx.afterCommit(() => this.signal.raise());
  }

  private async write(tx: Tx, cls: PayloadClass, type: string, aggregateId: string, data: object, ctx: CallContext): Promise<string> {
    const message = this.row(cls, type, aggregateId, data, ctx);
    await this.outbox.insert(tx, [message]);
    this.written(tx);
    return message.id;
  }

  private template(
    cls: PayloadClass,
    type: string,
    aggregateId: string,
    data: object,
    ctx: CallContext,
    holes: Readonly<Record<string, unknown>>,
  ): OutboxTemplate {
    const message = this.row(cls, type, aggregateId, { ...data, ...holes }, ctx);
    const names = Object.keys(holes);
    for (const name of names) message.envelope.data[name] = holeMark(name);
    // the text around the holes, in one pass over the JSON (the holes are in the payload's field order)
    const text = JSON.stringify(message.envelope);
    const parts: string[] = [];
    let from = 0;
    for (const name of names) {
      const mark = quotedMark(name);
      const at = text.indexOf(mark, from);
      if (at === -1 || text.includes(mark, at + mark.length)) {
        throw new Error(`event template: hole ${name} found ${at === -1 ? 'nowhere after the previous one' : 'more than once'}`);
      }
      parts.push(text.slice(from, at));
      from = at + mark.length;
    }
    parts.push(text.slice(from));
    const { envelope: _envelope, ...rest } = message;
    return { ...rest, holes: names, parts };
  }

  private row(cls: PayloadClass, type: string, aggregateId: string, data: object, ctx: CallContext): OutboxMessage {
    const payload = contractPayload(cls, type, data);
    const now = this.clock.now();
    const envelope: EventEnvelope = {
      id: randomUUID(),
      type,
      source: this.source,
      subject: null,
      timestamp: now.toISOString(),
      data: payload,
      metadata: {
        ...(ctx.requestId ? { request_id: ctx.requestId } : {}),
        ...(ctx.correlationId ? { correlation_id: ctx.correlationId } : {}),
      },
      version: '1.0.0',
    };
    return { id: envelope.id, type, subject: publishedSubject(this.prefix, this.source, type), aggregateId, envelope, createdAt: now };
  }
}
