import { Injectable } from '@nestjs/common';
import { Decimal } from '../../common/money/decimal.js';
import { isUniqueViolation } from '../../database/pg-errors.js';
import { sqlFilters } from '../../database/sql-filters.js';
import { managerOf, prepared, type Tx } from '../../database/transaction.js';
import type { OutboxTemplate } from '../../events/outbox/outbox-message.js';
import { OutboxRepository } from '../../events/outbox/outbox.repository.js';
import type { PriceSchedule } from '../catalog/pricing-engine.js';
import { type RecordQuota, UsageRecordEntity } from './usage-record.entity.js';
import { scheduleJson } from './price-schedule.js';

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
  'over_quota',
  'price_schedule_id',
  'quota',
] as const;

/** How the group statement computes a column from `priced` (the column itself unless listed). */
const RECORD_VALUE: Partial<Record<(typeof RECORD_COLUMNS)[number], string>> = { over_quota: 'coalesce(over_quota, false)' };

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
  voided_amount: string;
  credited_cost: string;
  voided_provider_cost: string;
  voided_at: Date | null;
  over_quota: boolean;
  price_schedule_id: string | null;
  quota: RecordQuota | null;
}

const RECORD_SELECT = `r.usage_record_id, r.seq::text AS seq, r.user_id, r.organization_id, r.subscription_id, r.product_id,
  r.usage_amount::text AS usage_amount, r.units_before::text AS units_before, r.unit_price::text AS unit_price,
  r.total_cost::text AS total_cost, r.currency, r.is_free_tier, r.period_start, r.period_end, r.session_id, r.request_id,
  r.usage_details, r.usage_timestamp, r.created_at, r.provider_cost::text AS provider_cost,
  r.voided_amount::text AS voided_amount, r.credited_cost::text AS credited_cost, r.voided_provider_cost::text AS voided_provider_cost,
  r.voided_at, r.over_quota, r.price_schedule_id, r.quota`;

/** A timestamptz as `Date.prototype.toISOString` writes it (UTC, milliseconds: the microseconds cut, as a Date holds them). */
const isoText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** A record's view (toUsageRecordView) as SQL columns over `usage_records r`, in the view's order. */
const VIEW_COLUMNS = `r.usage_record_id, r.user_id, r.organization_id, r.subscription_id, r.product_id,
  r.usage_amount::text AS usage_amount, r.unit_price::text AS unit_price, r.total_cost::text AS total_cost, r.currency,
  r.is_free_tier, ${isoText('r.period_start')} AS period_start, ${isoText('r.period_end')} AS period_end, r.session_id,
  r.request_id, r.usage_details, ${isoText('r.usage_timestamp')} AS usage_timestamp, ${isoText('r.created_at')} AS created_at,
  r.voided_amount::text AS voided_amount, r.credited_cost::text AS credited_cost, r.over_quota`;

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
    voidedAmount: r.voided_amount,
    creditedCost: r.credited_cost,
    voidedProviderCost: r.voided_provider_cost,
    voidedAt: r.voided_at,
    overQuota: r.over_quota,
    priceScheduleId: r.price_schedule_id,
    quota: r.quota,
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

/** The filters (and the page's `seq` bound) as SQL conditions on `usage_records r` (sqlFilters). */
const usageFilters = (f: UsageFilters, beforeSeq?: string) =>
  sqlFilters([
    ['u', 'r.user_id', '=', f.userId],
    ['o', 'r.organization_id', '=', f.organizationId],
    ['s', 'r.subscription_id', '=', f.subscriptionId],
    ['p', 'r.product_id', '=', f.productId],
    ['f', 'r.usage_timestamp', '>=', f.start],
    ['t', 'r.usage_timestamp', '<', f.end],
    ['c', 'r.seq', '<', beforeSeq, '::bigint'],
  ]);

/** One of the group's request_ids is stored already (a retry, or a concurrent writer was first): nothing was written. */
export class RequestIdTaken extends Error {
  constructor() {
    super('a request_id of the group is stored already');
  }
}

