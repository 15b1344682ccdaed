import { loadChaosConfig, type ChaosConfig } from '../support/config.js';
import { ChaosEnvironment } from '../support/environment.js';
import { sleep } from '../support/proc.js';
import { KEY_RETRY_MS } from '../support/load.js';
import { say } from '../support/run.js';
import { headlineOf, hold, report, scaled, startLoad, stopAndVerify } from '../support/scenario.js';
import type { ScenarioResult } from '../support/report.js';

/**
 * Scenario 1: kill -9 of a service process under load, then restart; the two replicas in turn.
 * Every 200 is stored; every stored change has exactly one event; requests in flight fail as
 * connection errors (never a 5xx, never a hang past the timeout); their retries with the same
 * request_id / Idempotency-Key have one effect.
 */
export async function serviceKill(
  config: ChaosConfig = loadChaosConfig(),
  options: { kills?: number; replicas?: number; name?: string } = {},
): Promise<ScenarioResult> {
  const startedAt = new Date();
  const replicas = options.replicas ?? 2;
  const env = await ChaosEnvironment.start(options.name ?? 'service-kill', config, { replicas });
  try {
    const gen = startLoad(env);
    await hold(env, gen, scaled(config, 8000), 'baseline');
    const kills: { service: string; downMs: number; restartMs: number }[] = [];
    const killCount = options.kills ?? 2;
    for (let i = 0; i < killCount; i++) {
      const victim = env.services[i % replicas];
      gen.phase = `kill${i + 1}`;
      say(env.run.scenario, `kill -9 ${victim.name} (pid ${victim.pid}) with ${gen.inflight} requests in flight`);
      const killedAt = Date.now();
      await victim.kill9();
      await sleep(scaled(config, 2000));
      await victim.start(60_000, { underLoad: true });
      const restartMs = Date.now() - killedAt;
      kills.push({ service: victim.name, downMs: scaled(config, 2000), restartMs });
      say(env.run.scenario, `${victim.name} back (pid ${victim.pid}) ${restartMs} ms after the kill`);
      gen.phase = `after_kill${i + 1}`;
      await hold(env, gen, scaled(config, 6000), `after kill ${i + 1}`);
    }
    const v = await stopAndVerify(env, gen, undefined, { retry: 'all' });
    // every write that did not succeed failed cleanly: a connection error (the process was gone) or a 503
    const writes = [gen.total('usage'), gen.total('usage_retry'), gen.total('sub')];
    const unclean: Record<string, number> = {};
    for (const t of writes) {
      for (const [k, n] of Object.entries(t.counts)) {
        if (k === '200' || k === 'refused' || k === 'reset' || k === '503' || /^4\d\d$/.test(k)) continue;
        unclean[k] = (unclean[k] ?? 0) + n;
      }
    }
    v.checks.expect(
      'kill: a write that failed failed cleanly (connection error or 503; no other 5xx, no client error)',
      Object.keys(unclean).length === 0,
      `unclean: ${JSON.stringify(unclean)}; usage ${JSON.stringify(gen.total('usage').counts)}, subscription ops ${JSON.stringify(gen.total('sub').counts)}`,
    );
    const timeouts = {
      usage: gen.total('usage').get('timeout') + gen.total('usage_retry').get('timeout'),
      subscriptions: gen.total('sub').get('timeout'),
    };
    v.checks.expect(
      'kill: no request waited past its timeout',
      timeouts.usage + timeouts.subscriptions === 0,
      `${JSON.stringify(timeouts)} timeouts (${config.timeoutMs} ms)`,
    );
    const gaveUp = Object.entries(v.retries)
      .filter(([k]) => k.startsWith('gave_up'))
      .reduce((a, [, n]) => a + n, 0);
    v.checks.expect('kill: every unanswered usage record was answered on retry', gaveUp === 0, JSON.stringify(v.retries));
    const actors = gen.actorSummary();
    const inProgress = Object.entries(gen.codes.counts)
      .filter(([k]) => k.endsWith('IDEMPOTENCY_KEY_IN_PROGRESS'))
      .reduce((a, [, n]) => a + n, 0);
    v.checks.expect(
      'kill: a POST retried with its Idempotency-Key after the restart gets an answer',
      (actors.key_stuck_in_progress ?? 0) === 0,
      `${actors.key_stuck_in_progress ?? 0} keys still IDEMPOTENCY_KEY_IN_PROGRESS after ${KEY_RETRY_MS / 1000} s of retries (${inProgress} such 409 answers)`,
    );
    const notReady = env.services.flatMap((s) => s.notReadyStarts.map((n) => `${s.name}: ${JSON.stringify(n.readiness)}`));
    v.checks.expect(
      'kill: a restarted process is ready (200) within 60 s under load',
      notReady.length === 0,
      notReady.join('; ') || 'every restart ready',
    );
    for (const s of env.services) {
      const errors = s.errorLines().length;
      v.checks.note(`${s.name} log`, `${errors} error/fatal lines, started ${s.starts} times`);
    }
    const headline = headlineOf(
      gen,
      v,
      `${config.rate}/s, ${Math.round(gen.offered / config.rate)} s`,
      `kill -9 × ${killCount} of ${replicas} replicas`,
    );
    return report(env, 'Scenario 1: service kill -9 under load', startedAt, headline, v.checks, {
      load: gen.summary(),
      kills,
      retries: v.retries,
      usage: v.usage,
      outbox: v.outbox,
      subscriptions: v.subscriptions,
      drain_ms: v.drainMs,
    });
  } finally {
    await env.close();
  }
}
