import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadChaosConfig, type ChaosConfig } from '../support/config.js';
import { ChaosEnvironment } from '../support/environment.js';
import { probe } from '../support/http.js';
import { sleep } from '../support/proc.js';
import { markdownTable, type ScenarioResult } from '../support/report.js';
import { RESULTS_DIR, say } from '../support/run.js';
import { headlineOf, report, startLoad, stopAndVerify } from '../support/scenario.js';

interface SoakSample {
  minute: number;
  rss_mb: number;
  fds: number;
  threads: number;
  eventloop_lag_p99_ms: number;
  eventloop_lag_max_ms: number;
  /** the lowest heap used among the interval's readings (every HEAP_READING_MS): the GC saw-tooth's low-water mark */
  heap_used_low_mb: number;
  db_connections: number;
  outbox_backlog: number;
  /** the backlog in seconds of the writes answered in the interval: how far behind the relay is */
  outbox_backlog_s: number;
  usage_200: number;
  usage_other: number;
}

/** One value of a Prometheus text exposition (first sample of `name`, no labels). */
function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/**
 * The heap is read this often between samples and each sample keeps the lowest reading: heap used
 * saws between collections (here 80-290 MB within a minute under load), so one reading a minute
 * is mostly GC phase; a leak raises the low-water mark.
 */
const HEAP_READING_MS = 5000;

/** The relay is behind when its backlog holds more than this many seconds of the answered writes. */
const MAX_BACKLOG_S = 10;

