import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { type CallContext, canActFor } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock/clock.js';
import { badRequest, CommonErrorCode, DomainError, type ErrorDetail, forbidden, unavailable } from '../../common/errors/domain-error.js';
import type { Decimal } from '../../common/money/decimal.js';
import type { AppConfig } from '../../config/app-config.js';
import { GroupCommitQueue, type Outcome } from '../../database/group-commit.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import type { ProductUsageRecordedData } from '../../events/models/event-data.js';
import { EventPublisher } from '../../events/publishers/event.publisher.js';
import { CatalogErrors } from '../catalog/catalog.errors.js';
import type { ProductEntity } from '../catalog/entities/product.entity.js';
import type { PriceSchedule } from '../catalog/pricing-engine.js';
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
import { type GroupRecord, RequestIdTaken, UsageRepository } from './usage.repository.js';
import { UsageRecordEntity } from './usage-record.entity.js';

const MAX_RACE_RETRIES = 3;

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
  /** the subscriptions its records name, once checked (filled by the group) */
  subscriptions: Map<string, SubscriptionEntity>;
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
  private readonly schedules = new WeakMap<ProductEntity, PriceSchedule>();

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
    const submission: Submission = { accepted, batch, ctx, now, subscriptions: new Map() };
    // inside a request transaction (an Idempotency-Key): commit there, alone, with the stored response
    if (this.uow.inRequestTransaction) {
      const [outcome] = await this.commitGroup([submission]);
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    }
    return await this.queue.submit(submission);
  }

  /**
   * One group: the subscription rules (one read, only when a record names a subscription or needs
   * an entitlement), the duplicates inside the group, then ONE statement (UsageRepository.recordGroup)
   * that allocates, prices and stores every record with its event, atomically; redone when a
   * concurrent writer stored one of its request_ids first. Duplicates of stored records are read
   * back afterwards (rare: retries).
   */
  private async commitGroup(submissions: readonly Submission[]): Promise<Outcome<RecordOutcome[]>[]> {
    const started = performance.now();
    const results: Outcome<RecordOutcome[]>[] = submissions.map(() => ({ ok: true, value: [] }));
    const live = await this.checkSubscriptions(submissions, results);

    // ---- the group's records in arrival order; a request_id repeated inside the group points at its first occurrence
    const now = submissions[0].now;
    const records: (GroupRecord & { a: Accepted; outcomes: RecordOutcome[] })[] = [];
    const firstOf = new Map<string, number>();
    const repeats: { a: Accepted; first: number; outcomes: RecordOutcome[] }[] = [];
    const schedules = new Map<string, PriceSchedule>();
    for (const i of live) {
      const s = submissions[i];
      const outcomes = (results[i] as { ok: true; value: RecordOutcome[] }).value;
      for (const a of s.accepted) {
        const key = a.requestId === null ? undefined : dedupKey(a.userId, a.productId, a.requestId);
        const first = key === undefined ? undefined : firstOf.get(key);
        if (first !== undefined) {
          repeats.push({ a, first, outcomes });
          continue;
        }
        if (key !== undefined) firstOf.set(key, records.length);
        const sub = a.subscriptionId !== null ? s.subscriptions.get(a.subscriptionId) : undefined;
        const period: Period = sub ? { start: sub.currentPeriodStart, end: sub.currentPeriodEnd } : calendarMonth(a.timestamp);
        const record = newRecord(a, a.product, period, s.now, this.costs.providerCostOf(a.product, a.amount, s.now));
        if (!schedules.has(a.productId)) schedules.set(a.productId, this.scheduleOf(a.product));
        records.push({
          ord: records.length,
          record,
          subscriptionKey: a.subscriptionId ?? '',
          event: this.events.productUsageRecordedTemplate(usageEvent(record), s.ctx),
          a,
          outcomes,
        });
      }
    }

    const earlier = await this.store(records, schedules, now);
    const answers: RecordOutcome[] = records.map((r) => {
      const record = earlier.get(r.ord);
      return record
        ? { index: r.a.index, duplicate: true, record, product: r.a.product }
        : { index: r.a.index, duplicate: false, record: r.record, product: r.a.product };
    });
    for (const [i, r] of records.entries()) r.outcomes.push(answers[i]);
    for (const { a, first, outcomes } of repeats) {
      outcomes.push({ index: a.index, duplicate: true, record: answers[first].record, product: answers[first].product });
    }
    for (const r of results) if (r.ok) r.value.sort((x, y) => x.index - y.index);
    this.logger.debug(
      {
        requests: submissions.length,
        records: records.length,
        ms: Math.round((performance.now() - started) * 10) / 10,
        waiting: this.queue.waiting,
      },
      'usage group committed',
    );
    return results;
  }

  /**
   * Runs the group statement and sets each new record's units and price. The statement takes only
   * new records: when one of them turns out to have a stored request_id (a retry, or a concurrent
   * writer was first), nothing was written; the stored records of the group's request_ids are read
   * and the statement runs again without them (at most MAX_RACE_RETRIES times). Returns the stored
   * record of each duplicate, by `ord`.
   */
  private async store(
    records: readonly (GroupRecord & { a: Accepted })[],
    schedules: ReadonlyMap<string, PriceSchedule>,
    now: Date,
  ): Promise<Map<number, UsageRecordEntity>> {
    const earlier = new Map<number, UsageRecordEntity>();
    for (let attempt = 1; ; attempt++) {
      const fresh = records.filter((r) => !earlier.has(r.ord));
      try {
        const outcomes = await this.uow.statement(async (tx) => {
          const result = await this.repo.recordGroup(tx, fresh, schedules, now);
          if (result.length > 0) this.events.written(tx);
          return result;
        });
        const byOrd = new Map(records.map((r) => [r.ord, r]));
        for (const { ord, ...price } of outcomes) Object.assign((byOrd.get(ord) as GroupRecord).record, price);
        return earlier;
      } catch (err) {
        if (!(err instanceof RequestIdTaken)) throw err;
        if (attempt >= MAX_RACE_RETRIES) {
          throw unavailable(CommonErrorCode.SERVICE_UNAVAILABLE, 'Concurrent writers kept storing the same request_ids; retry', 1);
        }
        const keyed = fresh.filter((r) => r.a.requestId !== null);
        const keys = keyed.map((r) => ({ userId: r.a.userId, productId: r.a.productId, requestId: r.a.requestId as string }));
        const stored = new Map<string, UsageRecordEntity>();
        for (const s of await this.uow.read((tx) => this.repo.findByRequestIds(tx, keys))) {
          stored.set(dedupKey(s.userId, s.productId, s.requestId as string), s);
        }
        for (const r of keyed) {
          const found = stored.get(dedupKey(r.a.userId, r.a.productId, r.a.requestId as string));
          if (found) earlier.set(r.ord, found);
        }
      }
    }
  }

  /**
   * The subscription rules of a group: a named subscription must be the user's and entitling; a
   * product that requires a subscription needs an entitling one that includes it. One read for
   * the whole group, only when a record names a subscription or needs an entitlement. A request
   * breaking a rule gets its error in `results`; returns the indexes of the others, each with the
   * subscriptions its records name.
   */
  private async checkSubscriptions(submissions: readonly Submission[], results: Outcome<RecordOutcome[]>[]): Promise<number[]> {
    const all = submissions.flatMap((s) => s.accepted);
    const subIds = [...new Set(all.map((a) => a.subscriptionId).filter((s): s is string => s !== null))];
    const needsEntitlement = [
      ...new Set(all.filter((a) => a.product.requiresSubscription && a.subscriptionId === null).map((a) => a.userId)),
    ];
    const subById = new Map<string, SubscriptionEntity>();
    const entitlingByUser = new Map<string, SubscriptionEntity[]>();
    if (subIds.length > 0 || needsEntitlement.length > 0) {
      await this.uow.read(async (tx) => {
        for (const sub of await this.subscriptions.findByIds(tx, subIds)) subById.set(sub.subscriptionId, sub);
        if (needsEntitlement.length === 0) return;
        for (const r of await this.subscriptions.entitlingOf(needsEntitlement, tx)) {
          entitlingByUser.set(r.userId, [...(entitlingByUser.get(r.userId) ?? []), r]);
        }
      });
    }
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
        if (named) s.subscriptions.set(named.subscriptionId, named);
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
    return live;
  }

  /** A product's price schedule, built once per catalog snapshot (products are immutable there). */
  private scheduleOf(product: ProductEntity): PriceSchedule {
    let schedule = this.schedules.get(product);
    if (!schedule) {
      schedule = scheduleOf(product);
      this.schedules.set(product, schedule);
    }
    return schedule;
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
