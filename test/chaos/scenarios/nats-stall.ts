import { loadChaosConfig, type ChaosConfig } from '../support/config.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { ChaosEnvironment, PREFIX } from '../support/environment.js';
import { HealthSampler } from '../support/health.js';
import type { ScenarioResult } from '../support/report.js';
import { say } from '../support/run.js';
import { headlineOf, hold, report, scaled, startLoad, stopAndVerify } from '../support/scenario.js';

/**
 * Scenario 4: a stalled broker: SIGSTOP of every nats-server for 10 s under load (connections stay
 * open, nothing answers), then SIGCONT. HTTP keeps answering; the relay resumes; HTTP latency
 * during the stall is reported.
 */
export async function natsStall(config: ChaosConfig = loadChaosConfig()): Promise<ScenarioResult> {
  const startedAt = new Date();
  const env = await ChaosEnvironment.start('nats-stall', config, { replicas: 1 });
  try {
    await env.waitForConsumers();
    const service = env.services[0];
    const live = new HealthSampler(() => `${service.healthUrl}/health/live`, 200, 2000).start();
    const gen = startLoad(env);
    const probe = new ConsumerProbe(env.bus, PREFIX).start();
    const setPhase = (p: string) => {
      gen.phase = p;
      probe.phase = p;
      live.phase = p;
    };
    await hold(env, gen, scaled(config, 6000), 'baseline');
    setPhase('stall');
    const stallMs = scaled(config, 10_000);
    say(env.run.scenario, `SIGSTOP all nats-server processes (${env.nats.pids().join(', ')}) for ${stallMs} ms`);
    await env.nats.signalAll('SIGSTOP');
    const stallFrom = new Date();
    try {
      await hold(env, gen, stallMs, 'NATS stalled');
    } finally {
      await env.nats.signalAll('SIGCONT');
    }
    const stallTo = new Date();
    const contAt = Date.now();
    setPhase('after_stall');
    await hold(env, gen, scaled(config, 8000), 'after SIGCONT');
    await probe.stop();
    live.stop();
    const v = await stopAndVerify(env, gen);
    // when JetStream stored the service's messages: the first after the stall, and how many during it
    const storedAt = v.events.filter((e) => e.subject.split('.')[1] === 'product_service').map((e) => e.at);
    const after = storedAt.filter((at) => at > stallTo.getTime());
    const resumed = {
      first: after.length > 0 ? after.reduce((a, b) => Math.min(a, b)) : undefined,
      during: storedAt.filter((at) => at >= stallFrom.getTime() && at <= stallTo.getTime()).length,
    };
    const resumedAfterMs = resumed.first !== undefined ? resumed.first - contAt : undefined;
    const stall = gen.tally('usage', 'stall');
    v.checks.expect(
      'stall: HTTP kept answering writes (200s during the stall, no 5xx other than 503)',
      stall.get('200') > 0 && stall.fiveXx() === stall.get('503'),
      `usage during the stall: ${JSON.stringify(stall.counts)}`,
    );
    v.checks.expect(
      'stall: /health/live answered throughout',
      (live.byPhase().stall?.['0'] ?? 0) === 0,
      `liveness samples during the stall: ${JSON.stringify(live.byPhase().stall ?? {})}`,
    );
    v.checks.expect(
      'stall: the relay resumed after SIGCONT',
      resumedAfterMs !== undefined,
      `first publish ${resumedAfterMs ?? 'never'} ms after SIGCONT; ${resumed.during} messages stored during the stall`,
    );
    const consumed = await probe.verify(env.db, v.checks, v.events);
    const latency = {
      baseline: gen.latency('baseline').summary(),
      stall: gen.latency('stall').summary(),
      after: gen.latency('after_stall').summary(),
    };
    v.checks.note(
      'HTTP latency (ms) baseline / stall / after',
      `${JSON.stringify(latency.baseline)} / ${JSON.stringify(latency.stall)} / ${JSON.stringify(latency.after)}`,
    );
    v.checks.note('liveness latency during the stall (ms)', JSON.stringify(live.latency('stall')));
    const headline = headlineOf(
      gen,
      v,
      `${config.rate}/s, ${Math.round(gen.offered / config.rate)} s`,
      `SIGSTOP all NATS ${Math.round(stallMs / 1000)} s`,
    );
    return report(env, 'Scenario 4: stalled broker (SIGSTOP of every NATS node)', startedAt, headline, v.checks, {
      load: gen.summary(),
      http_latency_ms: latency,
      liveness: { by_phase: live.byPhase(), stall_latency_ms: live.latency('stall') },
      relay_resumed_after_ms: resumedAfterMs,
      consumed,
      usage: v.usage,
      outbox: v.outbox,
      subscriptions: v.subscriptions,
    });
  } finally {
    await env.close();
  }
}
