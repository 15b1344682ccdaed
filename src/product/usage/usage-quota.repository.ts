import { Injectable } from '@nestjs/common';
import { Decimal } from '../../common/money/decimal.js';
import { managerOf, prepared, type Tx } from '../../database/transaction.js';
import type { OutboxMessage } from '../../events/outbox/outbox-message.js';
import { OutboxRepository } from '../../events/outbox/outbox.repository.js';
import { counterId } from './quota-limits.js';

/** A counter row's identity and window. */
export interface CounterRow {
  userId: string;
  scope: string;
  key: string;
  kind: string;
  windowStart: Date;
  windowEnd: Date;
}

const COUNTER_COLUMNS = 'user_id text, scope text, limit_key text, kind text, window_start timestamptz, window_end timestamptz';
const counterJson = (c: CounterRow) => ({
  user_id: c.userId,
  scope: c.scope,
  limit_key: c.key,
  kind: c.kind,
  window_start: c.windowStart,
  window_end: c.windowEnd,
});

/**
 * What a counter `k` (a row of the JSON counters) held before its row existed (SPEC section 8:
 * "every non-voided record of the user for the matching products in the window counts"): the
 * user's records in the window (by `created_at`, as the counters count at recording) whose product
 * is the limit's key or has it as its type, in the counter's scope (the organization's records;
 * personal: the records without one), less what voids took: records (`daily_requests`) or units
 * (`period_units`). Counts the records stored before the limit applied (before the user held the
 * plan, or before the plan had the limit); a counter's later records are added as they are
 * stored. An index scan of `usage_records_user_created_idx`, once per counter row.
 */
const backfill = (k: string) => `(SELECT CASE WHEN ${k}.kind = 'daily_requests' THEN count(*)::numeric
          ELSE coalesce(sum(r.usage_amount - r.voided_amount), 0) END ${windowRecords(k)})`;

/** The FROM and WHERE of the records `backfill` counts for counter `k` (alias `r`). */
const windowRecords = (k: string) => `FROM usage_records r JOIN products p ON p.product_id = r.product_id
        WHERE r.user_id = ${k}.user_id AND r.created_at >= ${k}.window_start AND r.created_at < ${k}.window_end
          AND r.voided_amount < r.usage_amount AND (r.product_id = ${k}.limit_key OR p.product_type = ${k}.limit_key)
          AND r.organization_id IS NOT DISTINCT FROM nullif(${k}.scope, '')`;

/**
 * usage_quota_counters and usage_quota_thresholds (SPEC section 8). The counters are locked before
 * any decision (`lock`: an upsert that takes each row's lock, in key order: concurrent groups and
 * voids take them in the same order), then written with the records in the same transaction
 * (`apply`), with the thresholds reached and their events: a threshold's row is inserted ON
 * CONFLICT DO NOTHING and its event is written only when the row is new, so "once per threshold
 * per window" holds across groups and replicas.
 */
/** The locked counters: what each has used, and the threshold percents already published in its window. */
export interface LockedCounters {
  used: Map<string, Decimal>;
  published: Map<string, ReadonlySet<number>>;
}

@Injectable()
export class UsageQuotaRepository {
  private applySql?: string;

  constructor(private readonly outbox: OutboxRepository) {}

  /**
   * Creates the missing counters (with what their window already holds, see `backfill`: computed
   * only for a row that does not exist yet) and locks all of them FOR the transaction; returns each
   * one's value by counterId. (A concurrent creator of the same row wins: ON CONFLICT keeps its value.)
   * The records a new counter counted from its window get it in their `quota` (the counters a record
   * counts in), so that voiding one of them takes it out of the counter, as for the records counted
   * as they were stored. One statement.
   */
  async lock(tx: Tx, counters: readonly CounterRow[], now: Date): Promise<LockedCounters> {
    if (counters.length === 0) return { used: new Map(), published: new Map() };
    const rows = await managerOf(tx).query<
      { user_id: string; scope: string; limit_key: string; kind: string; window_start: Date; used: string; published: string[] }[]
    >(
      prepared(
        tx,
        'usage_quota_lock',
        `WITH ins AS (
           INSERT INTO usage_quota_counters AS c (user_id, scope, limit_key, kind, window_start, window_end, used, updated_at)
           SELECT k.user_id, k.scope, k.limit_key, k.kind, k.window_start, k.window_end,
             CASE WHEN EXISTS (SELECT 1 FROM usage_quota_counters e WHERE (e.user_id, e.scope, e.limit_key, e.kind, e.window_start)
                                  = (k.user_id, k.scope, k.limit_key, k.kind, k.window_start))
                  THEN 0 ELSE ${backfill('k')} END,
             $2::timestamptz
           FROM json_to_recordset($1::json) AS k(${COUNTER_COLUMNS})
           ORDER BY k.user_id, k.scope, k.limit_key, k.kind, k.window_start
           ON CONFLICT (user_id, scope, limit_key, kind, window_start) DO UPDATE SET used = c.used
           RETURNING c.user_id, c.scope, c.limit_key, c.kind, c.window_start, c.window_end, c.used, (c.xmax = 0) AS inserted
         ), marks AS (
           SELECT w.usage_record_id, min(i.scope) AS scope,
             jsonb_agg(jsonb_build_object('key', i.limit_key, 'kind', i.kind, 'window_start', i.window_start, 'window_end', i.window_end)) AS counters
           FROM ins i, LATERAL (SELECT r.usage_record_id ${windowRecords('i')}) w
           WHERE i.inserted
           GROUP BY w.usage_record_id
         ), marked AS (
           UPDATE usage_records r SET quota = jsonb_build_object('scope', m.scope, 'counters', coalesce(r.quota->'counters', '[]'::jsonb) || m.counters)
           FROM marks m WHERE r.usage_record_id = m.usage_record_id AND (r.quota IS NULL OR r.quota->>'scope' = m.scope)
         )
         SELECT i.user_id, i.scope, i.limit_key, i.kind, i.window_start, i.used::text AS used,
           ARRAY(SELECT t.threshold_percent::text FROM usage_quota_thresholds t
                 WHERE (t.user_id, t.scope, t.limit_key, t.kind, t.window_start) = (i.user_id, i.scope, i.limit_key, i.kind, i.window_start)) AS published
         FROM ins i`,
      ),
      [JSON.stringify(counters.map(counterJson)), now],
    );
    const used = new Map<string, Decimal>();
    const published = new Map<string, ReadonlySet<number>>();
    for (const r of rows) {
      const id = counterId(r.user_id, r.scope, r.limit_key, r.kind, r.window_start);
      used.set(id, new Decimal(r.used));
      if (r.published.length > 0) published.set(id, new Set(r.published.map(Number)));
    }
    return { used, published };
  }

