import { Injectable } from '@nestjs/common';
import type { SelectQueryBuilder } from 'typeorm';
import { Decimal } from '../../common/money/decimal.js';
import { managerOf, type Tx } from '../../database/transaction.js';
import type { OutboxMessage } from '../../events/outbox/outbox-message.js';
import { OutboxRepository } from '../../events/outbox/outbox.repository.js';
import { UsageRecordEntity } from './usage-record.entity.js';

/** Records per INSERT statement (with their events). */
export const INSERT_CHUNK = 1000;

/** Each column's SQL type, for json_to_recordset. */
const RECORD_TYPES = `usage_record_id uuid, user_id text, organization_id text, subscription_id text, product_id text,
  usage_amount numeric, units_before numeric, unit_price numeric, total_cost numeric, currency text, is_free_tier boolean,
  period_start timestamptz, period_end timestamptz, session_id text, request_id text, usage_details jsonb,
  usage_timestamp timestamptz, created_at timestamptz, provider_cost numeric`;

/** A record as the JSON object json_to_recordset reads (decimals stay strings: exact). */
const recordJson = (r: UsageRecordEntity) => ({
  usage_record_id: r.usageRecordId,
  user_id: r.userId,
  organization_id: r.organizationId,
  subscription_id: r.subscriptionId,
  product_id: r.productId,
  usage_amount: r.usageAmount,
  units_before: r.unitsBefore,
  unit_price: r.unitPrice,
  total_cost: r.totalCost,
  currency: r.currency,
  is_free_tier: r.isFreeTier,
  period_start: r.periodStart,
  period_end: r.periodEnd,
  session_id: r.sessionId,
  request_id: r.requestId,
  usage_details: r.usageDetails,
  usage_timestamp: r.usageTimestamp,
  created_at: r.createdAt,
  provider_cost: r.providerCost,
});

const RECORD_COLUMNS = [
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
  'provider_cost',
] as const;

/** A usage_records row as selected by RECORD_SELECT. */
interface UsageRecordRow {
  usage_record_id: string;
  seq: string;
  user_id: string;
  organization_id: string | null;
  subscription_id: string | null;
  product_id: string;
  usage_amount: string;
  units_before: string;
  unit_price: string;
  total_cost: string;
  currency: string;
  is_free_tier: boolean;
  period_start: Date;
  period_end: Date;
  session_id: string | null;
  request_id: string | null;
  usage_details: Record<string, unknown> | null;
  usage_timestamp: Date;
  created_at: Date;
  provider_cost: string | null;
}

const RECORD_SELECT = `r.usage_record_id, r.seq::text AS seq, r.user_id, r.organization_id, r.subscription_id, r.product_id,
  r.usage_amount::text AS usage_amount, r.units_before::text AS units_before, r.unit_price::text AS unit_price,
  r.total_cost::text AS total_cost, r.currency, r.is_free_tier, r.period_start, r.period_end, r.session_id, r.request_id,
  r.usage_details, r.usage_timestamp, r.created_at, r.provider_cost::text AS provider_cost`;

function recordFromRow(r: UsageRecordRow): UsageRecordEntity {
  return Object.assign(new UsageRecordEntity(), {
    usageRecordId: r.usage_record_id,
    seq: r.seq,
    userId: r.user_id,
    organizationId: r.organization_id,
    subscriptionId: r.subscription_id,
    productId: r.product_id,
    usageAmount: r.usage_amount,
    unitsBefore: r.units_before,
    unitPrice: r.unit_price,
    totalCost: r.total_cost,
    currency: r.currency,
    isFreeTier: r.is_free_tier,
    periodStart: r.period_start,
    periodEnd: r.period_end,
    sessionId: r.session_id,
    requestId: r.request_id,
    usageDetails: r.usage_details,
    usageTimestamp: r.usage_timestamp,
    createdAt: r.created_at,
    providerCost: r.provider_cost,
  });
}

export interface UsageFilters {
  userId?: string;
  organizationId?: string;
  subscriptionId?: string;
  productId?: string;
  /** usage_timestamp ≥ start */
  start?: Date;
  /** usage_timestamp < end */
  end?: Date;
}

/** One running total to raise: (user, product, subscription or '', period) by `sum` units. */
export interface TotalIncrement {
  userId: string;
  productId: string;
  /** the subscription id, or '' for usage without a subscription */
  subscriptionKey: string;
  periodStart: Date;
  periodEnd: Date;
  sum: Decimal;
}

