import { loadChaosConfig, type ChaosConfig } from '../support/config.js';
import { ChaosEnvironment, PREFIX } from '../support/environment.js';
import { publishEvent, SOURCES } from '../support/events.js';
import { HttpClient, type HttpResult } from '../support/http.js';
import { outcomeKey, SUBSCRIPTIONS_PATH, Tally } from '../support/load.js';
import { sleep, waitFor } from '../support/proc.js';
import type { ScenarioResult } from '../support/report.js';
import { say } from '../support/run.js';
import { checkSubscriptions } from '../support/checks.js';
import { headlineOf, hold, report, scaled, startLoad, stopAndVerify } from '../support/scenario.js';
import { INTERNAL_HEADERS } from '../support/service.js';
import { STATUSES, TERMINAL } from '../support/transitions.js';

interface RaceRound {
  user: string;
  subscriptionId: string;
  events: { id: string; type: string }[];
  userDeleted: boolean;
  putAnswers: { to: string; status: number; result?: string }[];
}

/**
 * Scenario 5: races on one subscription, repeated: REST status changes (PUT /status, on both
 * replicas), cancel / resume, payment.completed, wallet.insufficient_funds and user.deleted for the
 * same subscription at once, plus a redelivered copy of the payment (same event id). Only legal
 * transitions (the status_changed chain against the SPEC table), one event per change, at most one
 * change per consumed event and subscription, the final state allowed, and a deleted user's
 * subscription ends terminal.
 */
