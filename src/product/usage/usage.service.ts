import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { validate } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { type EntityManager, In } from 'typeorm';
import { type CallContext, canActFor } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock/clock.js';
import { badRequest, DomainError, type ErrorDetail, ErrorCode, forbidden, unprocessable } from '../../common/errors/domain-error.js';
import { Decimal, ZERO } from '../../common/money/decimal.js';
import { DEFAULT_LIMIT, decodeCursor, type Page, pageOf } from '../../common/pagination/page.js';
import { type Tx, UnitOfWork } from '../../database/unit-of-work.js';
import type { ProductUsageRecordedData } from '../../events/models/event-data.js';
import { EventPublisher } from '../../events/publishers/event.publisher.js';
import type { ProductEntity } from '../catalog/entities/product.entity.js';
import { findProductsWithTiers } from '../catalog/services/product-rows.js';
import { type PriceSchedule, priceRecord, toSchedule } from '../pricing/pricing-engine.js';
import { calendarMonth, type Period } from '../subscriptions/billing-period.js';
import { SubscriptionEntity } from '../subscriptions/subscription.entity.js';
import { ENTITLING_STATUSES, isEntitling } from '../subscriptions/subscription-state-machine.js';
import { RecordUsageDto, type ListUsageQuery, type UsageFiltersQuery } from './dto/usage.dto.js';
import { checkUsageWindow, parseTimestamp, parseUsageAmount } from './usage-input.js';
import { toUsageRecordView, type UsageRecordView } from './usage.mapper.js';
import { UsageRecordEntity } from './usage-record.entity.js';

export const MAX_BATCH = 1000;
const MAX_RACE_RETRIES = 3;
const INSERT_CHUNK = 500;

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

export interface PeriodUsage {
  periodStart: Date;
  periodEnd: Date;
  units: Decimal;
}

const dedupKey = (userId: string, productId: string, requestId: string): string => JSON.stringify([userId, productId, requestId]);
const totalKey = (userId: string, productId: string, subscriptionKey: string, periodStart: Date): string =>
  JSON.stringify([userId, productId, subscriptionKey, periodStart.toISOString()]);

/**
 * Metered usage. Each record's cost comes from the period's running total: one atomic upsert per
 * (user, product, subscription or none, period) returns the units after this request, so the
 * record covers exactly [after - amount, after) and is priced by the pricing engine over that range.
 * A whole request (one record or a batch) is one transaction: totals, records and their
 * `product.usage.recorded` outbox rows commit together.
 */