/** One record of a group commit, as the recorder built it: everything but its units and price, which the statement computes. */
export interface GroupRecord {
  /** its position in the group (arrival order: units are allocated in this order) */
  ord: number;
  /** the record without units_before, unit_price, total_cost, is_free_tier */
  record: UsageRecordEntity;
  /** the subscription id, or '' for usage without a subscription (the running total's key) */
  subscriptionKey: string;
  /** its `product.usage.recorded` event, with holes for unit_price, total_cost and is_free_tier */
  event: OutboxTemplate;
  /** stored past a plan limit (quota groups only) */
  overQuota?: boolean;
  /** the quota counters it counts in (quota groups only) */
  quota?: RecordQuota | null;
}

/** The price schedules of a group, by product: the content hash each record keeps, and those not yet known to be stored. */
export interface ScheduleRegistry {
  ids: ReadonlyMap<string, string>;
  unsaved: readonly { id: string; schedule: PriceSchedule }[];
}

/** A record the group statement stored: its units and price. */
export interface GroupOutcome {
  ord: number;
  unitsBefore: string;
  unitPrice: string;
  totalCost: string;
  isFreeTier: boolean;
}

/** Each column's SQL type, for the group statement's json_to_recordset. */
const GROUP_INPUT_TYPES = `ord int, usage_record_id uuid, user_id text, organization_id text, subscription_id text, subscription_key text,
  product_id text, usage_amount numeric, currency text, period_start timestamptz, period_end timestamptz, session_id text,
  request_id text, usage_details jsonb, usage_timestamp timestamptz, created_at timestamptz, provider_cost numeric,
  over_quota boolean, quota jsonb, event_id uuid, event_type text, event_subject text, aggregate_id text, parts text[]`;

/** The price schedules of a group's products as the statement's tier rows (see recordGroup). */
function tierRows(schedules: ReadonlyMap<string, PriceSchedule>, ids?: ReadonlyMap<string, string>): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const [productId, schedule] of schedules) {
    const sid = ids?.get(productId) ?? null;
    schedule.tiers.forEach((t, i) =>
      rows.push({
        product_id: productId,
        sid,
        free: schedule.freeTierLimit.toFixed(),
        lo: t.minUnits.toFixed(),
        hi: t.maxUnits === null ? null : t.maxUnits.toFixed(),
        price: t.unitPrice.toFixed(),
        last: i === schedule.tiers.length - 1,
      }),
    );
  }
  return rows;
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

/** The text of UsageRepository.recordGroup's statement, with the outbox INSERT of the events (see there). */
function buildGroupStatement(insertEvents: string, withSchedules: boolean): string {
  return `WITH input AS (
         SELECT * FROM json_to_recordset($1::json) AS r(${GROUP_INPUT_TYPES})
       ), tiers AS (
         SELECT * FROM json_to_recordset($2::json) AS t(product_id text, sid text, free numeric, lo numeric, hi numeric, price numeric, last boolean)
       ),${
         withSchedules
           ? ` schedules AS (
         INSERT INTO usage_price_schedules (schedule_id, free_tier_limit, tiers, created_at)
         SELECT id, free, tiers, $3::timestamptz FROM json_to_recordset($4::json) AS s(id text, free numeric, tiers jsonb)
         ON CONFLICT DO NOTHING
       ),`
           : ''
       } totals AS (
         INSERT INTO usage_period_totals AS t (user_id, product_id, subscription_key, period_start, period_end, units, updated_at)
         SELECT user_id, product_id, subscription_key, period_start, max(period_end), sum(usage_amount), $3::timestamptz
         FROM input GROUP BY user_id, product_id, subscription_key, period_start
         ORDER BY user_id, product_id, subscription_key, period_start
         ON CONFLICT (user_id, product_id, subscription_key, period_start)
           DO UPDATE SET units = t.units + EXCLUDED.units, updated_at = EXCLUDED.updated_at
         RETURNING user_id, product_id, subscription_key, period_start, units
       ), ranged AS (
         SELECT f.*, trim_scale(t.units - sum(f.usage_amount) OVER (
             PARTITION BY f.user_id, f.product_id, f.subscription_key, f.period_start ORDER BY f.ord DESC)) AS units_before
         FROM input f JOIN totals t USING (user_id, product_id, subscription_key, period_start)
       ), priced AS (
         SELECT r.*, p.free_all AS is_free_tier, trim_scale(p.cost) AS total_cost, p.sid AS price_schedule_id,
                trim_scale(CASE WHEN p.free_all THEN 0 ELSE p.marginal END) AS unit_price
         FROM ranged r CROSS JOIN LATERAL (
           SELECT r.units_before + r.usage_amount <= max(t.free) AS free_all, min(t.sid) AS sid,
                  coalesce(sum(greatest(0, least(r.units_before + r.usage_amount, coalesce(t.hi, r.units_before + r.usage_amount))
                                           - greatest(r.units_before, t.free, t.lo)) * t.price), 0) AS cost,
                  coalesce((array_agg(t.price ORDER BY t.lo) FILTER (
                              WHERE greatest(r.units_before, t.free) >= t.lo AND (t.hi IS NULL OR greatest(r.units_before, t.free) < t.hi)))[1],
                           (array_agg(t.price) FILTER (WHERE t.last))[1]) AS marginal
           FROM tiers t WHERE t.product_id = r.product_id
         ) p
       ), records AS (
         INSERT INTO usage_records (${RECORD_COLUMNS.join(', ')})
         SELECT ${RECORD_COLUMNS.map((c) => RECORD_VALUE[c] ?? c).join(', ')} FROM priced ORDER BY ord
       ), events AS (${insertEvents})
       SELECT ord, units_before::text AS units_before, unit_price::text AS unit_price, total_cost::text AS total_cost, is_free_tier
       FROM priced`;
}

