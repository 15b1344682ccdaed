import pg from 'pg';
import type { LoadGenerator } from './load.js';
import { sleep } from './proc.js';
import { countBy, type StreamMessage } from './stream.js';
import { isLegal } from './transitions.js';

/** One verified property with the counts behind it. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export class Checks {
  readonly list: Check[] = [];
  /** `ok` must hold; `detail` says what was measured. */
  expect(name: string, ok: boolean, detail: string): void {
    this.list.push({ name, ok, detail });
  }
  /** Measured and reported, not a pass/fail property. */
  note(name: string, detail: string): void {
    this.list.push({ name: `(info) ${name}`, ok: true, detail });
  }
  failed(): Check[] {
    return this.list.filter((c) => !c.ok);
  }
}

/** A small pool on the service's database, for the checks only. */
export class Db {
  readonly pool: pg.Pool;
  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000 });
    this.pool.on('error', () => undefined); // a PostgreSQL restart kills idle clients: expected here
  }
  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(sql, params)).rows as T[];
  }
  async one<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T> {
    return (await this.query<T>(sql, params))[0];
  }
  close(): Promise<void> {
    return this.pool.end();
  }
}

/** Waits until the outbox is empty (the relay caught up: rows are deleted once published); returns what is left. */
export async function waitOutboxDrained(db: Db, timeoutMs: number): Promise<{ unpublished: number; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const { n } = await db.one<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_events`).catch(() => ({ n: -1 }));
    if (n === 0 || Date.now() - started > timeoutMs) return { unpublished: n, waitedMs: Date.now() - started };
    await sleep(250);
  }
}

export interface UsageCounts {
  sent: number;
  answered_first_try: number;
  answered_after_retry: number;
  never_answered: number;
  stored: number;
  lost: number;
  duplicated_rows: number;
  two_answers_for_one_request: number;
  phantom_rows: number;
  events: number;
  events_missing: number;
  events_duplicated: number;
  events_phantom: number;
  bucket_total_mismatches: number;
  unit_range_breaks: number;
}

/**
 * Usage records of this run against what the generator was told and what is on the stream:
 * every 200 stored (same usage_record_id), one row per request_id, one `product.usage.recorded`
 * per row, running totals equal to the rows' sums, unit ranges tiling each bucket.
 */
export async function checkUsage(db: Db, gen: LoadGenerator, events: StreamMessage[], checks: Checks): Promise<UsageCounts> {
  const prefix = `r_${gen.options.runId}_`;
  const rows = await db.query<{ usage_record_id: string; request_id: string }>(
    `SELECT usage_record_id::text, request_id FROM usage_records WHERE request_id LIKE $1`,
    [`${prefix}%`],
  );
  const byRequest = countBy(rows, (r) => r.request_id);
  const rowIds = new Map(rows.map((r) => [r.usage_record_id, r.request_id]));
  const attempts = [...gen.usage.values()];
  const answered = attempts.filter((a) => a.recordId !== undefined);
  const lost = answered.filter((a) => rowIds.get(a.recordId!) !== a.requestId);
  const usageEvents = events.filter(
    (e) => e.type === 'product.usage.recorded' && typeof e.data.request_id === 'string' && e.data.request_id.startsWith(prefix),
  );
  const eventsById = countBy(usageEvents, (e) => e.data.usage_record_id as string | undefined);
  const totals = await db.one<{ mismatched: number; buckets: number }>(
    `WITH r AS (
       SELECT user_id, product_id, coalesce(subscription_id, '') AS sk, period_start, sum(usage_amount) AS units
       FROM usage_records WHERE user_id LIKE $1 GROUP BY 1, 2, 3, 4),
     t AS (SELECT user_id, product_id, subscription_key AS sk, period_start, units FROM usage_period_totals WHERE user_id LIKE $1)
     SELECT count(*) FILTER (WHERE r.units IS DISTINCT FROM t.units)::int AS mismatched, count(*)::int AS buckets
     FROM r FULL JOIN t ON r.user_id = t.user_id AND r.product_id = t.product_id AND r.sk = t.sk AND r.period_start = t.period_start`,
    [`u_${gen.options.runId}_%`],
  );
  const ranges = await db.one<{ breaks: number }>(
    `SELECT count(*)::int AS breaks FROM (
       SELECT units_before, lag(units_before + usage_amount, 1, 0::numeric)
         OVER (PARTITION BY user_id, product_id, coalesce(subscription_id, ''), period_start ORDER BY units_before) AS prev_end
       FROM usage_records WHERE user_id LIKE $1) x
     WHERE units_before <> prev_end`,
    [`u_${gen.options.runId}_%`],
  );
  const counts: UsageCounts = {
    sent: attempts.length,
    answered_first_try: attempts.filter((a) => a.outcomes[0] === '200').length,
    answered_after_retry: answered.filter((a) => a.outcomes[0] !== '200').length,
    never_answered: attempts.length - answered.length,
    stored: rows.length,
    lost: lost.length,
    duplicated_rows: [...byRequest.values()].filter((n) => n > 1).length,
    two_answers_for_one_request: attempts.filter((a) => a.answeredIds.size > 1).length,
    phantom_rows: rows.filter((r) => !gen.usage.has(r.request_id)).length,
    events: usageEvents.length,
    events_missing: rows.filter((r) => !eventsById.has(r.usage_record_id)).length,
    events_duplicated: [...eventsById.values()].filter((n) => n > 1).length,
    events_phantom: [...eventsById.keys()].filter((id) => !rowIds.has(id)).length,
    bucket_total_mismatches: totals.mismatched,
    unit_range_breaks: ranges.breaks,
  };
  checks.expect(
    'usage: every 200 answer is stored under its usage_record_id',
    counts.lost === 0,
    `${answered.length} answered, ${counts.lost} lost`,
  );
  checks.expect(
    'usage: one row per request_id',
    counts.duplicated_rows === 0,
    `${counts.stored} rows, ${counts.duplicated_rows} request_ids stored twice`,
  );
  checks.expect(
    'usage: a retried request_id answers the first usage_record_id',
    counts.two_answers_for_one_request === 0,
    `${counts.two_answers_for_one_request} request_ids answered with two different ids`,
  );
  checks.expect('usage: no row the suite did not send', counts.phantom_rows === 0, `${counts.phantom_rows} phantom rows`);
  checks.expect(
    'usage: exactly one product.usage.recorded per stored record',
    counts.events_missing === 0 && counts.events_duplicated === 0 && counts.events_phantom === 0,
    `${counts.events} events for ${counts.stored} rows: ${counts.events_missing} missing, ${counts.events_duplicated} duplicated, ${counts.events_phantom} without a row`,
  );
  checks.expect(
    'usage: running totals equal the stored records (no leaked increment)',
    counts.bucket_total_mismatches === 0,
    `${totals.buckets} buckets, ${counts.bucket_total_mismatches} mismatched`,
  );
  checks.expect(
    'usage: unit ranges tile each bucket (no unit counted twice or skipped)',
    counts.unit_range_breaks === 0,
    `${counts.unit_range_breaks} breaks`,
  );
  return counts;
}

export interface OutboxCounts {
  /** rows still in the outbox (a row is deleted once JetStream acknowledged it) */
  unpublished: number;
  on_stream: number;
  duplicated_on_stream: number;
  msg_id_mismatch: number;
}

/**
 * The outbox drained, and every message on the stream there once under Nats-Msg-Id = its id.
 * (That every stored change has its event is checked per table: usage records, subscriptions.)
 */
export async function checkOutbox(db: Db, events: StreamMessage[], checks: Checks, source = 'product_service'): Promise<OutboxCounts> {
  const pending = await db.one<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_events`);
  const published = events.filter((e) => e.subject.split('.')[1] === source);
  const byMsgId = countBy(published, (e) => e.msgId ?? `(none:${e.seq})`);
  const counts: OutboxCounts = {
    unpublished: pending.n,
    on_stream: published.length,
    duplicated_on_stream: [...byMsgId.values()].filter((n) => n > 1).length,
    msg_id_mismatch: published.filter((e) => e.msgId !== e.id).length,
  };
  checks.expect('outbox: relay caught up (nothing unpublished)', counts.unpublished === 0, `${counts.unpublished} rows left in the outbox`);
  checks.expect(
    'outbox: every published event on the stream exactly once (Nats-Msg-Id = id)',
    counts.duplicated_on_stream === 0 && counts.msg_id_mismatch === 0,
    `${counts.on_stream} messages: ${counts.duplicated_on_stream} ids twice, ${counts.msg_id_mismatch} Nats-Msg-Id != id`,
  );
  return counts;
}

