import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { type CallContext, canActFor } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock/clock.js';
import { badRequest, type DomainError, type ErrorDetail, forbidden } from '../../common/errors/domain-error.js';
import { Decimal, ZERO } from '../../common/money/decimal.js';
import { type Tx, UnitOfWork } from '../../database/unit-of-work.js';
import type { ProductUsageRecordedData } from '../../events/models/event-data.js';
import { EventPublisher } from '../../events/publishers/event.publisher.js';
import { CatalogErrors } from '../catalog/catalog.errors.js';
import type { ProductEntity } from '../catalog/entities/product.entity.js';
import { type PriceSchedule, priceRecord } from '../catalog/pricing-engine.js';
import { ProductService } from '../catalog/services/product.service.js';
import { calendarMonth, type Period } from '../subscriptions/billing-period.js';
import { entitles } from '../subscriptions/entitlement.js';
import { SubscriptionErrors } from '../subscriptions/subscription.errors.js';
import type { SubscriptionEntity } from '../subscriptions/subscription.entity.js';
import { SubscriptionQueries } from '../subscriptions/subscription-queries.service.js';
import { isEntitling } from '../subscriptions/subscription-state-machine.js';
import type { RecordUsageDto } from './dto/usage.dto.js';
import { scheduleOf } from './price-schedule.js';
import { checkUsageWindow, parseTimestamp, parseUsageAmount } from './usage-input.js';
import { INSERT_CHUNK, type TotalIncrement, UsageRepository } from './usage.repository.js';
import { UsageRecordEntity } from './usage-record.entity.js';

const MAX_RACE_RETRIES = 3;

/** Thrown inside the transaction when a concurrent request stored one of our request_ids first: roll back and redo. */
class DuplicateRace extends Error {}

/** A usage record that passed validation. */
interface Accepted {
  index: number;
  userId: string;
  productId: string;
  amount: Decimal;
  organizationId: string | null;
  subscriptionId: string | null;
  sessionId: string | null;
  requestId: string | null;
  details: Record<string, unknown> | null;
  timestamp: Date;
}

export interface RecordOutcome {
  index: number;
  duplicate: boolean;
  record: UsageRecordEntity;
  product: ProductEntity;
}

/** Collects per-record failures: a single record answers with its own error, a batch with one detail per index. */
class Failures {
  readonly details: ErrorDetail[] = [];
  private first?: DomainError;

  constructor(private readonly batch: boolean) {}

  add(index: number, error: DomainError, field?: string, message = error.details?.[0]?.message ?? `${error.code}: ${error.message}`): void {
    this.first ??= error;
    this.details.push({ index, ...(field ? { field: this.batch ? `records[${index}].${field}` : field } : {}), message });
  }

  throwIfAny(): void {
    if (this.details.length === 0) return;
    if (!this.batch) throw this.first as DomainError;
    throw badRequest('Batch validation failed; nothing was recorded', this.details);
  }
}

const dedupKey = (userId: string, productId: string, requestId: string): string => JSON.stringify([userId, productId, requestId]);
const totalKey = (userId: string, productId: string, subscriptionKey: string, periodStart: Date): string =>
  JSON.stringify([userId, productId, subscriptionKey, periodStart.toISOString()]);

/**
 * Records metered usage (SPEC "Usage"). Each record's cost comes from the period's running total:
 * one atomic upsert per (user, product, subscription or none, period) returns the units after this
 * request, so the record covers exactly [after - amount, after) and is priced by the pricing engine
 * over that range. A whole request (one record or a batch) is one transaction: totals, records and
 * their `product.usage.recorded` outbox rows commit together. A repeated `request_id` (per user and
 * product) returns the stored record and is not charged or published again.
 */
