import {
  Checks,
  checkOutbox,
  checkSubscriptions,
  checkUsage,
  waitOutboxDrained,
  type OutboxCounts,
  type SubscriptionCounts,
  type UsageCounts,
} from './checks.js';
import type { ChaosConfig } from './config.js';
import { PREFIX, STREAM, type ChaosEnvironment } from './environment.js';
import { LoadGenerator, type LoadOptions } from './load.js';
import { sleep } from './proc.js';
import { writeResult, type Headline, type ScenarioResult } from './report.js';
import { say } from './run.js';
import { readStream, type StreamMessage } from './stream.js';

/** A phase duration of the scenario, scaled by CHAOS_TIME_SCALE. */
export const scaled = (config: ChaosConfig, ms: number): number => Math.max(200, Math.round(ms * config.timeScale));

export function startLoad(env: ChaosEnvironment, overrides: Partial<LoadOptions> = {}): LoadGenerator {
  const c = env.config;
  const gen = new LoadGenerator({
    runId: env.run.id,
    targets: () => env.targets(),
    rate: c.rate,
    timeoutMs: c.timeoutMs,
    maxInflight: c.maxInflight,
    usageUsers: c.usageUsers,
    subscriptionUsers: c.subscriptionUsers,
    subscriptionShare: c.subscriptionShare,
    ...overrides,
  });
  gen.start();
  say(
    env.run.scenario,
    `load: ${gen.options.rate} writes/s offered (${Math.round(gen.options.subscriptionShare * 100)} % subscription changes by ${gen.actors.length} actors)`,
  );
  return gen;
}

/** Runs the load for `ms`, printing progress every 5 s. */
export async function hold(env: ChaosEnvironment, gen: LoadGenerator, ms: number, label: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await sleep(Math.min(5000, end - Date.now()));
    const u = gen.total('usage');
    say(
      env.run.scenario,
      `${label}: offered ${gen.offered}, sent ${gen.sent}, shed ${gen.shed}, in flight ${gen.inflight}, usage 200 ${u.get('200')}, other ${u.total() - u.get('200')}`,
    );
  }
}

export interface Verified {
  checks: Checks;
  events: StreamMessage[];
  usage: UsageCounts;
  outbox: OutboxCounts;
  subscriptions: SubscriptionCounts;
  retries: Record<string, number>;
  drainMs: number;
}

/**
 * The end of every load scenario: stop offering, retry every usage record that was not answered
 * (same request_id), wait for the relay to drain the outbox, read the whole stream, and verify
 * usage, outbox and subscription counts.
 */
export async function stopAndVerify(
  env: ChaosEnvironment,
  gen: LoadGenerator,
  checks = new Checks(),
  /** retry: 'all' = every unanswered record of unknown fate (reset, timeout, 5xx) plus a sample of the refused; 'sample' = a sample of CHAOS_RETRY_SAMPLE; 'none' */
  options: { retry?: 'all' | 'sample' | 'none' } = {},
): Promise<Verified> {
  const scenario = env.run.scenario;
  await gen.stop();
  let retries: Record<string, number> = {};
  const mode = options.retry ?? 'sample';
  if (mode !== 'none') {
    const unanswered = [...gen.usage.values()].filter((a) => a.recordId === undefined);
    const limit = Number(process.env.CHAOS_RETRY_SAMPLE ?? 1000);
    const unknown = unanswered.filter((a) => a.outcomes[0] !== 'refused').length;
    say(
      scenario,
      `load stopped; ${unanswered.length} usage records unanswered (${unknown} of unknown fate); retrying ${mode === 'all' ? `all ${unknown} of unknown fate and` : ''} a sample of ${limit} with their request_id`,
    );
    retries = (await gen.retryUnanswered({ maxAttempts: 20, delayMs: 500, limit, unknownAll: mode === 'all' })).counts;
  }
  const drained = await waitOutboxDrained(env.db, 120_000);
  say(scenario, `outbox drained in ${drained.waitedMs} ms (${drained.unpublished} left); reading the stream`);
  const events = await readStream(env.bus, STREAM, `${PREFIX}.>`);
  say(scenario, `${events.length} messages on the stream`);
  const usage = await checkUsage(env.db, gen, events, checks);
  const outbox = await checkOutbox(env.db, events, checks);
  const subscriptions = await checkSubscriptions(env.db, `s_${env.run.id}_`, events, checks, gen.subscriptions);
  if (usage.events_missing > 0 || subscriptions.created_events_missing > 0 || subscriptions.companion_mismatches > 0) {
    // Read once more, later: the same answer says the events are not on the stream; a different one says
    // the first read came too early or missed messages (the verdicts above stay those of the first read).
    await sleep(5000);
    const again = await readStream(env.bus, STREAM, `${PREFIX}.>`);
    const recount = new Checks();
    const u = await checkUsage(env.db, gen, again, recount);
    const s = await checkSubscriptions(env.db, `s_${env.run.id}_`, again, recount, gen.subscriptions);
    checks.note(
      'a second read of the stream 5 s later',
      `${again.length} messages (first read ${events.length}); usage events missing ${u.events_missing} (first ${usage.events_missing}), ` +
        `subscription.created missing ${s.created_events_missing} (first ${subscriptions.created_events_missing}), ` +
        `subscriptions with a companion off ${s.companion_mismatches} (first ${subscriptions.companion_mismatches})`,
    );
  }
  const total = gen.total('usage');
  checks.expect('http: no 5xx other than 503 for any write', total.fiveXx() === total.get('503'), JSON.stringify(total.counts));
  gen.http.close();
  return { checks, events, usage, outbox, subscriptions, retries, drainMs: drained.waitedMs };
}

export function headlineOf(gen: LoadGenerator, v: Verified, load: string, fault: string): Headline {
  const answered = [...gen.usage.values()].filter((a) => a.recordId !== undefined).length;
  return {
    load,
    fault,
    answered,
    stored: v.usage.stored,
    events: v.usage.events,
    lost: v.usage.lost + v.usage.events_missing + v.subscriptions.creates_lost + v.subscriptions.answered_changes_without_event,
    duplicated:
      v.usage.duplicated_rows +
      v.usage.two_answers_for_one_request +
      v.usage.events_duplicated +
      v.outbox.duplicated_on_stream +
      v.subscriptions.created_events_duplicated +
      v.subscriptions.duplicated_event_ids,
  };
}

/** Assembles, writes and prints the scenario's result; returns it for the test's assertions. */
export function report(
  env: ChaosEnvironment,
  title: string,
  startedAt: Date,
  headline: Headline,
  checks: Checks,
  counts: Record<string, unknown>,
): ScenarioResult {
  for (const f of env.findings) checks.note('environment', f);
  const result: ScenarioResult = {
    scenario: env.run.scenario,
    title,
    started_at: startedAt.toISOString(),
    duration_s: Math.round((Date.now() - startedAt.getTime()) / 1000),
    config: { ...env.config, replicas: env.services.length, nats_url: env.natsUrl },
    headline,
    checks: checks.list,
    counts,
  };
  writeResult(result);
  return result;
}

/** The failed checks as a readable list (what a test asserts to be empty). */
export const failures = (r: ScenarioResult): string[] => r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