export interface SubscriptionCounts {
  subscriptions: number;
  answered_creates: number;
  creates_lost: number;
  created_events_missing: number;
  created_events_duplicated: number;
  status_changes: number;
  illegal_transitions: number;
  broken_chains: number;
  final_status_mismatch: number;
  companion_mismatches: number;
  answered_changes: number;
  answered_changes_without_event: number;
  duplicated_event_ids: number;
  keys_with_two_subscriptions: number;
}

/**
 * Per subscription of the given users: one subscription.created; the subscription.status_changed
 * events, in stream order, form a chain of legal transitions from the created status to the status
 * in the database; activated / canceled / expired accompany each change to those statuses; every
 * change answered 200 is in the chain (in order).
 */
export async function checkSubscriptions(
  db: Db,
  userPrefix: string,
  events: StreamMessage[],
  checks: Checks,
  tracks?: LoadGenerator['subscriptions'],
): Promise<SubscriptionCounts> {
  const subs = await db.query<{ subscription_id: string; status: string }>(
    `SELECT subscription_id, status FROM subscriptions WHERE user_id LIKE $1`,
    [`${userPrefix}%`],
  );
  const ids = new Set(subs.map((s) => s.subscription_id));
  const mine = events.filter(
    (e) => typeof e.data.subscription_id === 'string' && ids.has(e.data.subscription_id) && e.subject.startsWith('events.product_service.'),
  );
  const byType = (type: string) => mine.filter((e) => e.type === type);
  const created = countBy(byType('subscription.created'), (e) => e.data.subscription_id as string);
  const createdStatus = new Map(byType('subscription.created').map((e) => [e.data.subscription_id as string, e.data.status as string]));
  const changes = new Map<string, StreamMessage[]>();
  for (const e of byType('subscription.status_changed')) {
    const id = e.data.subscription_id as string;
    changes.set(id, [...(changes.get(id) ?? []), e]);
  }
  let illegal = 0;
  let broken = 0;
  let finalMismatch = 0;
  let companion = 0;
  let answeredWithout = 0;
  let answered = 0;
  const examples: string[] = [];
  for (const s of subs) {
    const chain = (changes.get(s.subscription_id) ?? []).sort((a, b) => a.seq - b.seq);
    let status = createdStatus.get(s.subscription_id);
    for (const c of chain) {
      const from = c.data.old_status as string;
      const to = c.data.new_status as string;
      if (!isLegal(from, to)) {
        illegal++;
        if (examples.length < 5) examples.push(`${s.subscription_id}: illegal ${from} -> ${to}`);
      }
      if (status !== undefined && from !== status) {
        broken++;
        if (examples.length < 5) examples.push(`${s.subscription_id}: chain break, ${status} then ${from} -> ${to}`);
      }
      status = to;
    }
    if (status !== s.status) {
      finalMismatch++;
      if (examples.length < 5) examples.push(`${s.subscription_id}: events end at ${status}, database says ${s.status}`);
    }
    const to = (statuses: string[]) => chain.filter((c) => statuses.includes(c.data.new_status as string)).length;
    const companions = (type: string) => byType(type).filter((e) => e.data.subscription_id === s.subscription_id);
    const pairs = [
      ['activated', companions('subscription.activated'), to(['active'])],
      ['canceled', companions('subscription.canceled'), to(['canceled'])],
      ['expired', companions('subscription.expired'), to(['expired', 'incomplete_expired'])],
    ] as const;
    const off = pairs.filter(([, events, changes]) => events.length !== changes);
    if (off.length > 0) {
      companion++;
      // which way, and where on the stream: enough to tell a missing companion from an extra one, and a late one
      const detail = off
        .map(
          ([name, events, changes]) =>
            `${name} ${events.length} for ${changes} changes (seqs ${events.map((e) => e.seq).join(',') || '-'})`,
        )
        .join(', ');
      if (examples.length < 5)
        examples.push(
          `${s.subscription_id}: ${detail}; status_changed seqs ${chain.map((c) => `${c.seq}:${String(c.data.new_status)}`).join(',')}`,
        );
    }
    const track = tracks?.get(s.subscription_id);
    if (track) {
      let i = 0;
      for (const change of track.answeredChanges) {
        answered++;
        while (i < chain.length && !(chain[i].data.old_status === change.from && chain[i].data.new_status === change.to)) i++;
        if (i >= chain.length) {
          answeredWithout++;
          if (examples.length < 5)
            examples.push(`${s.subscription_id}: answered ${change.from} -> ${change.to} (${change.op}) has no event`);
        } else i++;
      }
    }
  }
  const twice = await db.one<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT metadata->>'chaos_key' FROM subscriptions WHERE user_id LIKE $1 AND metadata ? 'chaos_key'
       GROUP BY 1 HAVING count(*) > 1) x`,
    [`${userPrefix}%`],
  );
  const answeredCreates = tracks ? [...tracks.values()].filter((t) => t.createdStatus !== '') : [];
  const eventIds = countBy(mine, (e) => e.id);
  const counts: SubscriptionCounts = {
    subscriptions: subs.length,
    answered_creates: answeredCreates.length,
    creates_lost: answeredCreates.filter((t) => !ids.has(t.subscriptionId)).length,
    created_events_missing: subs.filter((s) => !created.has(s.subscription_id)).length,
    created_events_duplicated: [...created.values()].filter((n) => n > 1).length,
    status_changes: byType('subscription.status_changed').length,
    illegal_transitions: illegal,
    broken_chains: broken,
    final_status_mismatch: finalMismatch,
    companion_mismatches: companion,
    answered_changes: answered,
    answered_changes_without_event: answeredWithout,
    duplicated_event_ids: [...eventIds.values()].filter((n) => n > 1).length,
    keys_with_two_subscriptions: twice.n,
  };
  const ex = examples.length > 0 ? ` (e.g. ${examples.join('; ')})` : '';
  if (tracks)
    checks.expect(
      'subscriptions: every 200 create is stored',
      counts.creates_lost === 0,
      `${counts.answered_creates} answered, ${counts.creates_lost} lost`,
    );
  checks.expect(
    'subscriptions: one subscription per Idempotency-Key of a create (retries included)',
    counts.keys_with_two_subscriptions === 0,
    `${counts.keys_with_two_subscriptions} keys created two`,
  );
  checks.expect(
    'subscriptions: exactly one subscription.created each',
    counts.created_events_missing === 0 && counts.created_events_duplicated === 0,
    `${counts.subscriptions} subscriptions: ${counts.created_events_missing} without, ${counts.created_events_duplicated} with two`,
  );
  checks.expect(
    'subscriptions: status_changed events form legal, unbroken chains ending at the stored status',
    counts.illegal_transitions === 0 && counts.broken_chains === 0 && counts.final_status_mismatch === 0,
    `${counts.status_changes} changes: ${counts.illegal_transitions} illegal, ${counts.broken_chains} chain breaks, ${counts.final_status_mismatch} final mismatches${ex}`,
  );
  checks.expect(
    'subscriptions: one activated/canceled/expired per change to that status',
    counts.companion_mismatches === 0,
    `${counts.companion_mismatches} subscriptions off`,
  );
  if (tracks) {
    checks.expect(
      'subscriptions: every change answered 200 has its event',
      counts.answered_changes_without_event === 0,
      `${counts.answered_changes} answered changes, ${counts.answered_changes_without_event} without an event`,
    );
  }
  checks.expect('subscriptions: no event id twice', counts.duplicated_event_ids === 0, `${counts.duplicated_event_ids} ids twice`);
  return counts;
}