@Injectable()
export class UsageRecorder {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: UsageRepository,
    private readonly products: ProductService,
    private readonly subscriptions: SubscriptionQueries,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
  ) {}

  /** POST /usage/record (body already DTO-validated). */
  async recordOne(dto: RecordUsageDto, ctx: CallContext): Promise<RecordOutcome> {
    const [outcome] = await this.record([dto], ctx, false);
    return outcome;
  }

  /** POST /usage/records/batch: items already validated one by one (UsageBatchPipe). */
  recordBatch(dtos: RecordUsageDto[], ctx: CallContext): Promise<RecordOutcome[]> {
    return this.record(dtos, ctx, true);
  }

  private async record(dtos: RecordUsageDto[], ctx: CallContext, batch: boolean): Promise<RecordOutcome[]> {
    const now = this.clock.now();
    const failures = new Failures(batch);
    const accepted: Accepted[] = [];
    for (const [index, dto] of dtos.entries()) {
      if (!canActFor(ctx.principal, dto.user_id)) throw forbidden('You may only record your own usage');
      const amount = parseUsageAmount(dto.usage_amount);
      if (typeof amount === 'string') {
        failures.add(index, badRequest('Request validation failed', [{ field: 'usage_amount', message: amount }]), 'usage_amount');
        continue;
      }
      const timestamp = dto.usage_timestamp == null ? now : parseTimestamp(dto.usage_timestamp);
      const windowProblem = timestamp ? checkUsageWindow(timestamp, now) : 'usage_timestamp is invalid';
      if (!timestamp || windowProblem) {
        const message = windowProblem ?? 'usage_timestamp is invalid';
        failures.add(index, badRequest('Request validation failed', [{ field: 'usage_timestamp', message }]), 'usage_timestamp');
        continue;
      }
      accepted.push({
        index,
        userId: dto.user_id,
        productId: dto.product_id,
        amount,
        organizationId: dto.organization_id ?? null,
        subscriptionId: dto.subscription_id ?? null,
        sessionId: dto.session_id ?? null,
        requestId: dto.request_id ?? null,
        details: dto.usage_details ?? null,
        timestamp,
      });
    }
    failures.throwIfAny();

    for (let attempt = 1; ; attempt++) {
      try {
        return await this.uow.run((tx) => this.store(tx, accepted, now, ctx, batch));
      } catch (err) {
        if (err instanceof DuplicateRace && attempt < MAX_RACE_RETRIES) continue;
        throw err;
      }
    }
  }

  private async store(tx: Tx, accepted: Accepted[], now: Date, ctx: CallContext, batch: boolean): Promise<RecordOutcome[]> {
    // ---- business rules (inside the transaction, so they hold for what is written)
    const productById = new Map(
      this.products.findMany([...new Set(accepted.map((a) => a.productId))]).map((p) => [p.product.productId, p.product]),
    );
    const subIds = [...new Set(accepted.map((a) => a.subscriptionId).filter((s): s is string => s !== null))];
    const subById = new Map((await this.subscriptions.findByIds(tx, subIds)).map((s) => [s.subscriptionId, s]));
    const needsEntitlement = [...new Set(accepted.filter((a) => productById.get(a.productId)?.requiresSubscription).map((a) => a.userId))];
    const entitlingByUser = new Map<string, SubscriptionEntity[]>();
    for (const r of await this.subscriptions.entitlingOf(needsEntitlement, tx)) {
      entitlingByUser.set(r.userId, [...(entitlingByUser.get(r.userId) ?? []), r]);
    }
    const failures = new Failures(batch);
    const fail = (index: number, error: DomainError, field: string) => failures.add(index, error, field, `${error.code}: ${error.message}`);
    for (const a of accepted) {
      const product = productById.get(a.productId);
      if (!product) {
        fail(a.index, CatalogErrors.productUnknown(a.productId), 'product_id');
        continue;
      }
      if (!product.isActive) {
        fail(a.index, CatalogErrors.productInactive(a.productId), 'product_id');
        continue;
      }
      const named = a.subscriptionId !== null ? subById.get(a.subscriptionId) : undefined;
      if (a.subscriptionId !== null && (!named || named.userId !== a.userId || !isEntitling(named.status))) {
        fail(a.index, SubscriptionErrors.notActive(a.subscriptionId, a.userId), 'subscription_id');
        continue;
      }
      if (product.requiresSubscription) {
        const candidates = named ? [named] : (entitlingByUser.get(a.userId) ?? []);
        if (!candidates.some((s) => entitles(s, a.productId, a.organizationId, named !== undefined))) {
          fail(a.index, SubscriptionErrors.required(a.productId), 'product_id');
        }
      }
    }
    failures.throwIfAny();

    // ---- deduplication by request_id (against stored records and within this request)
    const outcomes: RecordOutcome[] = [];
    const withRequestId = accepted.filter((a): a is Accepted & { requestId: string } => a.requestId !== null);
    const stored = new Map<string, UsageRecordEntity>();
    for (const r of await this.repo.findByRequestIds(tx, withRequestId))
      stored.set(dedupKey(r.userId, r.productId, r.requestId as string), r);
    const fresh: { a: Accepted; record: UsageRecordEntity; product: ProductEntity }[] = [];
    const pendingDuplicates: { a: Accepted; key: string }[] = [];
    const claimed = new Set<string>();
    for (const a of accepted) {
      const product = productById.get(a.productId) as ProductEntity;
      if (a.requestId !== null) {
        const key = dedupKey(a.userId, a.productId, a.requestId);
        const existing = stored.get(key);
        if (existing) {
          outcomes.push({ index: a.index, duplicate: true, record: existing, product });
          continue;
        }
        if (claimed.has(key)) {
          pendingDuplicates.push({ a, key });
          continue;
        }
        claimed.add(key);
      }
      const sub = a.subscriptionId !== null ? subById.get(a.subscriptionId) : undefined;
      const period: Period = sub ? { start: sub.currentPeriodStart, end: sub.currentPeriodEnd } : calendarMonth(a.timestamp);
      fresh.push({ a, record: newRecord(a, product, period, now), product });
    }

    if (fresh.length > 0) {
      // ---- running totals: one atomic upsert per (user, product, subscription, period), in key order (no deadlocks)
      const increments = new Map<string, TotalIncrement>();
      for (const { a, record } of fresh) {
        const subscriptionKey = a.subscriptionId ?? '';
        const key = totalKey(a.userId, a.productId, subscriptionKey, record.periodStart);
        const g = increments.get(key) ?? {
          userId: a.userId,
          productId: a.productId,
          subscriptionKey,
          periodStart: record.periodStart,
          periodEnd: record.periodEnd,
          sum: ZERO,
        };
        g.sum = g.sum.plus(a.amount);
        increments.set(key, g);
      }
      const ordered = [...increments.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, g]) => g);
      // units before this request, per total; each record then takes the next [a, a + amount)
      const cursor = new Map<string, Decimal>();
      for (const t of await this.repo.addToTotals(tx, ordered, now)) {
        const key = totalKey(t.userId, t.productId, t.subscriptionKey, t.periodStart);
        cursor.set(key, t.units.minus((increments.get(key) as TotalIncrement).sum));
      }
      const schedules = new Map<string, PriceSchedule>();
      for (const { a, record, product } of fresh) {
        const key = totalKey(a.userId, a.productId, a.subscriptionId ?? '', record.periodStart);
        const before = cursor.get(key) as Decimal;
        cursor.set(key, before.plus(a.amount));
        let schedule = schedules.get(product.productId);
        if (!schedule) {
          schedule = scheduleOf(product);
          schedules.set(product.productId, schedule);
        }
        const price = priceRecord(schedule, before, a.amount);
        Object.assign(record, {
          unitsBefore: before.toFixed(),
          unitPrice: price.unitPrice.toFixed(),
          totalCost: price.cost.toFixed(),
          isFreeTier: price.isFreeTier,
        } satisfies Partial<UsageRecordEntity>);
        outcomes.push({ index: a.index, duplicate: false, record, product });
      }
      await this.insertRecordsAndEvents(
        tx,
        fresh.map((f) => f.record),
        ctx,
      );
    }

    // duplicates inside this request point at the record stored for the first occurrence
    for (const { a, key } of pendingDuplicates) {
      const first = outcomes.find(
        (o) => !o.duplicate && o.record.requestId !== null && dedupKey(o.record.userId, o.record.productId, o.record.requestId) === key,
      ) as RecordOutcome;
      outcomes.push({ index: a.index, duplicate: true, record: first.record, product: first.product });
    }
    return outcomes.sort((x, y) => x.index - y.index);
  }

  /**
   * The records and their product.usage.recorded events. Up to INSERT_CHUNK records (every single
   * record): one statement for both, so one round trip; larger batches: chunked record inserts, then
   * the events. A request_id stored meanwhile by a concurrent request makes the whole unit redo.
   */
  private async insertRecordsAndEvents(tx: Tx, records: UsageRecordEntity[], ctx: CallContext): Promise<void> {
    if (records.length > INSERT_CHUNK) {
      if ((await this.repo.insertRecords(tx, records)) !== records.length) throw new DuplicateRace();
      await this.events.publishProductUsageRecordedMany(tx, records.map(usageEvent), ctx);
      return;
    }
    const messages = this.events.productUsageRecordedMessages(records.map(usageEvent), ctx);
    if ((await this.repo.insertRecordsWithEvents(tx, records, messages)) !== records.length) throw new DuplicateRace();
    this.events.written(tx);
  }
}

