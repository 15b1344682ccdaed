import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { type CallContext, canActFor } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock/clock.js';
import { uuidv7 } from '../../common/ids/uuid-v7.js';
import { badRequest, CommonErrorCode, DomainError, type ErrorDetail, forbidden, unavailable } from '../../common/errors/domain-error.js';
import type { Decimal } from '../../common/money/decimal.js';
import type { AppConfig } from '../../config/app-config.js';
import { type GroupCommitQueue, GroupCommits, type Outcome } from '../../database/group-commit.js';
import type { Tx } from '../../database/transaction.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import type { ProductUsageRecordedData } from '../../events/models/event-data.js';
import { EventPublisher } from '../../events/publishers/event.publisher.js';
import type { GroupedKey } from '../../idempotency/grouped-key.js';
import { GroupedKeys } from '../../idempotency/grouped-keys.service.js';
import { CatalogErrors } from '../catalog/catalog.errors.js';
import type { ProductEntity } from '../catalog/entities/product.entity.js';
import type { PriceSchedule } from '../catalog/pricing-engine.js';
import { ProductService } from '../catalog/services/product.service.js';
import { CostDefinitionStore } from '../costs/cost-definition-store.js';
import { calendarMonth, type Period } from '../subscriptions/billing-period.js';
import { entitles } from '../subscriptions/entitlement.js';
import { Memberships } from '../subscriptions/memberships.service.js';
import { SubscriptionErrors } from '../subscriptions/subscription.errors.js';
import type { SubscriptionEntity } from '../subscriptions/subscription.entity.js';
import { SubscriptionQueries } from '../subscriptions/subscription-queries.service.js';
import { isEntitling } from '../subscriptions/subscription-state-machine.js';
import type { RecordUsageDto } from './dto/usage.dto.js';
import { scheduleIdOf, scheduleOf } from './price-schedule.js';
import type { UsageBatch } from './record-usage.validation.js';
import { checkUsageWindow, parseTimestamp, parseUsageAmount } from './usage-input.js';
import { type GroupOutcome, type GroupRecord, RequestIdTaken, type ScheduleRegistry, UsageRepository } from './usage.repository.js';
import { decideQuotas, type QuotaCandidate, type QuotaCounter, quotaNumber } from './quota-limits.js';
import { counterRow, UsageQuotas } from './usage-quotas.service.js';
import { UsageQuotaRepository } from './usage-quota.repository.js';
import { UsageRecordEntity } from './usage-record.entity.js';
import { type RecordUsageResponse, toRecordUsageResponse } from './usage.mapper.js';

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
  /** refuse (429) rather than pass a plan limit */
  enforce: boolean;
}

/** One request's records on their way into a group: a single record, or a whole batch (all or nothing). */
interface Submission {
  accepted: Accepted[];
  batch: boolean;
  ctx: CallContext;
  now: Date;
  /** the subscriptions its records name, once checked (filled by the group) */
  subscriptions: Map<string, SubscriptionEntity>;
  /** its Idempotency-Key, claimed and settled by the group (a single record only) */
  key?: GroupedKey;
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