export interface UsageAggregate {
  usage: string;
  cost: string;
  records: number;
  /** sum of the records' provider costs (records without one count 0) */
  provider_cost: string;
  /** records without a provider cost (no cost definition matched when they were recorded) */
  unpriced: number;
}

export interface UsageStatisticsRows {
  totals: UsageAggregate;
  byProduct: (UsageAggregate & { product_id: string })[];
  byDate: (UsageAggregate & { day: string })[];
}

/**
 * usage_records and usage_period_totals: the dedup lookup by request_id, the atomic running-total
 * upsert, the record inserts (with their outbox events in the same statement), and the reads.
 */
@Injectable()
export class UsageRepository {
  constructor(private readonly outbox: OutboxRepository) {}

  /** Stored records with these (user, product, request_id) keys (one indexed lookup). */
  async findByRequestIds(tx: Tx, keys: readonly { userId: string; productId: string; requestId: string }[]): Promise<UsageRecordEntity[]> {
    if (keys.length === 0) return [];
    const rows = await managerOf(tx).query<UsageRecordRow[]>(
      `SELECT ${RECORD_SELECT} FROM usage_records r
       WHERE (r.user_id, r.product_id, r.request_id) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))`,
      [keys.map((k) => k.userId), keys.map((k) => k.productId), keys.map((k) => k.requestId)],
    );
    return rows.map(recordFromRow);
  }

  /**
   * Raises the running totals atomically (one upsert for all of them; pass them in a stable key
   * order so concurrent requests lock rows in the same order) and returns each total after.
   */
  async addToTotals(
    tx: Tx,
    increments: readonly TotalIncrement[],
    now: Date,
  ): Promise<{ userId: string; productId: string; subscriptionKey: string; periodStart: Date; units: Decimal }[]> {
    const rows = await managerOf(tx).query<
      { user_id: string; product_id: string; subscription_key: string; period_start: Date; units: string }[]
    >(
      `INSERT INTO usage_period_totals (user_id, product_id, subscription_key, period_start, period_end, units, updated_at)
       SELECT u, p, s, ps, pe, n, $7 FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::numeric[])
         AS t(u, p, s, ps, pe, n)
       ON CONFLICT (user_id, product_id, subscription_key, period_start)
         DO UPDATE SET units = usage_period_totals.units + EXCLUDED.units, updated_at = EXCLUDED.updated_at
       RETURNING user_id, product_id, subscription_key, period_start, units::text AS units`,
      [
        increments.map((g) => g.userId),
        increments.map((g) => g.productId),
        increments.map((g) => g.subscriptionKey),
        increments.map((g) => g.periodStart.toISOString()),
        increments.map((g) => g.periodEnd.toISOString()),
        increments.map((g) => g.sum.toFixed()),
        now,
      ],
    );
    return rows.map((r) => ({
      userId: r.user_id,
      productId: r.product_id,
      subscriptionKey: r.subscription_key,
      periodStart: new Date(r.period_start),
      units: new Decimal(r.units),
    }));
  }

  /**
   * The records and their outbox events in ONE statement (a data-modifying CTE: one round trip),
   * each side from one JSON parameter (json_to_recordset: binding two texts instead of 24 parameters
   * per record). Records whose request_id a concurrent request stored meanwhile are skipped; returns
   * how many records were inserted (the caller compares and redoes the unit of work on a race).
   */
  async insertRecordsWithEvents(tx: Tx, records: readonly UsageRecordEntity[], messages: readonly OutboxMessage[]): Promise<number> {
    const params: unknown[] = [JSON.stringify(records.map(recordJson))];
    const eventsSql = this.outbox.insertManyStatement(messages, params);
    const [row] = await managerOf(tx).query<{ inserted: number }[]>(
      `WITH inserted AS (
         INSERT INTO usage_records (${RECORD_COLUMNS.join(', ')})
         SELECT ${RECORD_COLUMNS.join(', ')} FROM json_to_recordset($1::json) AS r(${RECORD_TYPES})
         ON CONFLICT (user_id, product_id, request_id) WHERE request_id IS NOT NULL DO NOTHING
         RETURNING usage_record_id
       ), events AS (${eventsSql})
       SELECT (SELECT count(*) FROM inserted)::int AS inserted`,
      params,
    );
    return row?.inserted ?? 0;
  }

  /** Newest first (by seq), before `beforeSeq` when given. */
  list(tx: Tx, filters: UsageFilters, limit: number, beforeSeq?: string): Promise<UsageRecordEntity[]> {
    const qb = this.filtered(tx, filters);
    if (beforeSeq !== undefined) qb.andWhere('r.seq < :seq', { seq: beforeSeq });
    return qb.orderBy('r.seq', 'DESC').limit(limit).getMany();
  }