function newRecord(a: Accepted, product: ProductEntity, period: Period, now: Date): UsageRecordEntity {
  return Object.assign(new UsageRecordEntity(), {
    usageRecordId: randomUUID(),
    userId: a.userId,
    organizationId: a.organizationId,
    subscriptionId: a.subscriptionId,
    productId: a.productId,
    usageAmount: a.amount.toFixed(),
    currency: product.currency,
    periodStart: period.start,
    periodEnd: period.end,
    sessionId: a.sessionId,
    requestId: a.requestId,
    usageDetails: a.details,
    usageTimestamp: a.timestamp,
    createdAt: now,
  } satisfies Partial<UsageRecordEntity>);
}

/** The product.usage.recorded payload of a stored record. */
export function usageEvent(r: UsageRecordEntity): ProductUsageRecordedData {
  return {
    usage_record_id: r.usageRecordId,
    user_id: r.userId,
    organization_id: r.organizationId,
    subscription_id: r.subscriptionId,
    product_id: r.productId,
    usage_amount: r.usageAmount,
    unit_price: r.unitPrice,
    total_cost: r.totalCost,
    currency: r.currency,
    is_free_tier: r.isFreeTier,
    session_id: r.sessionId,
    request_id: r.requestId,
    usage_details: r.usageDetails,
    usage_timestamp: r.usageTimestamp.toISOString(),
  };
}