  /** The indexes of the records with a problem. */
  get indexes(): Set<number | undefined> {
    return new Set(this.details.map((d) => d.index));
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

/** A record of the group on its way into the statement, with the request it belongs to. */
type GroupEntry = GroupRecord & { a: Accepted; submission: number };

interface GroupPlan {
  records: GroupEntry[];
  /** request_ids repeated inside the group: answered with their first occurrence (`first`: its index in records) */
  repeats: { a: Accepted; first: number; submission: number }[];
}

/**
 * What a group stored: its plan, the stored records its duplicates point at (by dedupKey), and the
 * requests refused (by request): 429 under a plan limit, or a keyed request its claim did not settle.
 */
interface Stored {
  plan: GroupPlan;
  earlier: Map<string, UsageRecordEntity>;
  refused: Map<number, unknown>;
}

interface Schedules {
  byProduct: Map<string, PriceSchedule>;
  ids: Map<string, string>;
  unsaved: Map<string, PriceSchedule>;
}
const newSchedules = (): Schedules => ({ byProduct: new Map(), ids: new Map(), unsaved: new Map() });

const dedupKey = (userId: string, productId: string, requestId: string): string => JSON.stringify([userId, productId, requestId]);

const isEarlier = (r: GroupEntry, earlier: ReadonlyMap<string, UsageRecordEntity>): boolean =>
  r.a.requestId !== null && earlier.has(dedupKey(r.a.userId, r.a.productId, r.a.requestId));

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
 * A request with an `Idempotency-Key` (`recordKeyed`) joins a group too: after the group's writes,
 * its transaction claims the key with the request's response, before the COMMIT (GroupedKeys), so
 * the effect and the stored response commit together. A request inside a request transaction (a
 * key the group could not settle, run again by the interceptor, or a keyed batch) commits alone, in
 * that transaction.
 *
 * Cost: the upsert returns each total after the group, so each record takes the next units
 * [before, before + amount) in arrival order and is priced by the pricing engine over that range.
 */
@Injectable()
export class UsageRecorder {
  private readonly logger = new Logger('UsageRecorder');
  private readonly queue: GroupCommitQueue<Submission, RecordOutcome[]>;
  private readonly schedules = new WeakMap<ProductEntity, { schedule: PriceSchedule; id: string }>();
  /** price schedules known to be in usage_price_schedules (this process wrote or found them) */
  private readonly savedSchedules = new Set<string>();

  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: UsageRepository,
    private readonly products: ProductService,
    private readonly subscriptions: SubscriptionQueries,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
    config: ConfigService<AppConfig, true>,
    private readonly costs: CostDefinitionStore,
    private readonly quotas: UsageQuotas,
    private readonly quotaRepo: UsageQuotaRepository,
    private readonly memberships: Memberships,
    private readonly keys: GroupedKeys,
    groupCommits: GroupCommits,
  ) {
    const group = config.get('usage', { infer: true });
    this.queue = groupCommits.create<Submission, RecordOutcome[]>('usage_record', {
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

  /**
   * POST /usage/record with an `Idempotency-Key` (body already DTO-validated): recorded in a group
   * that claims the key and stores the response with the record. Answers that response, or the
   * stored one of an earlier request with the key (`key.replayed`). A failure with `key.settled`
   * unset leaves the request to be run again in a request transaction (IdempotencyInterceptor).
   */
  async recordKeyed(dto: RecordUsageDto, ctx: CallContext, key: GroupedKey): Promise<RecordUsageResponse> {
    await this.record([dto], ctx, false, key);
    return key.response as RecordUsageResponse;
  }

  /**
   * POST /usage/records/batch: every item, checked one by one by UsageBatchPipe; `invalid` are the
   * problems it found (with their indexes). All or nothing: a batch with any bad record is refused
   * with ONE 400 naming every bad record, those the pipe found and those the catalog and the
   * subscriptions refuse among the others.
   */
  recordBatch(batch: UsageBatch, ctx: CallContext): Promise<RecordOutcome[]> {
    return this.record(batch.records, ctx, true, undefined, batch.invalid);
  }

  private async record(
    dtos: RecordUsageDto[],
    ctx: CallContext,
    batch: boolean,
    key?: GroupedKey,
    invalid: readonly ErrorDetail[] = [],
  ): Promise<RecordOutcome[]> {
    const now = this.clock.now();
    const failures = new Failures(batch);
    const accepted: Accepted[] = [];
    // a batch's malformed records (the pipe's problems) are only named in its 400, not read (a single record has none)
    const malformed = invalid.length > 0 ? new Set(invalid.map((d) => d.index)) : undefined;
    const wellFormed = malformed ? dtos.filter((_, i) => !malformed.has(i)) : dtos;
    const productById = new Map(
      this.products.findMany([...new Set(wellFormed.map((d) => d.product_id))]).map((p) => [p.product.productId, p.product]),
    );
    for (const [index, dto] of dtos.entries()) {
      if (malformed?.has(index)) continue;
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
        enforce: dto.enforce === true,
      });
    }
    if (!batch) failures.throwIfAny();
    // the catalog rules need no database: they are decided before the record joins a group
    const business = new Failures(batch);
    const refuse = (index: number, error: DomainError) => business.add(index, error, 'product_id', `${error.code}: ${error.message}`);
    for (const a of accepted) {
      if (!a.product) refuse(a.index, CatalogErrors.productUnknown(a.productId));
      else if (!a.product.isActive) refuse(a.index, CatalogErrors.productInactive(a.productId));
    }
    if (batch && invalid.length + failures.details.length + business.details.length > 0) {
      const bad = new Set([...failures.indexes, ...business.indexes]);
      const rest = accepted.filter((a) => !bad.has(a.index));
      const more = rest.length > 0 ? await this.subscriptionProblems(rest, ctx, now) : [];
      const details = [...invalid, ...failures.details, ...business.details, ...more];
      throw badRequest(
        'Batch validation failed; nothing was recorded',
        details.sort((x, y) => (x.index ?? -1) - (y.index ?? -1)),
      );
    }
    business.throwIfAny();
    if (ctx.principal.kind === 'user') await this.checkOrganizations(accepted, ctx.principal.userId, ctx);
    const submission: Submission = { accepted, batch, ctx, now, subscriptions: new Map(), key };
    // inside a request transaction (an Idempotency-Key): commit there, alone, with the stored response
    if (this.uow.inRequestTransaction) {
      const [outcome] = await this.commitGroup([submission]);
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    }
    return await this.queue.submit(submission);
  }

  /**
   * A user recording usage for an organization must be its member (403 NOT_ORGANIZATION_MEMBER, 422
   * ORGANIZATION_NOT_FOUND): else anyone could charge usage to another tenant's organization. One
   * question per organization, answered from the client's cache while positive; an internal caller
   * (the billing service) is trusted with the organizations it names.
   */
  private async checkOrganizations(accepted: readonly Accepted[], userId: string, ctx: CallContext): Promise<void> {
    const organizations = new Set<string>();
    for (const a of accepted) if (a.organizationId !== null) organizations.add(a.organizationId);
    if (organizations.size === 0) return;
    await Promise.all([...organizations].map((organizationId) => this.memberships.assertMember(organizationId, userId, ctx)));
  }

  /**
   * One group: the subscription rules and the users' entitling subscriptions (one read, only when a
   * record names a subscription, needs an entitlement, or its user is not in the cache), the
   * duplicates inside the group, then ONE statement (UsageRepository.recordGroup) that allocates,
   * prices and stores every record with its event, atomically; redone when a concurrent writer
   * stored one of its request_ids first. When a record's user has a plan limit on its product, the
   * group goes the quota way instead (`storeWithQuotas`: one transaction that locks the counters
   * first). Duplicates of stored records are read back afterwards (rare: retries).
   */
  private async commitGroup(submissions: readonly Submission[]): Promise<Outcome<RecordOutcome[]>[]> {
    const started = performance.now();
    const results: Outcome<RecordOutcome[]>[] = submissions.map(() => ({ ok: true, value: [] }));
    const { live, entitling } = await this.checkSubscriptions(submissions, results);
    const now = submissions[0].now;

    // the plan limits each record counts in (from memory: the cache and the catalog)
    const counters = new Map<Accepted, QuotaCounter[]>();
    for (const i of live) {
      const s = submissions[i];
      for (const a of s.accepted) {
        const named = a.subscriptionId !== null ? s.subscriptions.get(a.subscriptionId) : undefined;
        const list = this.quotas.countersFor(entitling.get(a.userId) ?? [], a, named, s.now);
        if (list.length > 0) counters.set(a, list);
      }
    }

    const keyed = live.some((i) => submissions[i].key !== undefined);
    const stored =
      counters.size === 0 && !keyed
        ? await this.store(submissions, live, now)
        : await this.storeInTransaction(submissions, live, counters, now);
    // a keyed request refused under a plan limit (429) stays unsettled: its key was not claimed, and
    // may hold a response to replay; the interceptor runs it again alone, which claims the key first
    for (const [i, error] of stored.refused) results[i] = { ok: false, error };
    UsageRecorder.answer(stored, results);
    const { records } = stored.plan;
    this.logger.debug(
      {
        requests: submissions.length,
        records: records.length,
        quota: counters.size > 0,
        ms: Math.round((performance.now() - started) * 10) / 10,
        waiting: this.queue.waiting,
      },
      'usage group committed',
    );
    return results;
  }

  /**
   * The group's records in arrival order, from the requests `live`; a request_id repeated inside the
   * group points at its first occurrence. Fills `schedules` with each product's price schedule.
   */
  private build(submissions: readonly Submission[], live: readonly number[], schedules: Schedules): GroupPlan {
    const records: GroupEntry[] = [];
    const firstOf = new Map<string, number>();
    const repeats: GroupPlan['repeats'] = [];
    for (const i of live) {
      const s = submissions[i];
      for (const a of s.accepted) {
        const key = a.requestId === null ? undefined : dedupKey(a.userId, a.productId, a.requestId);
        const first = key === undefined ? undefined : firstOf.get(key);
        if (first !== undefined) {
          repeats.push({ a, first, submission: i });
          continue;
        }
        if (key !== undefined) firstOf.set(key, records.length);
        const sub = a.subscriptionId !== null ? s.subscriptions.get(a.subscriptionId) : undefined;
        const period: Period = sub ? { start: sub.currentPeriodStart, end: sub.currentPeriodEnd } : calendarMonth(a.timestamp);
        const record = newRecord(a, a.product, period, s.now, this.costs.providerCostOf(a.product, a.amount, s.now));
        if (!schedules.byProduct.has(a.productId)) {
          const { schedule, id } = this.scheduleOf(a.product);
          schedules.byProduct.set(a.productId, schedule);
          schedules.ids.set(a.productId, id);
          if (!this.savedSchedules.has(id)) schedules.unsaved.set(id, schedule);
        }
        record.priceScheduleId = schedules.ids.get(a.productId) ?? null;
        records.push({
          ord: records.length,
          record,
          subscriptionKey: a.subscriptionId ?? '',
          event: this.events.productUsageRecordedTemplate(usageEvent(record), s.ctx),
          a,
          submission: i,
        });
      }
    }
    return { records, repeats };
  }

  /** The schedules a statement registers, and after it committed, remembers as stored (not inside a request transaction, which may still roll back). */
  private registry(schedules: Schedules): ScheduleRegistry {
    return { ids: schedules.ids, unsaved: [...schedules.unsaved].map(([id, schedule]) => ({ id, schedule })) };
  }

  private saved(schedules: Schedules): void {
    if (this.uow.inRequestTransaction) return;
    for (const id of schedules.unsaved.keys()) this.savedSchedules.add(id);
  }

  /**
   * Each request's records (to `results`, sorted by index), from what its group stored: a new record,
   * or the stored record of its request_id (`duplicate`), or the first of a request_id repeated in
   * the group. Requests whose result is an error are left alone.
   */
  private static answer(stored: Pick<Stored, 'plan' | 'earlier'>, results: Outcome<RecordOutcome[]>[]): void {
    const { records, repeats } = stored.plan;
    const answers: RecordOutcome[] = records.map((r) => {
      const record = r.a.requestId === null ? undefined : stored.earlier.get(dedupKey(r.a.userId, r.a.productId, r.a.requestId));
      return record
        ? { index: r.a.index, duplicate: true, record, product: r.a.product }
        : { index: r.a.index, duplicate: false, record: r.record, product: r.a.product };
    });
    const valueOf = (i: number) => (results[i] as { ok: true; value: RecordOutcome[] }).value;
    for (const [k, r] of records.entries()) valueOf(r.submission).push(answers[k]);
    for (const { a, first, submission } of repeats) {
      valueOf(submission).push({ index: a.index, duplicate: true, record: answers[first].record, product: answers[first].product });
    }
    for (const r of results) if (r.ok) r.value.sort((x, y) => x.index - y.index);
  }

  /** Sets each new record's units and price from the statement's outcomes. */
  private static priced(records: readonly GroupEntry[], outcomes: readonly GroupOutcome[]): void {
    const byOrd = new Map(records.map((r) => [r.ord, r]));
    for (const { ord, ...price } of outcomes) {
      const entry = byOrd.get(ord) as GroupEntry;
      Object.assign(entry.record, price, { overQuota: entry.overQuota ?? false, quota: entry.quota ?? null });
    }
  }

  /**
   * The common case (no record under a plan limit): the group statement alone, no transaction. It
   * takes only new records: when one of them turns out to have a stored request_id (a retry, or a
   * concurrent writer was first), nothing was written; the stored records of the group's request_ids
   * are read and the statement runs again without them (readEarlier: each time one fewer at least).
   */
  private async store(submissions: readonly Submission[], live: readonly number[], now: Date): Promise<Stored> {
    const schedules = newSchedules();
    const plan = this.build(submissions, live, schedules);
    const earlier = new Map<string, UsageRecordEntity>();
    for (;;) {
      const fresh = plan.records.filter((r) => !isEarlier(r, earlier));
      try {
        const outcomes = await this.uow.statement(async (tx) => {
          const result = await this.repo.recordGroup(tx, fresh, schedules.byProduct, now, this.registry(schedules));
          if (result.length > 0) this.events.written(tx);
          return result;
        });
        this.saved(schedules);
        UsageRecorder.priced(plan.records, outcomes);
        return { plan, earlier, refused: new Map() };
      } catch (err) {
        if (!(err instanceof RequestIdTaken)) throw err;
        await this.readEarlier(fresh, earlier);
      }
    }
  }

  /**
   * A group with records under plan limits, or with keyed requests: ONE transaction that locks the
   * counters of every limit the group touches (an upsert taking each row's lock, in key order), then
   * decides in memory in arrival order (decideQuotas): an enforced record that would pass a limit
   * refuses its request (429; the others go on), the rest are stored, `over_quota` when past a limit;
   * then the group statement, the counters with the thresholds reached and their events, and last
   * the keys of its keyed requests, each claimed with its response (GroupedKeys.transact: a key the
   * claim does not get rolls the transaction back, and it runs again without that request).
   * Concurrent groups (and replicas) touching a counter wait on its row lock, so they decide one
   * after the other: enforced records never pass a limit together. Round trips: BEGIN, lock (with
   * limits), records, counters (with limits), keys (with keys), COMMIT.
   */
  private async storeInTransaction(
    submissions: readonly Submission[],
    live: readonly number[],
    counters: ReadonlyMap<Accepted, QuotaCounter[]>,
    now: Date,
  ): Promise<Stored> {
    const earlier = new Map<string, UsageRecordEntity>();
    const rows = new Map<string, QuotaCounter>();
    for (const list of counters.values()) for (const c of list) rows.set(c.id, c);
    // the keys of the group's keyed requests, claimed after its writes (GroupedKeys.transact)
    const inGroup = new Set(live);
    const groupKeys = submissions.map((s, i) => (inGroup.has(i) ? s.key : undefined));
    for (;;) {
      const schedules = newSchedules();
      let fresh: GroupEntry[] = [];
      try {
        const { result, refused: unsettled } = await this.keys.transact(groupKeys, async (tx, skip) => {
          const { used, published } = await this.quotaRepo.lock(tx, [...rows.values()].map(counterRow), now);
          const refused = new Map<number, unknown>();
          let current = live.filter((i) => !skip.has(i));
          for (;;) {
            const plan = this.build(submissions, current, schedules);
            fresh = plan.records.filter((r) => !isEarlier(r, earlier));
            const candidates: QuotaCandidate[] = [];
            for (const r of fresh) {
              const list = counters.get(r.a);
              if (list)
                candidates.push({
                  ord: r.ord,
                  submission: r.submission,
                  enforce: r.a.enforce,
                  amount: r.a.amount,
                  productId: r.a.productId,
                  counters: list,
                });
            }
            const decision = decideQuotas(candidates, used, published);
            // a refused record may be the retry of a stored one, which adds nothing to a limit and
            // answers as a duplicate (SPEC 2), never 429: decided again without the stored ones
            if (
              decision.refused.size > 0 &&
              (await this.addEarlier(
                tx,
                fresh.filter((r) => decision.refused.has(r.submission)),
                earlier,
              )) > 0
            ) {
              continue;
            }
            if (decision.refused.size > 0) {
              for (const [i, { counter, used: at }] of decision.refused)
                refused.set(i, this.quotas.refusal(counter, at, submissions[i].now));
              current = current.filter((i) => !decision.refused.has(i));
              continue;
            }
            for (const r of fresh) {
              const list = counters.get(r.a);
              if (!list) continue;
              r.overQuota = decision.overQuota.has(r.ord);
              r.quota = {
                scope: list[0].scope,
                counters: list.map((c) => ({
                  key: c.key,
                  kind: c.kind,
                  window_start: c.window.start.toISOString(),
                  window_end: c.window.end.toISOString(),
                })),
              };
            }
            const outcomes = await this.repo.recordGroup(tx, fresh, schedules.byProduct, now, this.registry(schedules));
            const byOrd = new Map(fresh.map((r) => [r.ord, r]));
            const thresholds = decision.reached.map((t) => ({
              ...counterRow(t.counter),
              percent: t.percent,
              message: this.events.productUsageThresholdReachedMessage(
                {
                  user_id: t.counter.userId,
                  organization_id: t.counter.organizationId,
                  subscription_id: t.counter.subscriptionId,
                  product_id: t.productId,
                  key: t.counter.key,
                  kind: t.counter.kind,
                  threshold_percent: t.percent,
                  limit: quotaNumber(t.counter.kind, t.counter.limit),
                  used: quotaNumber(t.counter.kind, t.used),
                  window_start: t.counter.window.start.toISOString(),
                  window_end: t.counter.window.end.toISOString(),
                },
                submissions[(byOrd.get(t.ord) as GroupEntry).submission].ctx,
              ),
            }));
            const deltas = [...decision.deltas.values()].map(({ counter, delta }) => ({ ...counterRow(counter), delta }));
            await this.quotaRepo.apply(tx, deltas, thresholds, now);
            UsageRecorder.priced(plan.records, outcomes);
            if (outcomes.length > 0 || thresholds.length > 0) this.events.written(tx);
            return { result: { plan, refused }, responses: this.responses(submissions, current, { plan, earlier }) };
          }
        });
        this.saved(schedules);
        for (const [i, error] of unsettled) result.refused.set(i, error);
        return { plan: result.plan, earlier, refused: result.refused };
      } catch (err) {
        if (!(err instanceof RequestIdTaken)) throw err;
        await this.readEarlier(fresh, earlier);
      }
    }
  }

  /**
   * The response of each keyed request among `current` (the requests in the group's plan, none
   * refused), rendered as the controller renders it: what its key is claimed with.
   */
  private responses(
    submissions: readonly Submission[],
    current: readonly number[],
    stored: Pick<Stored, 'plan' | 'earlier'>,
  ): Map<number, RecordUsageResponse> {
    const keyed = current.filter((i) => submissions[i].key !== undefined);
    if (keyed.length === 0) return new Map();
    const results: Outcome<RecordOutcome[]>[] = submissions.map(() => ({ ok: true, value: [] }));
    UsageRecorder.answer(stored, results);
    return new Map(
      keyed.map((i) => {
        const [{ record, product, duplicate }] = (results[i] as { ok: true; value: RecordOutcome[] }).value;
        return [i, toRecordUsageResponse(record, product, duplicate)];
      }),
    );
  }

  /**
   * After RequestIdTaken: the stored records of the statement's request_ids, into `earlier`. The
   * insert that failed had waited for the writer it collided with to commit, so at least one of
   * them is new here and the group's fresh records shrink: the redo ends, after at most one round
   * per request_id of the group, however many writers race on them. None new would mean the unique
   * index holds a request_id that no read shows: a 503 rather than a loop.
   */
  private async readEarlier(fresh: readonly GroupEntry[], earlier: Map<string, UsageRecordEntity>): Promise<void> {
    if ((await this.uow.read((tx) => this.addEarlier(tx, fresh, earlier))) === 0) {
      throw unavailable(CommonErrorCode.SERVICE_UNAVAILABLE, 'A stored request_id could not be read back; retry', 1);
    }
  }

  /** The stored records of the request_ids of `entries`, into `earlier`; how many were not there. */
  private async addEarlier(tx: Tx, entries: readonly GroupEntry[], earlier: Map<string, UsageRecordEntity>): Promise<number> {
    const keys = entries
      .filter((r) => r.a.requestId !== null)
      .map((r) => ({ userId: r.a.userId, productId: r.a.productId, requestId: r.a.requestId as string }));
    let added = 0;
    for (const s of await this.repo.findByRequestIds(tx, keys)) {
      const key = dedupKey(s.userId, s.productId, s.requestId as string);
      if (!earlier.has(key)) added++;
      earlier.set(key, s);
    }
    return added;
  }

  /**
   * The subscription rules of a group: a named subscription must be the user's and entitling; a
   * product that requires a subscription needs an entitling one that includes it. And every user's
   * entitling subscriptions (their plan limits): from the per-replica cache, read for the users it
   * does not know. One read for the whole group, only when a record names a subscription, needs an
   * entitlement or has a user the cache does not know. A request breaking a rule gets its error in
   * `results`; returns the indexes of the others (each with the subscriptions its records name) and
   * the users' entitling subscriptions.
   */
  private async checkSubscriptions(
    submissions: readonly Submission[],
    results: Outcome<RecordOutcome[]>[],
  ): Promise<{ live: number[]; entitling: Map<string, readonly SubscriptionEntity[]> }> {
    const all = submissions.flatMap((s) => s.accepted);
    const subIds = [...new Set(all.map((a) => a.subscriptionId).filter((s): s is string => s !== null))];
    const needsEntitlement = new Set(all.filter((a) => a.product.requiresSubscription && a.subscriptionId === null).map((a) => a.userId));
    const { known, missing, version } = this.quotas.knownSubscriptions(all.map((a) => a.userId));
    const toRead = [...new Set([...needsEntitlement, ...missing])];
    const subById = new Map<string, SubscriptionEntity>();
    const entitling = new Map<string, readonly SubscriptionEntity[]>(known);
    if (subIds.length > 0 || toRead.length > 0) {
      await this.uow.read(async (tx) => {
        for (const sub of await this.subscriptions.findByIds(tx, subIds)) subById.set(sub.subscriptionId, sub);
        if (toRead.length === 0) return;
        const rows = await this.subscriptions.entitlingOf(toRead, tx);
        this.quotas.remember(toRead, rows, version);
        for (const u of toRead) entitling.set(u, []);
        for (const r of rows) entitling.set(r.userId, [...(entitling.get(r.userId) ?? []), r]);
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
          const candidates = named ? [named] : (entitling.get(a.userId) ?? []);
          if (!candidates.some((sub) => entitles(sub, a.productId, a.organizationId, named !== undefined))) {
            fail(a.index, SubscriptionErrors.required(a.productId), 'product_id');
          }
        }
      }
      const error = failures.error;
      if (error) results[i] = { ok: false, error };
      else live.push(i);
    }
    return { live, entitling };
  }

  /**
   * The subscription rules' problems of a batch's records (checkSubscriptions outside any group:
   * nothing is written), for the 400 of a batch already refused for other records.
   */
  private async subscriptionProblems(accepted: Accepted[], ctx: CallContext, now: Date): Promise<ErrorDetail[]> {
    const results: Outcome<RecordOutcome[]>[] = [{ ok: true, value: [] }];
    await this.checkSubscriptions([{ accepted, batch: true, ctx, now, subscriptions: new Map(), key: undefined }], results);
    const [result] = results;
    return !result.ok && result.error instanceof DomainError ? [...(result.error.details ?? [])] : [];
  }

  /** A product's price schedule and its content hash, built once per catalog snapshot (products are immutable there). */
  private scheduleOf(product: ProductEntity): { schedule: PriceSchedule; id: string } {
    let entry = this.schedules.get(product);
    if (!entry) {
      const schedule = scheduleOf(product);
      entry = { schedule, id: scheduleIdOf(schedule) };
      this.schedules.set(product, entry);
    }
    return entry;
  }
}

function newRecord(a: Accepted, product: ProductEntity, period: Period, now: Date, providerCost: string | null): UsageRecordEntity {
  return Object.assign(new UsageRecordEntity(), {
    usageRecordId: uuidv7(now.getTime()),
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