export async function subscriptionRaces(
  config: ChaosConfig = loadChaosConfig(),
  options: { users?: number; rounds?: number } = {},
): Promise<ScenarioResult> {
  const startedAt = new Date();
  const env = await ChaosEnvironment.start('subscription-races', config, { replicas: 2 });
  const http = new HttpClient(256);
  try {
    await env.waitForConsumers();
    const gen = startLoad(env);
    await hold(env, gen, scaled(config, 3000), 'baseline');
    gen.phase = 'races';
    const users = Array.from({ length: options.users ?? Number(process.env.CHAOS_RACE_USERS ?? 20) }, (_, i) => `race_${env.run.id}_${i}`);
    const rounds = options.rounds ?? Number(process.env.CHAOS_RACE_ROUNDS ?? 5);
    const rest = new Tally();
    const played: RaceRound[] = [];
    let target = 0;
    const call = async (method: string, path: string, body?: unknown, key?: string): Promise<HttpResult> => {
      const targets = env.targets();
      const r = await http.request(targets[target++ % targets.length], method, path, {
        body,
        headers: { ...INTERNAL_HEADERS, ...(key ? { 'idempotency-key': key } : {}) },
        timeoutMs: config.timeoutMs,
      });
      rest.add(
        `${method} ${path
          .split('/')
          .slice(-1)[0]
          .replace(/^sub_.*/, '{id}')} ${outcomeKey(r)}${r.body?.error?.code ? ` ${r.body.error.code}` : ''}`,
      );
      return r;
    };
    const current = new Map<string, string>();
    for (let round = 0; round < rounds; round++) {
      const roundStarted = Date.now();
      await Promise.all(
        users.map(async (user, u) => {
          // a subscription to race on: the user's open one, or a new one
          let subId = current.get(user);
          if (!subId) {
            const plans = [
              { plan_id: 'tier_pro_001', trial: true },
              { plan_id: 'tier_pro_001', trial: false },
              { plan_id: 'tier_free_001' },
            ];
            const created = await call(
              'POST',
              SUBSCRIPTIONS_PATH,
              { user_id: user, ...plans[(round + u) % plans.length] },
              `race_${env.run.id}_${user}_${round}`,
            );
            if (created.status !== 200) return;
            subId = created.body.subscription_id as string;
            current.set(user, subId);
          }
          const targetsFor = STATUSES.filter((s) => s !== 'incomplete');
          const pick = () => targetsFor[Math.floor(Math.random() * targetsFor.length)];
          const userDeleted = Math.random() < 0.3;
          const rr: RaceRound = { user, subscriptionId: subId, events: [], userDeleted, putAnswers: [] };
          const publish = async (type: string, data: unknown, id?: string) => {
            const e = await publishEvent(env.bus, PREFIX, SOURCES[type], type, data, { id });
            rr.events.push({ id: e.id, type });
            return e.id;
          };
          const put = async (to: string) => {
            const r = await call('PUT', `${SUBSCRIPTIONS_PATH}/${subId}/status`, { status: to, reason: 'race' });
            rr.putAnswers.push({ to, status: r.status, result: r.body?.status });
          };
          const payment = publish('payment.completed', {
            payment_intent_id: `pi_${subId}_${round}`,
            user_id: user,
            metadata: { subscription_id: subId },
          });
          await Promise.all([
            put(pick()),
            put(pick()),
            payment,
            publish('wallet.insufficient_funds', { user_id: user, required_amount: '20.00', available_balance: '1.00' }),
            userDeleted ? publish('user.deleted', { user_id: user }) : Promise.resolve(),
            Math.random() < 0.5
              ? call('POST', `${SUBSCRIPTIONS_PATH}/${subId}/cancel`, { immediate: Math.random() < 0.3 }, `race_c_${subId}_${round}`)
              : call('POST', `${SUBSCRIPTIONS_PATH}/${subId}/resume`, undefined, `race_r_${subId}_${round}`),
            put(pick()),
          ]);
          // the payment again, same event id, no Nats-Msg-Id: a redelivery the inbox must absorb
          await publish(
            'payment.completed',
            { payment_intent_id: `pi_${subId}_${round}`, user_id: user, metadata: { subscription_id: subId } },
            await payment,
          );
          played.push(rr);
        }),
      );
      // wait until every event of the round is handled (in the inbox), then read where each subscription ended
      const ids = played.filter((p) => p.events.length > 0).flatMap((p) => p.events.map((e) => e.id));
      await waitFor(
        'round events handled',
        async () =>
          (await env.db.one<{ n: number }>(`SELECT count(DISTINCT event_id)::int AS n FROM inbox_events WHERE event_id = ANY($1)`, [ids]))
            .n >= new Set(ids).size,
        60_000,
        200,
      ).catch(() => say(env.run.scenario, `round ${round + 1}: not every event handled within 60 s`));
      const rows = await env.db.query<{ subscription_id: string; user_id: string; status: string }>(
        `SELECT subscription_id, user_id, status FROM subscriptions WHERE user_id LIKE $1`,
        [`race_${env.run.id}_%`],
      );
      for (const r of rows) if (current.get(r.user_id) === r.subscription_id && TERMINAL.has(r.status)) current.delete(r.user_id);
      say(env.run.scenario, `round ${round + 1}/${rounds}: ${users.length} subscriptions raced in ${Date.now() - roundStarted} ms`);
    }
    await sleep(500);
    const v = await stopAndVerify(env, gen);
    // the race subscriptions, on their own
    const race = await checkSubscriptions(env.db, `race_${env.run.id}_`, v.events, v.checks);
    const final = await env.db.query<{ subscription_id: string; status: string }>(
      `SELECT subscription_id, status FROM subscriptions WHERE user_id LIKE $1`,
      [`race_${env.run.id}_%`],
    );
    const statusOf = new Map(final.map((r) => [r.subscription_id, r.status]));
    const ids = played.flatMap((p) => p.events.map((e) => e.id));
    const handled = await env.db.one<{ n: number }>(
      `SELECT count(DISTINCT event_id)::int AS n FROM inbox_events WHERE event_id = ANY($1)`,
      [ids],
    );
    v.checks.expect(
      'races: every consumed event handled',
      handled.n === new Set(ids).size,
      `${new Set(ids).size} distinct events, ${handled.n} in the inbox`,
    );
    // at most one status change per (consumed event, subscription): a redelivery never acts twice
    const caused = new Map<string, number>();
    for (const e of v.events) {
      if (e.type !== 'subscription.status_changed' || !e.correlationId) continue;
      const key = `${e.correlationId}|${String(e.data.subscription_id)}`;
      caused.set(key, (caused.get(key) ?? 0) + 1);
    }
    const twice = [...caused.values()].filter((n) => n > 1).length;
    v.checks.expect(
      'races: at most one status change per consumed event and subscription',
      twice === 0,
      `${caused.size} event-caused changes, ${twice} doubled`,
    );
    // every PUT answered 200 has a status_changed event to its status
    const changesTo = new Map<string, number>();
    for (const e of v.events) {
      if (e.type === 'subscription.status_changed') {
        const k = `${String(e.data.subscription_id)}|${String(e.data.new_status)}`;
        changesTo.set(k, (changesTo.get(k) ?? 0) + 1);
      }
    }
    const answeredTo = new Map<string, number>();
    for (const p of played)
      for (const a of p.putAnswers)
        if (a.status === 200) answeredTo.set(`${p.subscriptionId}|${a.to}`, (answeredTo.get(`${p.subscriptionId}|${a.to}`) ?? 0) + 1);
    const unmatched = [...answeredTo.entries()].filter(([k, n]) => (changesTo.get(k) ?? 0) < n).length;
    v.checks.expect(
      'races: every PUT answered 200 has its status_changed event',
      unmatched === 0,
      `${[...answeredTo.values()].reduce((a, b) => a + b, 0)} PUTs answered 200, ${unmatched} without a matching event`,
    );
    // 409 when the race made the transition illegal; 503 when the service was too busy to serve it (overload): both clean
    const putAnswers = played.flatMap((p) => p.putAnswers);
    const putOther = putAnswers.filter((a) => ![200, 409, 503].includes(a.status));
    const putTally = new Tally();
    for (const a of putAnswers) putTally.add(String(a.status));
    v.checks.expect(
      'races: a PUT that did not apply is 409 (ILLEGAL_TRANSITION) or 503, never another 5xx or no answer',
      putOther.length === 0,
      `PUT answers ${JSON.stringify(putTally.counts)} (0 = no answer within the timeout)`,
    );
    const deletedNotTerminal = played.filter((p) => p.userDeleted && !TERMINAL.has(statusOf.get(p.subscriptionId) ?? 'canceled'));
    v.checks.expect(
      'races: the subscription of a deleted user ends terminal',
      deletedNotTerminal.length === 0,
      `${played.filter((p) => p.userDeleted).length} rounds with user.deleted, ${deletedNotTerminal.length} subscriptions left open${deletedNotTerminal.length ? ` (e.g. ${deletedNotTerminal[0].subscriptionId}: ${statusOf.get(deletedNotTerminal[0].subscriptionId)})` : ''}`,
    );
    const finalStatuses = new Tally();
    for (const r of final) finalStatuses.add(r.status);
    v.checks.note('race subscriptions final statuses', JSON.stringify(finalStatuses.counts));
    const headline = headlineOf(
      gen,
      v,
      `${config.rate}/s, ${Math.round(gen.offered / config.rate)} s`,
      `${rounds} rounds × ${users.length} raced subscriptions`,
    );
    return report(
      env,
      'Scenario 5: races on one subscription (REST, payment, insufficient funds, user deleted)',
      startedAt,
      headline,
      v.checks,
      {
        load: gen.summary(),
        rest: rest.counts,
        race_subscriptions: race,
        race_events_published: ids.length,
        final_statuses: finalStatuses.counts,
        usage: v.usage,
        outbox: v.outbox,
        subscriptions: v.subscriptions,
      },
    );
  } finally {
    http.close();
    await env.close();
  }
}