/**
 * usage_records and usage_period_totals: the dedup lookup by request_id, the atomic running-total
 * upsert, the record inserts (with their outbox events in the same statement), and the reads.
 */
@Injectable()
export class UsageRepository {
  /** the group statement's text, without and with the schedules' insert */
  private readonly groupSql: (string | undefined)[] = [];

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

  /** The group statement's text (constant: it runs prepared). */
  private groupStatement(withSchedules: boolean): string {
    const i = withSchedules ? 1 : 0;
    this.groupSql[i] ??= buildGroupStatement(
      this.outbox.insertTemplatesStatement(
        'priced',
        [`to_json(unit_price::text)::text`, `to_json(total_cost::text)::text`, `CASE WHEN is_free_tier THEN 'true' ELSE 'false' END`],
        'ord',
      ),
      withSchedules,
    );
    return this.groupSql[i];
  }

  /**
   * A whole usage group in ONE statement, atomic on its own (no BEGIN / COMMIT round trips):
   *
   * 1. `totals`: one running-total upsert for every (user, product, subscription or '', period),
   *    in key order (concurrent groups lock rows in the same order: no deadlock), each returning
   *    its total after the group;
   * 2. `ranged`: each record takes the next units [before, before + amount) of its total in arrival
   *    order (`ord`): before = total after − the amounts of its own and every later record of the key;
   * 3. `priced`: the pricing engine's arithmetic over the product's schedule (the tiers the caller
   *    passes, from the in-memory catalog): cost = the sum over tiers of the units of [a, b) above
   *    the free tier inside the tier, times its price; free when b ≤ the free tier limit; the unit
   *    price is that of the tier holding the first billable unit max(a, free), the last tier when
   *    none does, 0 when the record is free. Exact `numeric` arithmetic (+ and × only), trailing
   *    zeros trimmed as decimal.js writes them; `pricing-engine.ts` is the reference and an e2e test
   *    (usage-pricing) holds the two together;
   * 4. the records, and their `product.usage.recorded` events with the price filled into the
   *    templates' holes (outbox, same statement); each record keeps the content hash of its price
   *    schedule (`price_schedule_id`, from the tier rows), and the schedules this process does not
   *    yet know to be stored are inserted ON CONFLICT DO NOTHING (a second prepared variant of the
   *    statement: the steady state has no such insert) so that a void can price at the record's own
   *    tiers; records under plan limits carry `over_quota` and `quota` (the quota way only).
   *
   * Every record must be new: a request_id stored already (a retry, or a concurrent writer first)
   * fails the insert on `usage_records_request_id_uq` and nothing is written (RequestIdTaken: the
   * caller reads which, and runs the group again without them). So the common case probes no
   * index beforehand, and the statement's plan depends on no table's size (it runs prepared: a
   * generic plan made while a table is empty must stay good when it is large).
   */
  async recordGroup(
    tx: Tx,
    records: readonly GroupRecord[],
    schedules: ReadonlyMap<string, PriceSchedule>,
    now: Date,
    registry?: ScheduleRegistry,
  ): Promise<GroupOutcome[]> {
    if (records.length === 0) return [];
    const input = records.map(({ ord, record: r, subscriptionKey, event, overQuota, quota }) => ({
      ord,
      usage_record_id: r.usageRecordId,
      user_id: r.userId,
      organization_id: r.organizationId,
      subscription_id: r.subscriptionId,
      subscription_key: subscriptionKey,
      product_id: r.productId,
      usage_amount: r.usageAmount,
      currency: r.currency,
      period_start: r.periodStart,
      period_end: r.periodEnd,
      session_id: r.sessionId,
      request_id: r.requestId,
      usage_details: r.usageDetails,
      usage_timestamp: r.usageTimestamp,
      created_at: r.createdAt,
      provider_cost: r.providerCost,
      ...(overQuota ? { over_quota: true } : {}),
      ...(quota ? { quota } : {}),
      ...this.outbox.templateJson(event),
    }));
    // schedules not yet known to be stored go in with the group (ON CONFLICT DO NOTHING); the steady state runs without that insert
    const unsaved = registry?.unsaved ?? [];
    const params: unknown[] = [JSON.stringify(input), JSON.stringify(tierRows(schedules, registry?.ids)), now];
    if (unsaved.length > 0) params.push(JSON.stringify(unsaved.map(({ id, schedule }) => scheduleJson(id, schedule))));
    const rows = await managerOf(tx)
      .query<{ ord: number; units_before: string; unit_price: string; total_cost: string; is_free_tier: boolean }[]>(
        prepared(tx, unsaved.length > 0 ? 'usage_record_group_schedules' : 'usage_record_group', this.groupStatement(unsaved.length > 0)),
        params,
      )
      .catch((err: unknown) => {
        throw isUniqueViolation(err, 'usage_records_request_id_uq') ? new RequestIdTaken() : err;
      });
    return rows.map((r) => ({
      ord: r.ord,
      unitsBefore: r.units_before,
      unitPrice: r.unit_price,
      totalCost: r.total_cost,
      isFreeTier: r.is_free_tier,
    }));
  }

