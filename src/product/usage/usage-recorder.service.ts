import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { type CallContext, canActFor } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock/clock.js';
import { badRequest, DomainError, type ErrorDetail, forbidden } from '../../common/errors/domain-error.js';
import { Decimal, ZERO } from '../../common/money/decimal.js';
import type { AppConfig } from '../../config/app-config.js';
import { GroupCommitQueue, type Outcome } from '../../database/group-commit.js';
import { type Tx, UnitOfWork } from '../../database/unit-of-work.js';
import type { ProductUsageRecordedData } from '../../events/models/event-data.js';
import { EventPublisher } from '../../events/publishers/event.publisher.js';
import { CatalogErrors } from '../catalog/catalog.errors.js';
import type { ProductEntity } from '../catalog/entities/product.entity.js';
import { type PriceSchedule, priceRecord } from '../catalog/pricing-engine.js';
import { ProductService } from '../catalog/services/product.service.js';
import { CostDefinitionStore } from '../costs/cost-definition-store.js';
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
  product: ProductEntity;
  amount: Decimal;
  organizationId: string | null;
  subscriptionId: string | null;
  sessionId: string | null;
  requestId: string | null;
  details: Record<string, unknown> | null;
  timestamp: Date;
}

/** One request's records on their way into a group: a single record, or a whole batch (all or nothing). */
interface Submission {
  accepted: Accepted[];
  batch: boolean;
  ctx: CallContext;
  now: Date;
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

  get error(): DomainError | undefined {
    if (this.details.length === 0) return undefined;
    return this.batch ? badRequest('Batch validation failed; nothing was recorded', this.details) : this.first;
  }

  throwIfAny(): void {
    const error = this.error;
    if (error) throw error;
  }
}

const dedupKey = (userId: string, productId: string, requestId: string): string => JSON.stringify([userId, productId, requestId]);
const totalKey = (userId: string, productId: string, subscriptionKey: string, periodStart: Date): string =>
  JSON.stringify([userId, productId, subscriptionKey, periodStart.toISOString()]);

/**
 * Records metered usage (SPEC "Usage") by group commit. A request is validated on its own (amounts,
 * timestamps, products from the in-memory catalog), then joins the next group: everything that
 * arrives while the previous group commits (up to USAGE_GROUP_MAX_RECORDS records, waiting at most
 * USAGE_GROUP_MAX_WAIT_MS) is written in ONE transaction: one subscription lookup when any record
 * needs it, one `request_id` lookup, one running-total upsert for every (user, product,
 * subscription or none, period), and multi-row inserts of the records with their
 * `product.usage.recorded` events. Each request still gets its own answer, after the COMMIT: its
 * records, its duplicates (a repeated `request_id` returns the first record, not charged or
 * published again), or its own error; a transaction that fails as a whole is retried one request
 * at a time (GroupCommitQueue), so one request never fails another.
 *
 * A request inside a request transaction (it sent an `Idempotency-Key`: its effect and its stored
 * response must commit together) does not join a group: it commits alone, in that transaction.
 *
 * Cost: the upsert returns each total after the group, so each record takes the next units
 * [before, before + amount) in arrival order and is priced by the pricing engine over that range.
 */