@Injectable()
export class UsageService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
    private readonly events: EventPublisher,
  ) {}

  /** Validates one POST /usage/record body (already DTO-validated) and records it. */
  async recordOne(dto: RecordUsageDto, ctx: CallContext): Promise<RecordOutcome> {
    const [outcome] = await this.record([dto], ctx, false);
    return outcome;
  }

  /** POST /usage/records/batch: validates every item (all or nothing, 400 naming each bad index), then records them. */
  async recordBatch(items: unknown[], ctx: CallContext): Promise<RecordOutcome[]> {
    if (items.length === 0 || items.length > MAX_BATCH) {
      throw badRequest('Request validation failed', [{ field: 'records', message: `records must hold 1 to ${MAX_BATCH} items` }]);
    }
    const details: ErrorDetail[] = [];
    const dtos: RecordUsageDto[] = [];
    for (const [index, item] of items.entries()) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        details.push({ index, field: `records[${index}]`, message: 'each record must be a JSON object' });
        continue;
      }
      const dto = plainToInstance(RecordUsageDto, item);
      const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
      for (const e of errors) {
        for (const message of Object.values(e.constraints ?? {})) {
          details.push({
            index,
            field: `records[${index}].${e.property}`,
            message: message.includes('should not exist') ? `${e.property} is not an allowed field` : message,
          });
        }
      }
      dtos.push(dto);
    }
    if (details.length > 0) throw badRequest('Batch validation failed; nothing was recorded', details);
    return this.record(dtos, ctx, true);
  }

  private async record(dtos: RecordUsageDto[], ctx: CallContext, batch: boolean): Promise<RecordOutcome[]> {
    const now = this.clock.now();
    const details: ErrorDetail[] = [];
    const first: { error?: DomainError } = {};
    const fail = (index: number, error: DomainError, field?: string) => {
      first.error ??= error;
      details.push({
        index,
        ...(field ? { field: batch ? `records[${index}].${field}` : field } : {}),
        message: error.details?.[0]?.message ?? `${error.code}: ${error.message}`,
      });
    };
    const accepted: Accepted[] = [];
    for (const [index, dto] of dtos.entries()) {
      if (!canActFor(ctx.principal, dto.user_id)) throw forbidden('You may only record your own usage');
      const amount = parseUsageAmount(dto.usage_amount);
      if (typeof amount === 'string') {
        fail(index, badRequest('Request validation failed', [{ field: 'usage_amount', message: amount }]), 'usage_amount');
        continue;
      }
      const timestamp = dto.usage_timestamp == null ? now : parseTimestamp(dto.usage_timestamp);
      const windowProblem = timestamp ? checkUsageWindow(timestamp, now) : 'usage_timestamp is invalid';
      if (!timestamp || windowProblem) {
        const message = windowProblem ?? 'usage_timestamp is invalid';
        fail(index, badRequest('Request validation failed', [{ field: 'usage_timestamp', message }]), 'usage_timestamp');
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
    if (details.length > 0) throw this.failure(batch, first.error as DomainError, details);

    for (let attempt = 1; ; attempt++) {
      try {
        return await this.uow.run((tx) => this.store(tx, accepted, now, ctx, batch));
      } catch (err) {
        if (err instanceof DuplicateRace && attempt < MAX_RACE_RETRIES) continue;
        throw err;
      }
    }
  }

  private failure(batch: boolean, first: DomainError, details: ErrorDetail[]): DomainError {
    if (!batch) return first;
    return badRequest('Batch validation failed; nothing was recorded', details);
  }

  private async store(tx: Tx, accepted: Accepted[], now: Date, ctx: CallContext, batch: boolean): Promise<RecordOutcome[]> {
    // ---- business rules (inside the transaction, so they hold for what is written)
    const products = await findProductsWithTiers(tx.manager, [...new Set(accepted.map((a) => a.productId))]);
    const productById = new Map(products.map((p) => [p.productId, p]));
    const subIds = [...new Set(accepted.map((a) => a.subscriptionId).filter((s): s is string => s !== null))];
    const subs = subIds.length > 0 ? await tx.manager.findBy(SubscriptionEntity, { subscriptionId: In(subIds) }) : [];
    const subById = new Map(subs.map((s) => [s.subscriptionId, s]));
    const needsEntitlement = [...new Set(accepted.filter((a) => productById.get(a.productId)?.requiresSubscription).map((a) => a.userId))];
    const entitlingByUser = new Map<string, SubscriptionEntity[]>();
    if (needsEntitlement.length > 0) {
      const rows = await tx.manager.findBy(SubscriptionEntity, { userId: In(needsEntitlement), status: In([...ENTITLING_STATUSES]) });
      for (const r of rows) entitlingByUser.set(r.userId, [...(entitlingByUser.get(r.userId) ?? []), r]);
    }
    const details: ErrorDetail[] = [];
    let firstError: DomainError | undefined;
    const fail = (index: number, error: DomainError, field: string) => {
      firstError ??= error;
      details.push({ index, field: batch ? `records[${index}].${field}` : field, message: `${error.code}: ${error.message}` });
    };
    for (const a of accepted) {
      const product = productById.get(a.productId);
      if (!product) {
        fail(a.index, unprocessable(ErrorCode.PRODUCT_NOT_FOUND, `Product ${a.productId} not found`), 'product_id');
        continue;
      }
      if (!product.isActive) {
        fail(a.index, unprocessable(ErrorCode.PRODUCT_INACTIVE, `Product ${a.productId} is not active`), 'product_id');
        continue;
      }
      if (a.subscriptionId !== null) {
        const sub = subById.get(a.subscriptionId);
        if (!sub || sub.userId !== a.userId || !isEntitling(sub.status)) {
          fail(
            a.index,
            unprocessable(
              ErrorCode.SUBSCRIPTION_NOT_ACTIVE,
              `Subscription ${a.subscriptionId} is not an active subscription of user ${a.userId}`,
            ),
            'subscription_id',
          );
          continue;
        }
      }
      if (product.requiresSubscription) {
        const candidates =
          a.subscriptionId !== null ? [subById.get(a.subscriptionId) as SubscriptionEntity] : (entitlingByUser.get(a.userId) ?? []);
        const entitled = candidates.some(
          (s) =>
            (a.subscriptionId !== null || s.organizationId === null || s.organizationId === a.organizationId) &&
            s.includedProducts.some((p) => p.product_id === a.productId),
        );
        if (!entitled) {
          fail(
            a.index,
            unprocessable(ErrorCode.SUBSCRIPTION_REQUIRED, `Product ${a.productId} requires an active subscription whose plan includes it`),
            'product_id',
          );
        }
      }
    }
    if (details.length > 0) throw this.failure(batch, firstError as DomainError, details);

    // ---- deduplication by request_id (against stored records and within this request)
    const outcomes: RecordOutcome[] = [];
    const withRequestId = accepted.filter((a) => a.requestId !== null);
    const stored = new Map<string, UsageRecordEntity>();
    if (withRequestId.length > 0) {
      const rows = await tx.manager
        .createQueryBuilder(UsageRecordEntity, 'r')
        .where(`(r.user_id, r.product_id, r.request_id) IN (SELECT * FROM unnest(:users::text[], :products::text[], :requests::text[]))`, {
          users: withRequestId.map((a) => a.userId),
          products: withRequestId.map((a) => a.productId),
          requests: withRequestId.map((a) => a.requestId),
        })
        .getMany();
      for (const r of rows) stored.set(dedupKey(r.userId, r.productId, r.requestId as string), r);
    }
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
      const sub = a.subscriptionId !== null ? (subById.get(a.subscriptionId) as SubscriptionEntity) : undefined;
      const period: Period = sub ? { start: sub.currentPeriodStart, end: sub.currentPeriodEnd } : calendarMonth(a.timestamp);
      const record = new UsageRecordEntity();
      Object.assign(record, {
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
      fresh.push({ a, record, product });
    }

    if (fresh.length > 0) {
      // ---- running totals: one atomic upsert per (user, product, subscription, period), in key order (no deadlocks)
      const groups = new Map<string, { userId: string; productId: string; subKey: string; period: Period; sum: Decimal }>();
      for (const { a, record } of fresh) {
        const subKey = a.subscriptionId ?? '';
        const key = totalKey(a.userId, a.productId, subKey, record.periodStart);
        const g = groups.get(key) ?? {
          userId: a.userId,
          productId: a.productId,
          subKey,
          period: { start: record.periodStart, end: record.periodEnd },
          sum: ZERO,
        };
        g.sum = g.sum.plus(a.amount);
        groups.set(key, g);
      }
      const ordered = [...groups.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, g]) => g);
      const rows: { user_id: string; product_id: string; subscription_key: string; period_start: Date; units: string }[] =
        await tx.manager.query(
          `INSERT INTO usage_period_totals (user_id, product_id, subscription_key, period_start, period_end, units, updated_at)
         SELECT u, p, s, ps, pe, n, $7 FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::numeric[])
           AS t(u, p, s, ps, pe, n)
         ON CONFLICT (user_id, product_id, subscription_key, period_start)
           DO UPDATE SET units = usage_period_totals.units + EXCLUDED.units, updated_at = EXCLUDED.updated_at
         RETURNING user_id, product_id, subscription_key, period_start, units::text AS units`,
          [
            ordered.map((g) => g.userId),
            ordered.map((g) => g.productId),
            ordered.map((g) => g.subKey),
            ordered.map((g) => g.period.start.toISOString()),
            ordered.map((g) => g.period.end.toISOString()),
            ordered.map((g) => g.sum.toFixed()),
            now,
          ],
        );
      // units before this request, per group; each record then takes the next [a, a + amount)
      const cursor = new Map<string, Decimal>();
      for (const row of rows) {
        const key = totalKey(row.user_id, row.product_id, row.subscription_key, new Date(row.period_start));
        cursor.set(key, new Decimal(row.units).minus((groups.get(key) as { sum: Decimal }).sum));
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
      const firstOutcome = outcomes.find(
        (o) => !o.duplicate && o.record.requestId !== null && dedupKey(o.record.userId, o.record.productId, o.record.requestId) === key,
      );
      outcomes.push({
        index: a.index,
        duplicate: true,
        record: (firstOutcome as RecordOutcome).record,
        product: (firstOutcome as RecordOutcome).product,
      });
    }
    return outcomes.sort((x, y) => x.index - y.index);
  }

  /**
   * The records and their product.usage.recorded events (outbox). Up to INSERT_CHUNK records (every
   * single record): one statement, both INSERTs in a data-modifying CTE, so one round trip; larger
   * batches: chunked record inserts, then the events. A request_id stored meanwhile by a concurrent
   * request makes the whole unit redo (the transaction, events included, is rolled back).
   */
  private async insertRecordsAndEvents(tx: Tx, records: UsageRecordEntity[], ctx: CallContext): Promise<void> {
    if (records.length > INSERT_CHUNK) {
      await this.insertRecords(tx, records);
      await this.events.publishProductUsageRecordedMany(tx, records.map(usageEvent), ctx);
      return;
    }
    const params: unknown[] = [];
    const recordsSql = this.recordsInsertSql(records, params);
    const eventsSql = this.events.productUsageRecordedInsert(tx, records.map(usageEvent), ctx, params);
    const [row] = await tx.manager.query<{ inserted: number }[]>(
      `WITH inserted AS (${recordsSql}), events AS (${eventsSql}) SELECT (SELECT count(*) FROM inserted)::int AS inserted`,
      params,
    );
    if (row?.inserted !== records.length) throw new DuplicateRace();
  }

  /** Multi-row inserts; a request_id stored meanwhile by a concurrent request makes the whole unit redo. */
  private async insertRecords(tx: Tx, records: UsageRecordEntity[]): Promise<void> {
    for (let i = 0; i < records.length; i += INSERT_CHUNK) {
      const chunk = records.slice(i, i + INSERT_CHUNK);
      const params: unknown[] = [];
      const inserted: unknown[] = await tx.manager.query(this.recordsInsertSql(chunk, params), params);
      if (inserted.length !== chunk.length) throw new DuplicateRace();
    }
  }

  /** INSERT ... ON CONFLICT (request_id) DO NOTHING RETURNING usage_record_id, parameters appended to `params`. */
  private recordsInsertSql(records: UsageRecordEntity[], params: unknown[]): string {
    const columns = [
      'usage_record_id',
      'user_id',
      'organization_id',
      'subscription_id',
      'product_id',
      'usage_amount',
      'units_before',
      'unit_price',
      'total_cost',
      'currency',
      'is_free_tier',
      'period_start',
      'period_end',
      'session_id',
      'request_id',
      'usage_details',
      'usage_timestamp',
      'created_at',
    ];
    const values = records.map((r) => {
      params.push(
        r.usageRecordId,
        r.userId,
        r.organizationId,
        r.subscriptionId,
        r.productId,
        r.usageAmount,
        r.unitsBefore,
        r.unitPrice,
        r.totalCost,
        r.currency,
        r.isFreeTier,
        r.periodStart,
        r.periodEnd,
        r.sessionId,
        r.requestId,
        r.usageDetails === null ? null : JSON.stringify(r.usageDetails),
        r.usageTimestamp,
        r.createdAt,
      );
      const base = params.length - columns.length;
      return `(${columns.map((c, j) => `$${base + j + 1}${c === 'usage_details' ? '::jsonb' : ''}`).join(', ')})`;
    });
    return `INSERT INTO usage_records (${columns.join(', ')}) VALUES ${values.join(', ')}
      ON CONFLICT (user_id, product_id, request_id) WHERE request_id IS NOT NULL DO NOTHING
      RETURNING usage_record_id`;
  }

  // ---------------------------------------------------------------- reads

  list(query: ListUsageQuery, ctx: CallContext): Promise<Page<UsageRecordView>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const position = decodeCursor(query.cursor, ['string']);
    return this.uow.read(async (tx) => {
      const qb = this.filtered(tx.manager, query, ctx);
      if (position) {
        const seq = String(position[0]);
        if (!/^\d{1,19}$/.test(seq))
          throw badRequest('Invalid cursor', [{ field: 'cursor', message: 'cursor is not one this service issued' }]);
        qb.andWhere('r.seq < :seq', { seq });
      }
      const rows = await qb
        .orderBy('r.seq', 'DESC')
        .limit(limit + 1)
        .getMany();
      return pageOf(rows, limit, toUsageRecordView, (r) => [String(r.seq)]);
    });
  }

  statistics(query: UsageFiltersQuery, ctx: CallContext): Promise<Record<string, unknown>> {
    return this.uow.read(async (tx) => {
      const base = () => this.filtered(tx.manager, query, ctx);
      const totals = await base()
        .select('coalesce(sum(r.usage_amount), 0)::text', 'usage')
        .addSelect('coalesce(sum(r.total_cost), 0)::text', 'cost')
        .addSelect('count(*)::int', 'records')
        .getRawOne<{ usage: string; cost: string; records: number }>();
      const byProduct = await base()
        .select('r.product_id', 'product_id')
        .addSelect('sum(r.usage_amount)::text', 'usage')
        .addSelect('sum(r.total_cost)::text', 'cost')
        .addSelect('count(*)::int', 'records')
        .groupBy('r.product_id')
        .orderBy('r.product_id')
        .getRawMany<{ product_id: string; usage: string; cost: string; records: number }>();
      const byDate = await base()
        .select(`to_char(r.usage_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD')`, 'day')
        .addSelect('sum(r.usage_amount)::text', 'usage')
        .addSelect('sum(r.total_cost)::text', 'cost')
        .addSelect('count(*)::int', 'records')
        .groupBy('day')
        .orderBy('day')
        .getRawMany<{ day: string; usage: string; cost: string; records: number }>();
      const entry = (r: { usage: string; cost: string; records: number }) => ({
        usage_amount: new Decimal(r.usage).toFixed(),
        total_cost: new Decimal(r.cost).toFixed(),
        records: Number(r.records),
      });
      return {
        total_usage: new Decimal(totals?.usage ?? '0').toFixed(),
        total_cost: new Decimal(totals?.cost ?? '0').toFixed(),
        total_records: Number(totals?.records ?? 0),
        usage_by_product: Object.fromEntries(byProduct.map((r) => [r.product_id, entry(r)])),
        usage_by_date: Object.fromEntries(byDate.map((r) => [r.day, entry(r)])),
        period: {
          start_date: query.start_date ? (parseTimestamp(query.start_date, true) as Date).toISOString() : null,
          end_date: query.end_date ? (parseTimestamp(query.end_date, true) as Date).toISOString() : null,
        },
      };
    });
  }

  /** GET /statistics/service: real counts. */
  serviceStatistics(): Promise<Record<string, unknown>> {
    const now = this.clock.now().getTime();
    const ago = (days: number) => new Date(now - days * 86_400_000);
    return this.uow.read(async (tx) => {
      const [products] = await tx.manager.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM products WHERE is_active`);
      const byStatus = await tx.manager.query<{ status: string; n: number }[]>(
        `SELECT status, count(*)::int AS n FROM subscriptions GROUP BY status`,
      );
      const [usage] = await tx.manager.query<{ d1: number; d7: number; d30: number }[]>(
        `SELECT count(*) FILTER (WHERE created_at >= $1)::int AS d1, count(*) FILTER (WHERE created_at >= $2)::int AS d7,
              count(*)::int AS d30
         FROM usage_records WHERE created_at >= $3`,
        [ago(1), ago(7), ago(30)],
      );
      const subscriptionsByStatus: Record<string, number> = {};
      for (const s of ['incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'unpaid', 'paused', 'canceled', 'expired']) {
        subscriptionsByStatus[s] = 0;
      }
      for (const r of byStatus) subscriptionsByStatus[r.status] = Number(r.n);
      return {
        total_products: Number(products?.n ?? 0),
        active_subscriptions: subscriptionsByStatus.active,
        total_subscriptions: Object.values(subscriptionsByStatus).reduce((a, b) => a + b, 0),
        subscriptions_by_status: subscriptionsByStatus,
        usage_records_24h: Number(usage?.d1 ?? 0),
        usage_records_7d: Number(usage?.d7 ?? 0),
        usage_records_30d: Number(usage?.d30 ?? 0),
        generated_at: new Date(now).toISOString(),
      };
    });
  }

  /**
   * Units a user has used of a product in the period containing `at`: the subscription's current
   * period when `subscriptionId` is given, else the UTC calendar month (the PeriodUsageReader port).
   */
  async periodUsage(productId: string, userId: string, subscriptionId: string | null | undefined, at: Date): Promise<PeriodUsage> {
    let period = calendarMonth(at);
    let subKey = '';
    if (subscriptionId) {
      const sub = await this.uow.read((tx) => tx.manager.findOneBy(SubscriptionEntity, { subscriptionId }));
      if (sub && sub.userId === userId) {
        period = { start: sub.currentPeriodStart, end: sub.currentPeriodEnd };
        subKey = subscriptionId;
      }
    }
    const [row] = await this.uow.read((tx) =>
      tx.manager.query<{ units: string }[]>(
        `SELECT units::text AS units FROM usage_period_totals
        WHERE user_id = $1 AND product_id = $2 AND subscription_key = $3 AND period_start = $4`,
        [userId, productId, subKey, period.start],
      ),
    );
    return { periodStart: period.start, periodEnd: period.end, units: new Decimal(row?.units ?? '0') };
  }

  private filtered(manager: EntityManager, query: UsageFiltersQuery, ctx: CallContext) {
    let userId = query.user_id;
    if (ctx.principal.kind === 'user') {
      if (userId !== undefined && userId !== ctx.principal.userId) throw forbidden('You may only read your own usage');
      userId = ctx.principal.userId;
    }
    const qb = manager.createQueryBuilder(UsageRecordEntity, 'r');
    if (userId !== undefined) qb.andWhere('r.user_id = :userId', { userId });
    if (query.organization_id !== undefined) qb.andWhere('r.organization_id = :org', { org: query.organization_id });
    if (query.subscription_id !== undefined) qb.andWhere('r.subscription_id = :sub', { sub: query.subscription_id });
    if (query.product_id !== undefined) qb.andWhere('r.product_id = :product', { product: query.product_id });
    if (query.start_date !== undefined) qb.andWhere('r.usage_timestamp >= :start', { start: parseTimestamp(query.start_date, true) });
    if (query.end_date !== undefined) qb.andWhere('r.usage_timestamp < :end', { end: parseTimestamp(query.end_date, true) });
    return qb;
  }
}

/** The product's price schedule; a product without tiers is free. */
function scheduleOf(product: ProductEntity): PriceSchedule {
  const tiers = [...(product.tiers ?? [])].sort((x, y) => x.tierIndex - y.tierIndex);
  if (tiers.length === 0)
    return toSchedule(product.freeTierLimit, [{ tier_name: 'base', min_units: '0', max_units: null, unit_price: '0' }]);
  return toSchedule(
    product.freeTierLimit,
    tiers.map((t) => ({ tier_name: t.tierName, min_units: t.minUnits, max_units: t.maxUnits, unit_price: t.unitPrice })),
  );
}

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
