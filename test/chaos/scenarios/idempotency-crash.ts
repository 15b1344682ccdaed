import { loadChaosConfig, type ChaosConfig } from '../support/config.js';
import { ChaosEnvironment } from '../support/environment.js';
import { HttpClient, type HttpResult } from '../support/http.js';
import { outcomeKey, SUBSCRIPTIONS_PATH, Tally, USAGE_PATH } from '../support/load.js';
import { sleep, waitFor } from '../support/proc.js';
import type { ScenarioResult } from '../support/report.js';
import { say } from '../support/run.js';
import { hold, report, scaled, startLoad, stopAndVerify } from '../support/scenario.js';
import { INTERNAL_HEADERS } from '../support/service.js';

interface KeyedRequest {
  key: string;
  kind: 'usage' | 'subscription';
  path: string;
  body: Record<string, unknown>;
  answers: { phase: string; outcome: string; replayed: boolean; id?: string; code?: string }[];
}

const idOf = (r: HttpResult): string | undefined => (r.body?.usage_record_id ?? r.body?.subscription_id) as string | undefined;

/**
 * Scenario 6: the Idempotency-Key crash window. A burst of keyed POSTs (usage records WITHOUT a
 * request_id, so the key is their only protection, and subscription creates) is in flight when the
 * service is killed -9. After the restart every key is retried with the same body until it gets a
 * final answer: each must replay or redo exactly once (one effect per key). Then, optionally, a
 * late retry: the claims left `in_progress` by the dead process are aged past the service's
 * 5-minute takeover (a client retrying 6 minutes later; simulated in the idempotency_keys table)
 * and every key is sent once more: still one effect per key.
 */