@Injectable()
export class UsageRecorder {
  private readonly logger = new Logger('UsageRecorder');
  private readonly queue: GroupCommitQueue<Submission, RecordOutcome[]>;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: UsageRepository,
    private readonly products: ProductService,
    private readonly subscriptions: SubscriptionQueries,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
    config: ConfigService<AppConfig, true>,
    private readonly costs: CostDefinitionStore,
  ) {
    const group = config.get('usage', { infer: true });
    this.queue = new GroupCommitQueue<Submission, RecordOutcome[]>({
      maxSize: group.groupMaxRecords,
      maxWaitMs: group.groupMaxWaitMs,
      concurrency: group.groupConcurrency,
      sizeOf: (s) => s.accepted.length,
      commit: (submissions) => this.commitGroup(submissions),
      // a database that cannot answer fails every request alike: no point retrying them one by one
      shouldSplit: (err) => !(err instanceof DomainError && err.kind === 'unavailable'),
    });
  }

  /** Groups committed so far and the records in them (metrics, tests). */
  get groupStats(): Readonly<{ groups: number; items: number; splits: number }> {
    return this.queue.stats;
  }

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
    const productById = new Map(
      this.products.findMany([...new Set(dtos.map((d) => d.product_id))]).map((p) => [p.product.productId, p.product]),
    );
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
        product: productById.get(dto.product_id) as ProductEntity,
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
    // the catalog rules need no database: they are decided before the record joins a group
    const business = new Failures(batch);
    const refuse = (index: number, error: DomainError) => business.add(index, error, 'product_id', `${error.code}: ${error.message}`);
    for (const a of accepted) {
      if (!a.product) refuse(a.index, CatalogErrors.productUnknown(a.productId));
      else if (!a.product.isActive) refuse(a.index, CatalogErrors.productInactive(a.productId));
    }
    business.throwIfAny();
    const submission: Submission = { accepted, batch, ctx, now };
    // inside a request transaction (an Idempotency-Key): commit there, alone, with the stored response
    if (this.uow.inRequestTransaction) {
      const [outcome] = await this.commitGroup([submission]);
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    }
    return await this.queue.submit(submission);
  }

  /** One group: one transaction (redone while a concurrent group stored one of its request_ids first). */
  private async commitGroup(submissions: readonly Submission[]): Promise<Outcome<RecordOutcome[]>[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const started = performance.now();
        const outcomes = await this.uow.run((tx) => this.storeGroup(tx, submissions));
        this.logger.debug(
          { requests: submissions.length, attempt, ms: Math.round((performance.now() - started) * 10) / 10, waiting: this.queue.waiting },
          'usage group committed',
        );
        return outcomes;
      } catch (err) {
        if (err instanceof DuplicateRace && attempt < MAX_RACE_RETRIES) continue;
        throw err;
      }
    }
  }

  private async storeGroup(tx: Tx, submissions: readonly Submission[]): Promise<Outcome<RecordOutcome[]>[]> {
    const all = submissions.flatMap((s) => s.accepted);
    // ---- subscription rules (one lookup, only when a record names a subscription or needs an entitlement)
    const subIds = [...new Set(all.map((a) => a.subscriptionId).filter((s): s is string => s !== null))];
    const subById = new Map((await this.subscriptions.findByIds(tx, subIds)).map((s) => [s.subscriptionId, s]));
    const needsEntitlement = [
      ...new Set(all.filter((a) => a.product.requiresSubscription && a.subscriptionId === null).map((a) => a.userId)),
    ];
    const entitlingByUser = new Map<string, SubscriptionEntity[]>();
    if (needsEntitlement.length > 0) {
      for (const r of await this.subscriptions.entitlingOf(needsEntitlement, tx)) {
        entitlingByUser.set(r.userId, [...(entitlingByUser.get(r.userId) ?? []), r]);
      }
    }
    const results: Outcome<RecordOutcome[]>[] = submissions.map(() => ({ ok: true, value: [] }));
    const live: number[] = [];
    for (const [i, s] of submissions.entries()) {
      const failures = new Failures(s.batch);
      const fail = (index: number, error: DomainError, field: string) =>
        failures.add(index, error, field, `${error.code}: ${error.message}`);
      for (const a of s.accepted) {
        const named = a.subscriptionId !== null ? subById.get(a.subscriptionId) : undefined;
        if (a.subscriptionId !== null && (!named || named.userId !== a.userId || !isEntitling(named.status))) {
          fail(a.index, SubscriptionErrors.notActive(a.subscriptionId, a.userId), 'subscription_id');
          continue;
        }
        if (a.product.requiresSubscription) {
          const candidates = named ? [named] : (entitlingByUser.get(a.userId) ?? []);
          if (!candidates.some((sub) => entitles(sub, a.productId, a.organizationId, named !== undefined))) {
            fail(a.index, SubscriptionErrors.required(a.productId), 'product_id');
          }
        }
      }
      const error = failures.error;
      if (error) results[i] = { ok: false, error };
      else live.push(i);
    }

    // ---- deduplication by request_id (against stored records, and within the group in arrival order)
    const keys = live.flatMap((i) => submissions[i].accepted).filter((a): a is Accepted & { requestId: string } => a.requestId !== null);
    const stored = new Map<string, UsageRecordEntity>();
    for (const r of await this.repo.findByRequestIds(tx, keys)) stored.set(dedupKey(r.userId, r.productId, r.requestId as string), r);
    const fresh: { a: Accepted; s: Submission; record: UsageRecordEntity; outcomes: RecordOutcome[] }[] = [];
    const firstOf = new Map<string, RecordOutcome>();
    const pendingDuplicates: { a: Accepted; key: string; outcomes: RecordOutcome[] }[] = [];
    for (const i of live) {
      const s = submissions[i];
      const outcomes = (results[i] as { ok: true; value: RecordOutcome[] }).value;
      for (const a of s.accepted) {
        if (a.requestId !== null) {
          const key = dedupKey(a.userId, a.productId, a.requestId);
          const existing = stored.get(key);
          if (existing) {
            outcomes.push({ index: a.index, duplicate: true, record: existing, product: a.product });
            continue;
          }
          if (firstOf.has(key)) {
            pendingDuplicates.push({ a, key, outcomes });
            continue;
          }
        }
        const sub = a.subscriptionId !== null ? subById.get(a.subscriptionId) : undefined;
        const period: Period = sub ? { start: sub.currentPeriodStart, end: sub.currentPeriodEnd } : calendarMonth(a.timestamp);
        const record = newRecord(a, a.product, period, s.now, this.costs.providerCostOf(a.product, a.amount, s.now));
        const outcome: RecordOutcome = { index: a.index, duplicate: false, record, product: a.product };
        if (a.requestId !== null) firstOf.set(dedupKey(a.userId, a.productId, a.requestId), outcome);
        outcomes.push(outcome);
        fresh.push({ a, s, record, outcomes });
      }
    }

    if (fresh.length > 0) {
      // ---- running totals: one atomic upsert for the group, totals in key order (no deadlocks between groups)
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
      // units before this group, per total; each record then takes the next [a, a + amount) in arrival order
      const cursor = new Map<string, Decimal>();
      const now = submissions[0].now;
      for (const t of await this.repo.addToTotals(tx, ordered, now)) {
        const key = totalKey(t.userId, t.productId, t.subscriptionKey, t.periodStart);
        cursor.set(key, t.units.minus((increments.get(key) as TotalIncrement).sum));
      }
      const schedules = new Map<string, PriceSchedule>();
      for (const { a, record } of fresh) {
        const key = totalKey(a.userId, a.productId, a.subscriptionId ?? '', record.periodStart);
        const before = cursor.get(key) as Decimal;
        cursor.set(key, before.plus(a.amount));
        let schedule = schedules.get(a.productId);
        if (!schedule) {
          schedule = scheduleOf(a.product);
          schedules.set(a.productId, schedule);
        }
        const price = priceRecord(schedule, before, a.amount);
        Object.assign(record, {
          unitsBefore: before.toFixed(),
          unitPrice: price.unitPrice.toFixed(),
          totalCost: price.cost.toFixed(),
          isFreeTier: price.isFreeTier,
        } satisfies Partial<UsageRecordEntity>);
      }
      // ---- the records and their product.usage.recorded events, a statement per chunk (both in it)
      for (let i = 0; i < fresh.length; i += INSERT_CHUNK) {
        const chunk = fresh.slice(i, i + INSERT_CHUNK);
        const messages = chunk.flatMap((f) => this.events.productUsageRecordedMessages([usageEvent(f.record)], f.s.ctx));
        const inserted = await this.repo.insertRecordsWithEvents(
          tx,
          chunk.map((f) => f.record),
          messages,
        );
        if (inserted !== chunk.length) throw new DuplicateRace();
      }
      this.events.written(tx);
    }

    // duplicates inside the group point at the record stored for the first occurrence
    for (const { a, key, outcomes } of pendingDuplicates) {
      const first = firstOf.get(key) as RecordOutcome;
      outcomes.push({ index: a.index, duplicate: true, record: first.record, product: first.product });
    }
    for (const r of results) if (r.ok) r.value.sort((x, y) => x.index - y.index);
    return results;
  }
}

function newRecord(a: Accepted, product: ProductEntity, period: Period, now: Date, providerCost: string | null): UsageRecordEntity {
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
    providerCost,
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