  /**
   * A page of records as the JSON text of their views (usage.mapper's UsageRecordView: the same
   * fields, in the same order, with the same values), newest first (by seq), before `beforeSeq`
   * when given; with each its seq (as text, for the cursor). PostgreSQL writes the JSON
   * (`row_to_json`; timestamps as `toISOString` writes them, money and quantities as their numeric
   * text, `usage_details` as stored): no row parsing, no Date, no view object, no serializing in the
   * service, which had spent ~1.3-2 ms of CPU per page of 50 on exactly that. Prepared SQL, one
   * statement name per combination of filters.
   */
  async listViews(tx: Tx, filters: UsageFilters, limit: number, beforeSeq?: string): Promise<{ seq: string; view: string }[]> {
    const { conditions, params, key } = usageFilters(filters, beforeSeq);
    params.push(limit);
    const sql = `SELECT r.seq::text AS seq, row_to_json(v)::text AS view
      FROM usage_records r, LATERAL (SELECT ${VIEW_COLUMNS}) v${conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : ''}
      ORDER BY r.seq DESC LIMIT $${params.length}`;
    return managerOf(tx).query<{ seq: string; view: string }[]>(prepared(tx, `usage_records_views_${key}`, sql), params);
  }

  /**
   * Totals, per product and per UTC day, of the records matching `filters`, counting only what is
   * not voided: a record's remaining units, its cost less what its voids credited, its provider cost
   * less that of the voided units; a wholly voided record counts nothing (not even as a record).
   */
  async statistics(tx: Tx, filters: UsageFilters): Promise<UsageStatisticsRows> {
    // ONE prepared statement (a statement name per combination of filters): the totals, per product
    // and per UTC day as three grouping sets; GROUPING(...) tells them apart (3: totals, 1: product, 2: day)
    const { conditions, params, key } = usageFilters(filters);
    conditions.push('r.voided_amount < r.usage_amount');
    const day = `to_char(r.usage_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
    const sql = `SELECT GROUPING(r.product_id, ${day})::int AS g, r.product_id, ${day} AS day,
        coalesce(sum(r.usage_amount - r.voided_amount), 0)::text AS usage,
        coalesce(sum(r.total_cost - r.credited_cost), 0)::text AS cost,
        count(*)::int AS records,
        coalesce(sum(r.provider_cost - r.voided_provider_cost), 0)::text AS provider_cost,
        count(*) FILTER (WHERE r.provider_cost IS NULL)::int AS unpriced
      FROM usage_records r WHERE ${conditions.join(' AND ')}
      GROUP BY GROUPING SETS ((), (r.product_id), (${day}))
      ORDER BY g, r.product_id, day`;
    const rows = await managerOf(tx).query<(UsageAggregate & { g: number; product_id: string | null; day: string | null })[]>(
      prepared(tx, `usage_statistics_${key}`, sql),
      params,
    );
    const aggregate = ({ usage, cost, records, provider_cost, unpriced }: UsageAggregate): UsageAggregate => ({
      usage,
      cost,
      records: Number(records),
      provider_cost,
      unpriced: Number(unpriced),
    });
    const totals = rows.find((r) => r.g === 3);
    return {
      totals: totals ? aggregate(totals) : { usage: '0', cost: '0', records: 0, provider_cost: '0', unpriced: 0 },
      byProduct: rows.filter((r) => r.g === 1).map((r) => ({ ...aggregate(r), product_id: r.product_id as string })),
      byDate: rows.filter((r) => r.g === 2).map((r) => ({ ...aggregate(r), day: r.day as string })),
    };
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
      prepared(
        tx,
        'usage_period_total',
        `SELECT units::text AS units FROM usage_period_totals
         WHERE user_id = $1 AND product_id = $2 AND subscription_key = $3 AND period_start = $4`,
      ),
      [userId, productId, subscriptionKey, periodStart],
    );
    return new Decimal(row?.units ?? '0');
  }

  /**
   * A record locked FOR UPDATE (the first lock a void takes: then the quota counters, then the
   * running total, the order the group statements keep), with the price schedule it was priced
   * with (null for records stored before schedules were kept).
   */
  async lockForVoid(
    tx: Tx,
    usageRecordId: string,
  ): Promise<{
    record: UsageRecordEntity;
    schedule: { free: string; tiers: { min_units: string; max_units: string | null; unit_price: string }[] } | null;
  } | null> {
    const [row] = await managerOf(tx).query<
      (UsageRecordRow & { s_free: string | null; s_tiers: { min_units: string; max_units: string | null; unit_price: string }[] | null })[]
    >(
      `SELECT ${RECORD_SELECT}, s.free_tier_limit::text AS s_free, s.tiers AS s_tiers
       FROM usage_records r LEFT JOIN usage_price_schedules s ON s.schedule_id = r.price_schedule_id
       WHERE r.usage_record_id = $1 FOR UPDATE OF r`,
      [usageRecordId],
    );
    if (!row) return null;
    return { record: recordFromRow(row), schedule: row.s_free !== null && row.s_tiers ? { free: row.s_free, tiers: row.s_tiers } : null };
  }

  /** Adds one void to a (locked) record: its units, credit and provider-cost credit. */
  async addVoid(tx: Tx, usageRecordId: string, units: string, credit: string, providerCredit: string, at: Date): Promise<void> {
    await managerOf(tx).query(
      `UPDATE usage_records SET voided_amount = voided_amount + $2::numeric, credited_cost = credited_cost + $3::numeric,
         voided_provider_cost = voided_provider_cost + $4::numeric, voided_at = $5
       WHERE usage_record_id = $1`,
      [usageRecordId, units, credit, providerCredit, at],
    );
  }

  /** Lowers a running total by `units` (a void): the next records of the bucket number their units from there. */
  async lowerPeriodTotal(
    tx: Tx,
    userId: string,
    productId: string,
    subscriptionKey: string,
    periodStart: Date,
    units: string,
    at: Date,
  ): Promise<void> {
    await managerOf(tx).query(
      `UPDATE usage_period_totals SET units = units - $5::numeric, updated_at = $6
       WHERE user_id = $1 AND product_id = $2 AND subscription_key = $3 AND period_start = $4`,
      [userId, productId, subscriptionKey, periodStart, units, at],
    );
  }
}