export async function idempotencyCrash(config: ChaosConfig = loadChaosConfig()): Promise<ScenarioResult> {
  const startedAt = new Date();
  const env = await ChaosEnvironment.start('idempotency-crash', config, { replicas: 1 });
  const http = new HttpClient(512);
  try {
    const service = env.services[0];
    const gen = startLoad(env);
    await hold(env, gen, scaled(config, 4000), 'baseline');
    const count = Number(process.env.CHAOS_IDEM_KEYS ?? 300);
    const requests: KeyedRequest[] = Array.from({ length: count }, (_, i) => {
      const key = `idem_${env.run.id}_${i}`;
      return i % 2 === 0
        ? {
            key,
            kind: 'usage',
            path: USAGE_PATH,
            body: {
              user_id: `idem_${env.run.id}_u${i % 20}`,
              product_id: 'gpt-4o',
              usage_amount: 1 + i,
              usage_details: { chaos_key: key },
            },
            answers: [],
          }
        : {
            key,
            kind: 'subscription',
            path: SUBSCRIPTIONS_PATH,
            body: { user_id: `idem_${env.run.id}_s${i}`, plan_id: 'tier_pro_001', trial: true, metadata: { chaos_key: key } },
            answers: [],
          };
    });
    let inFlight = 0;
    const send = async (r: KeyedRequest, phase: string): Promise<HttpResult> => {
      inFlight++;
      const res = await http
        .request(service.baseUrl, 'POST', r.path, {
          body: r.body,
          headers: { ...INTERNAL_HEADERS, 'idempotency-key': r.key },
          timeoutMs: config.timeoutMs,
        })
        .finally(() => inFlight--);
      r.answers.push({
        phase,
        outcome: outcomeKey(res),
        replayed: res.headers['idempotent-replayed'] === 'true',
        id: res.status === 200 ? idOf(res) : undefined,
        code: res.body?.error?.code,
      });
      return res;
    };
    // the burst, spread over ~2 s; the kill when the crash window is open: some keyed requests sent and
    // not answered (claimed, mid-effect: a claim may be committed `in_progress`, or held in an open
    // transaction and invisible, depending on how the service stores it), some keys completed
    gen.phase = 'burst';
    const spread = scaled(config, 2000);
    const burst = Promise.all(
      requests.map(async (r, i) => {
        await sleep((i / count) * spread);
        await send(r, 'burst');
      }),
    );
    const claims = async () =>
      env.db.one<{ in_progress: number; completed: number }>(
        `SELECT count(*) FILTER (WHERE state = 'in_progress')::int AS in_progress, count(*) FILTER (WHERE state = 'completed')::int AS completed
         FROM idempotency_keys WHERE key LIKE $1`,
        [`idem_${env.run.id}_%`],
      );
    const window = await waitFor(
      'keys in the crash window',
      async () => {
        const c = await claims();
        return inFlight >= Math.max(5, count * 0.05) && c.completed >= 1 ? { ...c, in_flight: inFlight } : undefined;
      },
      spread + 15_000,
      20,
    ).catch(async () => ({ ...(await claims()), in_flight: inFlight }));
    say(
      env.run.scenario,
      `kill -9 with ${window.in_flight} keyed requests in flight, ${window.in_progress} claims committed in_progress, ${window.completed} completed (${requests.filter((r) => r.answers.length === 0).length} of ${count} unanswered)`,
    );
    await service.kill9();
    await burst;
    await sleep(scaled(config, 1000));
    await service.start(60_000, { underLoad: true });
    gen.phase = 'after_restart';
    // retry every key until a final answer (not a connection error, 503 or IN_PROGRESS) or the deadline
    const deadline = Date.now() + scaled(config, 30_000);
    const unresolved = new Set(requests.filter((r) => r.answers[r.answers.length - 1]?.outcome !== '200'));
    say(env.run.scenario, `restarted; retrying ${unresolved.size} keys for up to ${Math.round((deadline - Date.now()) / 1000)} s`);
    while (unresolved.size > 0 && Date.now() < deadline) {
      await Promise.all(
        [...unresolved].map(async (r) => {
          const res = await send(r, 'retry');
          const inProgress = res.body?.error?.code === 'IDEMPOTENCY_KEY_IN_PROGRESS';
          if (res.outcome === 'http' && res.status !== 503 && !inProgress) unresolved.delete(r);
        }),
      );
      if (unresolved.size > 0) await sleep(500);
    }
    const effectsBeforeLate = await effectCounts(env, `idem_${env.run.id}_%`);
    const late = !['0', 'false', 'off'].includes((process.env.CHAOS_IDEM_LATE ?? 'on').toLowerCase());
    let aged = 0;
    if (late) {
      // a client retrying after 6 minutes: the service takes over claims older than 5 minutes
      const rows = await env.db.query(
        `UPDATE idempotency_keys SET created_at = created_at - interval '6 minutes' WHERE state = 'in_progress' AND key LIKE $1 RETURNING key`,
        [`idem_${env.run.id}_%`],
      );
      aged = rows.length;
      say(env.run.scenario, `late retry: ${aged} claims still in_progress, aged 6 minutes; every key sent once more`);
      await Promise.all(
        requests.map(async (r) => {
          for (let i = 0; i < 10; i++) {
            const res = await send(r, 'late');
            if (res.outcome === 'http' && res.status !== 503) return;
            await sleep(500);
          }
        }),
      );
    }
    const v = await stopAndVerify(env, gen);
    v.checks.expect(
      'idempotency: the restarted process is ready (200) within 60 s under load',
      service.notReadyStarts.length === 0,
      service.notReadyStarts.map((n) => JSON.stringify(n.readiness)).join('; ') || 'ready',
    );
    // effects per key, straight from the tables
    const effectsNow = await effectCounts(env, `idem_${env.run.id}_%`);
    const effects = (r: KeyedRequest, at = effectsNow) => at.get(r.key) ?? 0;
    const beforeLate = (r: KeyedRequest) => r.answers.filter((a) => a.phase !== 'late');
    const classes = new Tally();
    for (const r of requests) {
      const a = beforeLate(r);
      const first = a[0];
      const last = a[a.length - 1];
      const firstOk = first?.outcome === '200';
      classes.add(
        `${r.kind}: ${firstOk ? 'answered before the kill' : `first ${first?.outcome ?? 'none'}`} -> ${
          last.outcome === '200'
            ? last.replayed
              ? 'replayed'
              : firstOk
                ? 'answered'
                : 'redone/first run'
            : `${last.outcome}${last.code ? ` ${last.code}` : ''}`
        }`,
      );
    }
    const twice = requests.filter((r) => effects(r, effectsBeforeLate) > 1);
    const answeredNoEffect = requests.filter((r) => beforeLate(r).some((a) => a.outcome === '200') && effects(r, effectsBeforeLate) === 0);
    const twoIds = requests.filter(
      (r) =>
        new Set(
          beforeLate(r)
            .map((a) => a.id)
            .filter(Boolean),
        ).size > 1,
    );
    const stuck = requests.filter((r) => {
      const a = beforeLate(r);
      return a[a.length - 1]?.outcome !== '200' && a[a.length - 1]?.code === 'IDEMPOTENCY_KEY_IN_PROGRESS';
    });
    const notFinal = requests.filter((r) => {
      const last = beforeLate(r)[beforeLate(r).length - 1];
      return last?.outcome !== '200';
    });
    v.checks.expect(
      'idempotency: at most one effect per key (before the late retry)',
      twice.length === 0 || late,
      `${twice.length} keys with two effects`,
    );
    v.checks.expect(
      'idempotency: a key answered 200 has its effect',
      answeredNoEffect.length === 0,
      `${answeredNoEffect.length} answered keys without an effect`,
    );
    v.checks.expect(
      'idempotency: every answer for one key names the same record',
      twoIds.length === 0,
      `${twoIds.length} keys answered with two different ids`,
    );
    v.checks.expect(
      'idempotency: after the restart every key gets a final answer (replay or redo) within the retry window',
      notFinal.length === 0,
      `${notFinal.length} of ${count} keys without a 200 after ${Math.round(scaled(config, 30_000) / 1000)} s of retries, ${stuck.length} of them IDEMPOTENCY_KEY_IN_PROGRESS`,
    );
    if (late) {
      const lateTwice = requests.filter((r) => effects(r) > 1);
      const lateClasses = new Tally();
      for (const r of requests) {
        const a = r.answers.filter((x) => x.phase === 'late').pop();
        if (a) lateClasses.add(`${r.kind}: ${a.outcome}${a.replayed ? ' replayed' : ''}${a.code ? ` ${a.code}` : ''}`);
      }
      v.checks.expect(
        'idempotency: still one effect per key after a late retry (claims left by the dead process taken over after 5 min; simulated)',
        lateTwice.length === 0,
        `${aged} claims were still in_progress; after the late retry ${lateTwice.filter((r) => r.kind === 'usage').length} usage keys and ${lateTwice.filter((r) => r.kind === 'subscription').length} subscription keys have two effects; late answers ${JSON.stringify(lateClasses.counts)}`,
      );
    }
    const effectsTotal = [...effectsNow.values()].reduce((a, b) => a + b, 0);
    const headline = {
      load: `${config.rate}/s background + ${count} keyed POSTs`,
      fault: 'kill -9 during the keyed burst',
      answered: requests.filter((r) => r.answers.some((a) => a.outcome === '200')).length,
      stored: effectsTotal,
      events: v.usage.events,
      lost: answeredNoEffect.length + v.usage.lost + v.usage.events_missing,
      duplicated:
        requests.filter((r) => effects(r) > 1).length + v.usage.duplicated_rows + v.usage.events_duplicated + v.outbox.duplicated_on_stream,
    };
    return report(env, 'Scenario 6: Idempotency-Key crash window', startedAt, headline, v.checks, {
      load: gen.summary(),
      keys: count,
      outcome_classes: classes.counts,
      aged_claims: aged,
      crash_window_at_kill: window,
      keys_with_two_effects: requests
        .filter((r) => effects(r) > 1)
        .map((r) => r.key)
        .slice(0, 20),
      usage: v.usage,
      outbox: v.outbox,
      subscriptions: v.subscriptions,
    });
  } finally {
    http.close();
    await env.close();
  }
}

/** Effects per Idempotency-Key: usage records and subscriptions carrying it (usage_details / metadata chaos_key). */
async function effectCounts(env: ChaosEnvironment, like: string): Promise<Map<string, number>> {
  const rows = await env.db.query<{ k: string; n: number }>(
    `SELECT usage_details->>'chaos_key' AS k, count(*)::int AS n FROM usage_records WHERE usage_details->>'chaos_key' LIKE $1 GROUP BY 1
     UNION ALL
     SELECT metadata->>'chaos_key' AS k, count(*)::int AS n FROM subscriptions WHERE metadata->>'chaos_key' LIKE $1 GROUP BY 1`,
    [like],
  );
  return new Map(rows.map((r) => [r.k, r.n]));
}