  /** Totals, per product and per UTC day, of the records matching `filters`. */
  async statistics(tx: Tx, filters: UsageFilters): Promise<UsageStatisticsRows> {
    const totals = await this.filtered(tx, filters)
      .select('coalesce(sum(r.usage_amount), 0)::text', 'usage')
      .addSelect('coalesce(sum(r.total_cost), 0)::text', 'cost')
      .addSelect('count(*)::int', 'records')
      .addSelect('coalesce(sum(r.provider_cost), 0)::text', 'provider_cost')
      .addSelect('count(*) FILTER (WHERE r.provider_cost IS NULL)::int', 'unpriced')
      .getRawOne<UsageAggregate>();
    const byProduct = await this.filtered(tx, filters)
      .select('r.product_id', 'product_id')
      .addSelect('sum(r.usage_amount)::text', 'usage')
      .addSelect('sum(r.total_cost)::text', 'cost')
      .addSelect('count(*)::int', 'records')
      .addSelect('coalesce(sum(r.provider_cost), 0)::text', 'provider_cost')
      .addSelect('count(*) FILTER (WHERE r.provider_cost IS NULL)::int', 'unpriced')
      .groupBy('r.product_id')
      .orderBy('r.product_id')
      .getRawMany<UsageAggregate & { product_id: string }>();
    const byDate = await this.filtered(tx, filters)
      .select(`to_char(r.usage_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD')`, 'day')
      .addSelect('sum(r.usage_amount)::text', 'usage')
      .addSelect('sum(r.total_cost)::text', 'cost')
      .addSelect('count(*)::int', 'records')
      .addSelect('coalesce(sum(r.provider_cost), 0)::text', 'provider_cost')
      .addSelect('count(*) FILTER (WHERE r.provider_cost IS NULL)::int', 'unpriced')
      .groupBy('day')
      .orderBy('day')
      .getRawMany<UsageAggregate & { day: string }>();
    return { totals: totals ?? { usage: '0', cost: '0', records: 0, provider_cost: '0', unpriced: 0 }, byProduct, byDate };
  }

  /** Records created since each of the three instants (ascending ages: `d1` ≥ `d7` ≥ `d30`). */
  async countCreatedSince(tx: Tx, d1: Date, d7: Date, d30: Date): Promise<{ d1: number; d7: number; d30: number }> {
    const [row] = await managerOf(tx).query<{ d1: number; d7: number; d30: number }[]>(
      `SELECT count(*) FILTER (WHERE created_at >= $1)::int AS d1, count(*) FILTER (WHERE created_at >= $2)::int AS d7,
              count(*)::int AS d30
       FROM usage_records WHERE created_at >= $3`,
      [d1, d7, d30],
    );
    return { d1: Number(row?.d1 ?? 0), d7: Number(row?.d7 ?? 0), d30: Number(row?.d30 ?? 0) };
  }

  /** The running total of one (user, product, subscription or '', period), 0 when none. */
  async periodTotal(tx: Tx, userId: string, productId: string, subscriptionKey: string, periodStart: Date): Promise<Decimal> {
    const [row] = await managerOf(tx).query<{ units: string }[]>(
      `SELECT units::text AS units FROM usage_period_totals
       WHERE user_id = $1 AND product_id = $2 AND subscription_key = $3 AND period_start = $4`,
      [userId, productId, subscriptionKey, periodStart],
    );
    return new Decimal(row?.units ?? '0');
  }

  private filtered(tx: Tx, f: UsageFilters): SelectQueryBuilder<UsageRecordEntity> {
    const qb = managerOf(tx).createQueryBuilder(UsageRecordEntity, 'r');
    if (f.userId !== undefined) qb.andWhere('r.user_id = :userId', { userId: f.userId });
    if (f.organizationId !== undefined) qb.andWhere('r.organization_id = :org', { org: f.organizationId });
    if (f.subscriptionId !== undefined) qb.andWhere('r.subscription_id = :sub', { sub: f.subscriptionId });
    if (f.productId !== undefined) qb.andWhere('r.product_id = :product', { product: f.productId });
    if (f.start !== undefined) qb.andWhere('r.usage_timestamp >= :start', { start: f.start });
    if (f.end !== undefined) qb.andWhere('r.usage_timestamp < :end', { end: f.end });
    return qb;
  }
}