/** Least-squares slope per sample of a series. */
function slope(values: number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  values.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

/**
 * Scenario 8: soak. Steady load on one process for CHAOS_SOAK_MINUTES (10 by default), sampled
 * every CHAOS_SOAK_SAMPLE_S (60): RSS and threads (/proc/<pid>/status), open descriptors
 * (/proc/<pid>/fd), event-loop delay (GET /metrics), the heap's low-water mark (the lowest of its
 * readings every 5 s in the interval), database connections, outbox backlog (rows, and seconds of the answered writes), answers. Writes
 * results/soak.md and soak.json; flags growth (the last third against the first, after the first
 * sample, and a positive trend). Then the same correctness checks as every scenario.
 */
export async function soak(config: ChaosConfig = loadChaosConfig()): Promise<ScenarioResult> {
  const startedAt = new Date();
  const env = await ChaosEnvironment.start('soak', config, { replicas: 1 });
  try {
    const service = env.services[0];
    const gen = startLoad(env);
    const totalMs = config.soakMinutes * 60_000;
    const everyMs = config.soakSampleSeconds * 1000;
    const samples: SoakSample[] = [];
    let prev200 = 0;
    let prevOther = 0;
    const t0 = Date.now();
    let lastAt = t0;
    const heapUsedMb = (text: string) => metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20;
    while (Date.now() - t0 < totalMs) {
      const until = Math.min(t0 + totalMs, Date.now() + everyMs);
      let heapLow = Number.POSITIVE_INFINITY;
      while (until - Date.now() > HEAP_READING_MS) {
        await sleep(HEAP_READING_MS);
        const reading = heapUsedMb((await probe(`${service.baseUrl}/metrics`, 10_000))?.text ?? '');
        if (Number.isFinite(reading)) heapLow = Math.min(heapLow, reading);
      }
      await sleep(Math.max(0, until - Date.now()));
      const proc = service.sample();
      const text = (await probe(`${service.baseUrl}/metrics`, 10_000))?.text ?? '';
      heapLow = Math.min(heapLow, heapUsedMb(text));
      const db = await env.db
        .one<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'product_service'`)
        .catch(() => ({ n: NaN }));
      const backlog = await env.db.one<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_events`).catch(() => ({ n: NaN }));
      const u = gen.total('usage');
      const ok = u.get('200');
      const other = u.total() - ok;
      const answeredPerSecond = (ok - prev200) / ((Date.now() - lastAt) / 1000);
      lastAt = Date.now();
      const s: SoakSample = {
        minute: Math.round(((Date.now() - t0) / 60_000) * 100) / 100,
        rss_mb: Math.round(((proc?.rssKb ?? NaN) / 1024) * 10) / 10,
        fds: proc?.fds ?? NaN,
        threads: proc?.threads ?? NaN,
        eventloop_lag_p99_ms: Math.round(metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000 * 10) / 10,
        eventloop_lag_max_ms: Math.round(metric(text, 'nodejs_eventloop_lag_max_seconds') * 1000 * 10) / 10,
        heap_used_low_mb: Number.isFinite(heapLow) ? Math.round(heapLow * 10) / 10 : NaN,
        db_connections: db.n,
        outbox_backlog: backlog.n,
        // nothing answered while rows wait: infinitely behind (flagged below)
        outbox_backlog_s:
          answeredPerSecond > 0
            ? Math.round((backlog.n / answeredPerSecond) * 100) / 100
            : backlog.n > 0
              ? Number.POSITIVE_INFINITY
              : backlog.n,
        usage_200: ok - prev200,
        usage_other: other - prevOther,
      };
      prev200 = ok;
      prevOther = other;
      samples.push(s);
      say(
        env.run.scenario,
        `t=${s.minute} min: rss ${s.rss_mb} MB, fds ${s.fds}, lag p99 ${s.eventloop_lag_p99_ms} ms, heap low ${s.heap_used_low_mb} MB, backlog ${s.outbox_backlog} (${s.outbox_backlog_s} s of writes), 200s ${s.usage_200}`,
      );
    }
    const v = await stopAndVerify(env, gen);
    // growth flags: compare the last third with the first third (the first sample is warm-up)
    const series = samples.slice(1);
    const third = Math.max(1, Math.floor(series.length / 3));
    const flags: string[] = [];
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    // memory saws with the GC: its low-water mark per third is what a leak raises; the others by their mean
    const growth = (key: keyof SoakSample, relative: number, absolute: number, by: 'min' | 'mean' = 'mean') => {
      const values = series.map((s) => s[key]).filter((x) => Number.isFinite(x));
      if (values.length < 6) return;
      const pick = (xs: number[]) => (by === 'min' ? Math.min(...xs) : avg(xs));
      const first = pick(values.slice(0, third));
      const last = pick(values.slice(-third));
      const trend = slope(values);
      if (last - first > absolute && last > first * (1 + relative) && trend > 0) {
        flags.push(
          `${key}: ${first.toFixed(1)} -> ${last.toFixed(1)} (${by} of the first and last third; slope ${trend.toFixed(2)} per sample)`,
        );
      }
    };
    growth('rss_mb', 0.25, 20, 'min');
    growth('heap_used_low_mb', 0.25, 15, 'min');
    growth('fds', 0.2, 10);
    growth('threads', 0.2, 2);
    growth('db_connections', 0.5, 3);
    // The backlog is sampled in the middle of the relay's passes (thousands of rows each at this rate):
    // its count swings with the sampling phase. A relay falling behind adds seconds of writes each
    // minute; measured in seconds of writes, a rise of more than 2 s, or more than 10 s at any sample,
    // is flagged.
    growth('outbox_backlog_s', 1, 2);
    const behind = series.filter((s) => s.outbox_backlog_s > MAX_BACKLOG_S);
    if (behind.length > 0)
      flags.push(
        `outbox_backlog_s above ${MAX_BACKLOG_S} s of writes at minute ${behind.map((s) => s.minute).join(', ')} (max ${Math.max(...behind.map((s) => s.outbox_backlog_s))} s)`,
      );
    growth('eventloop_lag_p99_ms', 1, 20);
    const enough = series.length >= 6;
    v.checks.expect(
      'soak: no resource grows steadily (RSS, heap, descriptors, threads, connections, backlog, loop delay)',
      flags.length === 0,
      enough
        ? flags.join('; ') || 'no growth flagged'
        : `only ${series.length} samples after warm-up (6 needed): too short to judge growth`,
    );
    v.checks.expect(
      'soak: the process stayed up (started once)',
      service.starts === 1 && service.running,
      `started ${service.starts} times`,
    );
    const columns = Object.keys(samples[0] ?? { minute: 0 }) as (keyof SoakSample)[];
    const table = markdownTable(
      columns,
      samples.map((s) => columns.map((c) => String(s[c]))),
    );
    const md = [
      `# Soak: ${config.rate} writes/s offered for ${config.soakMinutes} min (${startedAt.toISOString().slice(0, 16)})`,
      '',
      table,
      '',
      flags.length > 0 ? `**Growth flagged:** ${flags.join('; ')}` : enough ? 'No growth flagged.' : 'Too few samples to judge growth.',
      '',
    ].join('\n');
    writeFileSync(join(RESULTS_DIR, 'soak.md'), md);
    say(env.run.scenario, `\n${md}`);
    const headline = headlineOf(gen, v, `${config.rate}/s, ${config.soakMinutes} min`, 'none (soak)');
    return report(env, `Scenario 8: soak (${config.soakMinutes} min)`, startedAt, headline, v.checks, {
      load: gen.summary(),
      samples,
      growth_flags: flags,
      usage: v.usage,
      outbox: v.outbox,
      subscriptions: v.subscriptions,
    });
  } finally {
    await env.close();
  }
}
