import { jetstreamManager } from '@nats-io/jetstream';
import { loadChaosConfig, type ChaosConfig } from '../support/config.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { ChaosEnvironment, PREFIX, STREAM } from '../support/environment.js';
import { waitFor } from '../support/proc.js';
import type { ScenarioResult } from '../support/report.js';
import { say } from '../support/run.js';
import { headlineOf, hold, report, scaled, startLoad, stopAndVerify } from '../support/scenario.js';

/**
 * Scenario 3: one NATS node of three killed (kill -9) under load, then restarted; later all three
 * stopped for 20 s, then started. Publishing and consuming go on with one node down; with all down
 * the outbox holds and the relay catches up; every event is on the stream once (Nats-Msg-Id
 * unique, one message per outbox id), every consumed probe handled once.
 */
export async function natsOutage(config: ChaosConfig = loadChaosConfig()): Promise<ScenarioResult> {
  const startedAt = new Date();
  const env = await ChaosEnvironment.start('nats-outage', config, { replicas: 1 });
  try {
    await env.waitForConsumers();
    const jsm = await jetstreamManager(env.bus);
    const gen = startLoad(env);
    const probe = new ConsumerProbe(env.bus, PREFIX).start();
    const setPhase = (p: string) => {
      gen.phase = p;
      probe.phase = p;
    };
    await hold(env, gen, scaled(config, 6000), 'baseline');
    // the stream's leader (the harder loss: JetStream elects a new one while publishes fail), else the
    // node the service was given (it connects there first)
    const leader = await env.nats.streamLeader(jsm, STREAM).catch(() => undefined);
    const victim = env.nats.nodes.find((n) => n.name === leader)?.name ?? env.nats.nodes[0].name;
    setPhase('one_node_down');
    say(env.run.scenario, `kill -9 NATS node ${victim} (stream leader: ${leader ?? '?'})`);
    const backlogAt = async () => (await env.db.one<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_events`)).n;
    await env.nats.killNode(victim);
    const downFrom = new Date();
    const oneDown = scaled(config, 8000);
    const samples: number[] = [];
    const end = Date.now() + oneDown;
    while (Date.now() < end) {
      await hold(env, gen, Math.min(2000, end - Date.now()), `${victim} down`);
      samples.push(await backlogAt());
    }
    const downTo = new Date();
    env.nats.startNode(victim);
    setPhase('node_back');
    await hold(env, gen, scaled(config, 6000), `${victim} back`);
    setPhase('all_down');
    say(env.run.scenario, 'stopping all three NATS nodes');
    await env.nats.stopAll();
    const allDownMs = scaled(config, 20_000);
    await hold(env, gen, allDownMs, 'all NATS down');
    const backlogWhileDown = await backlogAt();
    say(env.run.scenario, `outbox backlog with NATS down: ${backlogWhileDown}; starting all three`);
    const upAt = Date.now();
    await env.nats.startAll();
    setPhase('all_back');
    await hold(env, gen, scaled(config, 8000), 'NATS back');
    await probe.stop();
    const v = await stopAndVerify(env, gen);
    const caughtUpMs = Date.now() - upAt;
    // the stream's replicas are all current again
    const info = await waitFor(
      'stream replicas current',
      async () => {
        const i = await jsm.streams.info(STREAM);
        return (i.cluster?.replicas ?? []).every((r) => r.current) ? i : undefined;
      },
      60_000,
    ).catch(() => undefined);
    v.checks.note(
      'stream',
      `leader ${info?.cluster?.leader ?? '?'}, replicas ${JSON.stringify(info?.cluster?.replicas?.map((r) => ({ name: r.name, current: r.current })) ?? [])}, ${info?.state.messages ?? '?'} messages`,
    );
    const consumed = await probe.verify(env.db, v.checks, v.events);
    // events written while the node was down (one per usage record), and the service's messages JetStream stored meanwhile
    const written = await env.db.one<{ n: number }>(`SELECT count(*)::int AS n FROM usage_records WHERE created_at BETWEEN $1 AND $2`, [
      downFrom,
      downTo,
    ]);
    const inWindow = (at: number) => at >= downFrom.getTime() && at <= downTo.getTime();
    const relayed = {
      created: written.n,
      published: v.events.filter((e) => e.subject.split('.')[1] === 'product_service' && inWindow(e.at)).length,
    };
    // the cluster itself must have been serving (the suite's own probes acknowledged) for the relay check to judge the service
    const probesOneDown = probe.probes.filter((p) => p.phase === 'one_node_down');
    const clusterServed = probesOneDown.some((p) => p.acked);
    v.checks.note(
      "one node down: the two remaining nodes accepted publishes (the suite's probes)",
      `${probesOneDown.filter((p) => p.acked).length} of ${probesOneDown.length} probes acknowledged`,
    );
    if (clusterServed || probesOneDown.length === 0) {
      v.checks.expect(
        'one node down: the relay kept publishing',
        relayed.created === 0 || relayed.published > 0,
        `while ${victim} was down: ${relayed.created} events written, ${relayed.published} published; unpublished rows every 2 s: ${JSON.stringify(samples)}`,
      );
    } else {
      v.checks.note(
        'one node down: the relay kept publishing — inconclusive',
        `the cluster accepted no publish from anyone while ${victim} was down (no probe acknowledged): ${relayed.created} events written, ${relayed.published} published`,
      );
    }
    v.checks.expect(
      'all down: the outbox held the events',
      backlogWhileDown > 0 || gen.sent === 0,
      `${backlogWhileDown} unpublished rows before NATS came back`,
    );
    const oneDownProbes = (consumed.max_handling_lag_ms_by_phase as Record<string, number>).one_node_down;
    v.checks.note('one node down: slowest probe handled after (ms)', String(oneDownProbes ?? 'none handled'));
    const headline = headlineOf(
      gen,
      v,
      `${config.rate}/s, ${Math.round(gen.offered / config.rate)} s`,
      `kill -9 ${victim}; all 3 stopped ${Math.round(allDownMs / 1000)} s`,
    );
    return report(env, 'Scenario 3: NATS node loss and full NATS outage under load', startedAt, headline, v.checks, {
      load: gen.summary(),
      victim,
      stream_leader_before: leader,
      backlog_while_one_down: samples,
      backlog_while_all_down: backlogWhileDown,
      caught_up_after_ms: caughtUpMs,
      consumed,
      usage: v.usage,
      outbox: v.outbox,
      subscriptions: v.subscriptions,
    });
  } finally {
    await env.close();
  }
}
