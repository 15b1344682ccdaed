import { loadChaosConfig, type ChaosConfig } from '../support/config.js';
import { ChaosEnvironment } from '../support/environment.js';
import { HealthSampler } from '../support/health.js';
import { sleep, waitFor } from '../support/proc.js';
import type { ScenarioResult } from '../support/report.js';
import { say } from '../support/run.js';
import { headlineOf, hold, report, scaled, startLoad, stopAndVerify } from '../support/scenario.js';

/**
 * Scenario 2: PostgreSQL fast shutdown, then kill -9 of the postmaster, under load; each time
 * restarted after a few seconds. /health/ready turns 503 and back without a service restart;
 * nothing answered is lost; every write that cannot be served is a 503 (never a 500, never a
 * dropped connection); no request waits past its timeout.
 */
export async function postgresOutage(config: ChaosConfig = loadChaosConfig()): Promise<ScenarioResult> {
  const startedAt = new Date();
  const env = await ChaosEnvironment.start('postgres-outage', config, { replicas: 1 });
  try {
    const service = env.services[0];
    const pid = service.pid;
    // the deployment's readiness probe: timeoutSeconds 3 (deploy/k8s/deployment.yaml)
    const ready = new HealthSampler(() => `${service.healthUrl}/health/ready`, 200, 3000).start();
    const gen = startLoad(env);
    await hold(env, gen, scaled(config, 6000), 'baseline');
    const outages: Record<string, unknown>[] = [];
    for (const fault of ['fast_shutdown', 'postmaster_kill9'] as const) {
      gen.phase = fault;
      ready.phase = fault;
      const at = Date.now();
      if (fault === 'fast_shutdown') {
        say(env.run.scenario, `pg_ctl stop -m fast with ${gen.inflight} requests in flight`);
        await env.pg.stopFast();
      } else {
        say(env.run.scenario, `kill -9 of the postmaster with ${gen.inflight} requests in flight`);
        const killed = await env.pg.killPostmaster();
        outages.push({ fault, orphans_killed_after_15s: killed.orphansKilled });
      }
      const down = scaled(config, 5000);
      await hold(env, gen, down, `${fault} (database down)`);
      const notReadyAfterMs = ready.firstAfter(at, 503) ?? ready.firstAfter(at, 0);
      await env.pg.start();
      const upAt = Date.now();
      gen.phase = `after_${fault}`;
      ready.phase = `after_${fault}`;
      const readyAgain = await waitFor(
        'readiness back to 200',
        () => (ready.firstAfter(upAt, 200) !== undefined ? true : undefined),
        30_000,
      ).then(
        () => ready.firstAfter(upAt, 200),
        () => undefined,
      );
      outages.push({ fault, down_ms: Date.now() - at, ready_503_after_ms: notReadyAfterMs, ready_200_after_restart_ms: readyAgain });
      say(
        env.run.scenario,
        `${fault}: ready 503 after ${notReadyAfterMs ?? 'never'} ms; 200 again ${readyAgain ?? 'never'} ms after PostgreSQL restarted`,
      );
      await hold(env, gen, scaled(config, 6000), `after ${fault}`);
    }
    await sleep(500);
    ready.stop();
    const v = await stopAndVerify(env, gen);
    const phases = ready.byPhase();
    for (const fault of ['fast_shutdown', 'postmaster_kill9']) {
      const o = outages.find((x) => x.fault === fault && 'down_ms' in x) ?? {};
      v.checks.expect(
        `${fault}: /health/ready said not ready (503, or no answer within the probe's 3 s) while the database was down`,
        o.ready_503_after_ms !== undefined,
        `readiness samples while down: ${JSON.stringify(phases[fault] ?? {})} (0 = no answer in 3 s)`,
      );
      const unanswered = (phases[fault]?.['0'] ?? 0) + (phases[`after_${fault}`]?.['0'] ?? 0);
      v.checks.expect(
        `${fault}: /health/ready always answered within the probe's 3 s`,
        unanswered === 0,
        `${unanswered} probes without an answer; while down ${JSON.stringify(phases[fault] ?? {})}, after ${JSON.stringify(phases[`after_${fault}`] ?? {})}`,
      );
      v.checks.expect(
        `${fault}: /health/ready back to 200 after the restart`,
        o.ready_200_after_restart_ms !== undefined,
        `after: ${JSON.stringify(phases[`after_${fault}`] ?? {})}, ${String(o.ready_200_after_restart_ms)} ms`,
      );
    }
    v.checks.expect(
      'no service restart (same pid, started once, still running)',
      service.pid === pid && service.starts === 1 && service.running,
      `pid ${pid} -> ${service.pid}, starts ${service.starts}`,
    );
    const writes = [gen.total('usage'), gen.total('sub')];
    const bad: Record<string, number> = {};
    for (const t of writes)
      for (const [k, n] of Object.entries(t.counts)) if (!['200', '503'].includes(k) && !/^4\d\d$/.test(k)) bad[k] = (bad[k] ?? 0) + n;
    v.checks.expect(
      'every write that could not be served is 503 (no 500, no dropped connection, no timeout)',
      Object.keys(bad).length === 0,
      `not 200/503/4xx: ${JSON.stringify(bad)}; usage ${JSON.stringify(gen.total('usage').counts)}; subscription ops ${JSON.stringify(gen.total('sub').counts)}`,
    );
    const timeouts = gen.total('usage').get('timeout') + gen.total('sub').get('timeout');
    v.checks.expect('no request waited past its timeout', timeouts === 0, `${timeouts} timeouts (${config.timeoutMs} ms)`);
    const fivehundreds = Object.entries(gen.codes.counts).filter(([k]) => / 5\d\d /.test(k) && !k.includes(' 503 '));
    v.checks.expect('no 5xx other than 503', fivehundreds.length === 0, JSON.stringify(Object.fromEntries(fivehundreds)));
    const headline = headlineOf(
      gen,
      v,
      `${config.rate}/s, ${Math.round(gen.offered / config.rate)} s`,
      'pg_ctl stop -m fast; kill -9 postmaster',
    );
    return report(env, 'Scenario 2: PostgreSQL fast shutdown and postmaster kill -9 under load', startedAt, headline, v.checks, {
      load: gen.summary(),
      outages,
      readiness_by_phase: phases,
      // each probe while the database was down and right after: when it was sent and how long it took
      readiness_samples: ready.samples
        .filter((x) => x.phase !== 'baseline')
        .map((x) => ({
          phase: x.phase,
          at: new Date(x.at).toISOString(),
          status: x.status,
          ms: Math.round(x.ms),
          prober_loop_delay_max_ms: Math.round(x.loopDelayMaxMs),
        })),
      retries: v.retries,
      usage: v.usage,
      outbox: v.outbox,
      subscriptions: v.subscriptions,
      service_error_lines: service.errorLines().length,
    });
  } finally {
    await env.close();
  }
}