  /**
   * Adds each delta to its (locked) counter, records the thresholds reached (those not reached
   * before in their window) and writes the event of each new one. One statement. Returns how many
   * thresholds were new.
   */
  async apply(
    tx: Tx,
    deltas: readonly (CounterRow & { delta: Decimal })[],
    thresholds: readonly (CounterRow & { percent: number; message: OutboxMessage })[],
    now: Date,
  ): Promise<number> {
    if (deltas.length === 0 && thresholds.length === 0) return 0;
    const [row] = await managerOf(tx).query<{ events: number }[]>(prepared(tx, 'usage_quota_apply', this.applyStatement()), [
      JSON.stringify(deltas.map((d) => ({ ...counterJson(d), delta: d.delta.toFixed() }))),
      JSON.stringify(
        thresholds.map((t, ord) => ({
          ord,
          ...counterJson(t),
          threshold_percent: String(t.percent),
          ...this.outbox.templateJson({ ...t.message, holes: [], parts: [JSON.stringify(t.message.envelope)] }),
        })),
      ),
      now,
    ]);
    return Number(row?.events ?? 0);
  }

  private applyStatement(): string {
    this.applySql ??= `WITH d AS (
        SELECT * FROM json_to_recordset($1::json) AS d(${COUNTER_COLUMNS}, delta numeric)
      ), upd AS (
        UPDATE usage_quota_counters c SET used = c.used + d.delta, updated_at = $3::timestamptz FROM d
        WHERE c.user_id = d.user_id AND c.scope = d.scope AND c.limit_key = d.limit_key AND c.kind = d.kind
          AND c.window_start = d.window_start
      ), t AS (
        SELECT * FROM json_to_recordset($2::json) AS t(ord int, ${COUNTER_COLUMNS}, threshold_percent numeric,
          event_id uuid, event_type text, event_subject text, aggregate_id text, created_at timestamptz, parts text[])
      ), fresh AS (
        INSERT INTO usage_quota_thresholds (user_id, scope, limit_key, kind, window_start, threshold_percent, reached_at)
        SELECT user_id, scope, limit_key, kind, window_start, threshold_percent, $3::timestamptz FROM t ORDER BY ord
        ON CONFLICT DO NOTHING
        RETURNING user_id, scope, limit_key, kind, window_start, threshold_percent
      ), new_events AS (
        SELECT t.* FROM t JOIN fresh USING (user_id, scope, limit_key, kind, window_start, threshold_percent)
      ), events AS (${this.outbox.insertTemplatesStatement('new_events', [], 'ord')} RETURNING 1)
      SELECT (SELECT count(*) FROM events)::int AS events`;
    return this.applySql;
  }

  /** The counters' values (for those without a row, what their window holds: see `backfill`), by counterId; no lock. */
  async read(tx: Tx, counters: readonly CounterRow[]): Promise<Map<string, Decimal>> {
    if (counters.length === 0) return new Map();
    const rows = await managerOf(tx).query<
      { user_id: string; scope: string; limit_key: string; kind: string; window_start: Date; used: string }[]
    >(
      prepared(
        tx,
        'usage_quota_read',
        `SELECT k.user_id, k.scope, k.limit_key, k.kind, k.window_start, coalesce(c.used, ${backfill('k')})::text AS used
         FROM json_to_recordset($1::json) AS k(${COUNTER_COLUMNS})
         LEFT JOIN usage_quota_counters c USING (user_id, scope, limit_key, kind, window_start)`,
      ),
      [JSON.stringify(counters.map(counterJson))],
    );
    return new Map(rows.map((r) => [counterId(r.user_id, r.scope, r.limit_key, r.kind, r.window_start), new Decimal(r.used)]));
  }
}
