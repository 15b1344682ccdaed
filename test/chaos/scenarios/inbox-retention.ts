import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { loadChaosConfig, type ChaosConfig } from '../support/config.js';
import { ChaosEnvironment, PREFIX, STREAM } from '../support/environment.js';
import { publishEvent, SOURCES } from '../support/events.js';
import { HttpClient } from '../support/http.js';
import { SUBSCRIPTIONS_PATH, Tally } from '../support/load.js';
import { sleep, waitFor } from '../support/proc.js';
import type { ScenarioResult } from '../support/report.js';
import { say } from '../support/run.js';
import { headlineOf, hold, report, scaled, startLoad, stopAndVerify } from '../support/scenario.js';
import { INTERNAL_HEADERS } from '../support/service.js';

const DURABLES = ['product_service_payment_completed', 'product_service_wallet_insufficient_funds', 'product_service_user_deleted'];

/** Parses "7d", "36h", "90m", "30s" or milliseconds into ms (the scenario's own knob, not the service's parser). */
function durationMs(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new Error(`bad duration ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return Number(m[1]) * unit;
}

/**
 * Scenario 7: retention of the inbox. Consumed events take effect (payment → active; insufficient
 * funds → past_due); REST then moves each subscription on (past_due; active); the inbox rows are
 * aged to points inside the retention window (simulated: received_at moved back, as if the events
 * had arrived that long ago), the service is restarted (a pruner that runs at start or on a timer
 * gets its chance), and every event is redelivered with its original id. Inside the window each
 * redelivery must change nothing and publish nothing. Rows aged beyond the window are reported
 * (pruned or not), never required.
 *
 * CHAOS_INBOX_RETENTION (default 7d): the window the service is configured with (passed as
 * INBOX_RETENTION). CHAOS_INBOX_WAIT_S (default 5): how long the restarted service runs before the
 * redeliveries.
 */
export async function inboxRetention(config: ChaosConfig = loadChaosConfig()): Promise<ScenarioResult> {
  const startedAt = new Date();
  const retention = process.env.CHAOS_INBOX_RETENTION ?? '7d';
  const windowMs = durationMs(retention);
  const env = await ChaosEnvironment.start('inbox-retention', config, { replicas: 1, serviceEnv: { INBOX_RETENTION: retention } });
  const http = new HttpClient(128);
  try {
    const service = env.services[0];
    await env.waitForConsumers();
    const gen = startLoad(env);
    await hold(env, gen, scaled(config, 3000), 'baseline');
    const n = Number(process.env.CHAOS_INBOX_SUBS ?? 40);
    const api = (method: string, path: string, body?: unknown) =>
      http.request(service.baseUrl, method, path, { body, headers: INTERNAL_HEADERS, timeoutMs: config.timeoutMs });
    // 1. subscriptions: half incomplete (to be paid), half active (to run out of funds)
    const subs: { user: string; id: string; path: 'payment' | 'wallet'; event?: string }[] = [];
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const user = `inbox_${env.run.id}_${i}`;
        const path = i % 2 === 0 ? 'payment' : 'wallet';
        // a 503 under the background load is retried (no key needed: a second create would be 409 SUBSCRIPTION_EXISTS)
        for (let attempt = 0; attempt < 10; attempt++) {
          const r = await api('POST', SUBSCRIPTIONS_PATH, {
            user_id: user,
            ...(path === 'payment' ? { plan_id: 'tier_pro_001', trial: false } : { plan_id: 'tier_free_001' }),
          });
          if (r.status === 200) {
            subs.push({ user, id: r.body.subscription_id, path });
            return;
          }
          if (r.status !== 503 && r.outcome === 'http') return;
          await sleep(500);
        }
      }),
    );
    // 2. the consumed events take effect
    for (const s of subs) {
      const type = s.path === 'payment' ? 'payment.completed' : 'wallet.insufficient_funds';
      const data =
        s.path === 'payment'
          ? { payment_intent_id: `pi_${s.id}`, user_id: s.user, metadata: { subscription_id: s.id } }
          : { user_id: s.user };
      s.event = (await publishEvent(env.bus, PREFIX, SOURCES[type], type, data, { id: randomUUID() })).id;
    }
    const eventIds = subs.map((s) => s.event!);
    await waitFor(
      'events handled',
      async () =>
        (await env.db.one<{ n: number }>(`SELECT count(*)::int AS n FROM inbox_events WHERE event_id = ANY($1)`, [eventIds])).n ===
        eventIds.length,
      60_000,
      200,
    );
    const afterEvents = await statuses(
      env,
      subs.map((s) => s.id),
    );
    // 3. REST moves each one on: paid ones fall past_due, the past_due ones are paid again
    await Promise.all(
      subs.map(async (s) => {
        for (let attempt = 0; attempt < 10; attempt++) {
          const r = await api('PUT', `${SUBSCRIPTIONS_PATH}/${s.id}/status`, {
            status: s.path === 'payment' ? 'past_due' : 'active',
            reason: 'moved on',
          });
          if (r.status !== 503 && r.outcome === 'http') return;
          await sleep(500);
        }
      }),
    );
    const before = await statuses(
      env,
      subs.map((s) => s.id),
    );
    // 4. age the inbox rows to points inside the window (and a few beyond it)
    const ages = subs.map((_, i) => (i % 5 === 4 ? windowMs * 1.5 : ((i % 4) + 1) * (windowMs / 5)));
    for (const [i, s] of subs.entries()) {
      await env.db.query(`UPDATE inbox_events SET received_at = now() - ($2::bigint * interval '1 millisecond') WHERE event_id = $1`, [
        s.event,
        Math.round(ages[i]),
      ]);
    }
    const inside = subs.filter((_, i) => ages[i] < windowMs);
    const beyond = subs.filter((_, i) => ages[i] >= windowMs);
    say(
      env.run.scenario,
      `inbox rows aged: ${inside.length} inside the ${retention} window, ${beyond.length} beyond it; restarting the service`,
    );
    gen.phase = 'restart';
    await service.stop();
    await service.start(60_000, { underLoad: true });
    await env.waitForConsumers();
    gen.phase = 'redelivery';
    await hold(env, gen, scaled(config, Number(process.env.CHAOS_INBOX_WAIT_S ?? 5) * 1000), 'restarted service running');
    const remaining = new Set(
      (await env.db.query<{ event_id: string }>(`SELECT event_id FROM inbox_events WHERE event_id = ANY($1)`, [eventIds])).map(
        (r) => r.event_id,
      ),
    );
    // 5. redeliver every event with its original id (no Nats-Msg-Id: as after the stream's duplicate window)
    const redeliveredAt = new Date();
    for (const s of subs) {
      const type = s.path === 'payment' ? 'payment.completed' : 'wallet.insufficient_funds';
      const data =
        s.path === 'payment'
          ? { payment_intent_id: `pi_${s.id}`, user_id: s.user, metadata: { subscription_id: s.id } }
          : { user_id: s.user };
      await publishEvent(env.bus, PREFIX, SOURCES[type], type, data, { id: s.event });
    }
    // handled = the consumers have nothing pending or unacknowledged
    const jsm = await jetstreamManager(env.bus);
    await waitFor(
      'redeliveries consumed',
      async () => {
        for (const d of DURABLES) {
          const c = await jsm.consumers.info(STREAM, d);
          if (c.num_pending > 0 || c.num_ack_pending > 0) return false;
        }
        return true;
      },
      60_000,
      250,
    );
    await sleep(500);
    const after = await statuses(
      env,
      subs.map((s) => s.id),
    );
    const v = await stopAndVerify(env, gen);
    const caused = v.events.filter((e) => e.correlationId && eventIds.includes(e.correlationId) && e.seq > 0);
    // events caused by the redeliveries of ids inside the window (those beyond it may apply again once pruned)
    const causedAfter = await env.db.one<{ n: number }>(
      `SELECT count(*)::int AS n FROM outbox_events WHERE created_at >= $1 AND envelope->'metadata'->>'correlation_id' = ANY($2)`,
      [redeliveredAt, inside.map((s) => s.event)],
    );
    const changedInside = inside.filter((s) => after.get(s.id) !== before.get(s.id));
    const changedBeyond = beyond.filter((s) => after.get(s.id) !== before.get(s.id));
    const effectTally = new Tally();
    for (const s of subs)
      effectTally.add(`${s.path}: ${afterEvents.get(s.id)} -> REST ${before.get(s.id)} -> after redelivery ${after.get(s.id)}`);
    v.checks.expect(
      'inbox: the first deliveries took effect',
      subs.every((s) => afterEvents.get(s.id) === (s.path === 'payment' ? 'active' : 'past_due')),
      JSON.stringify(effectTally.counts),
    );
    v.checks.expect(
      `inbox: a redelivery inside the ${retention} window changes nothing`,
      changedInside.length === 0,
      `${inside.length} redelivered inside the window, ${changedInside.length} subscriptions changed`,
    );
    v.checks.expect(
      `inbox: a redelivery inside the window publishes nothing`,
      causedAfter.n === 0,
      `${causedAfter.n} events caused by the redeliveries (${caused.length} caused by these ids in all)`,
    );
    v.checks.note(
      'inbox: rows aged beyond the window',
      `${beyond.length} rows; ${beyond.filter((s) => remaining.has(s.event!)).length} still present after the restart (pruning ${beyond.some((s) => !remaining.has(s.event!)) ? 'active' : 'not seen'}); ${changedBeyond.length} of those subscriptions changed on redelivery`,
    );
    v.checks.note(
      'inbox: rows inside the window still present',
      `${inside.filter((s) => remaining.has(s.event!)).length} of ${inside.length}`,
    );
    const headline = headlineOf(
      gen,
      v,
      `${config.rate}/s, ${Math.round(gen.offered / config.rate)} s`,
      `${subs.length} events redelivered after aging (window ${retention}) and a restart`,
    );
    return report(env, 'Scenario 7: inbox retention (redeliveries inside the window)', startedAt, headline, v.checks, {
      load: gen.summary(),
      retention,
      subscriptions_raced: subs.length,
      transitions: effectTally.counts,
      inside_window: inside.length,
      beyond_window: beyond.length,
      usage: v.usage,
      outbox: v.outbox,
      subscriptions: v.subscriptions,
    });
  } finally {
    http.close();
    await env.close();
  }
}

async function statuses(env: ChaosEnvironment, ids: string[]): Promise<Map<string, string>> {
  const rows = await env.db.query<{ subscription_id: string; status: string }>(
    `SELECT subscription_id, status FROM subscriptions WHERE subscription_id = ANY($1)`,
    [ids],
  );
  return new Map(rows.map((r) => [r.subscription_id, r.status]));
}
