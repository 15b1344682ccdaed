#!/usr/bin/env node
// Reproducible benchmark of the product service beside ../shared/bench-reference (the thinnest
// Node + pg server doing the same database work) and a bare Nest 12 + Fastify app (bench/bare-nest.mjs,
// the framework's ceiling), on one machine in one run, so the figures that count are ratios.
//
//   npm run build && npm run bench                      # every default scenario, well under 5 min on 2 cores
//   npm run bench -- --scenarios hello,usage_record --duration 3
//   BENCH_SCENARIOS=all npm run bench                   # also the opt-in backlog_drain
//
// It builds nothing: it runs the build as `npm start` does (dist/bundle/main.mjs). It creates scratch PostgreSQL databases
// (dropped at the end), a JetStream stream of its own (EVENTS_STREAM=BENCH_<pid>, subjects
// `bench_<pid>.>`, deleted at the end; the machine's EVENTS stream is never touched), a fake
// account/organization service, the reference, the bare Nest app and the service, all on free
// loopback ports. Everything it started is stopped, also on Ctrl-C, errors and BENCH_MAX_SECONDS.
// It writes bench/results/latest.json and latest.md (commit, date, Node, load average, tables).
//
// Scenarios (BENCH_SCENARIOS / --scenarios, comma separated; `default` = all but the opt-in ones,
// `all` = every one). HTTP ones alternate rounds between their targets (order reversed every
// other round) and report the best round of each:
//   startup              time to ready: spawns the service BENCH_STARTUP_RUNS times on the already
//                        migrated database, spawn → first 200 of /health/ready, median
//   hello                GET /health/live vs reference GET /hello vs bare Nest GET /hello (both ratios)
//   product_read         GET /api/v1/product/products/gpt-4o vs reference GET /products/p1
//   product_list         GET /api/v1/product/products            } vs reference GET /products/p1 AND
//   pricing              GET /api/v1/product/products/gpt-4o/pricing } relative to the service's own
//   plans                GET /api/v1/product/plans               } product_read (same rounds)
//   product_read_token   the product read with a user's bearer token (HS256, AUTH_JWT_SECRET): the
//                        same rounds and comparisons; what a signed-in caller's request pays for its token
//   usage_record         POST /usage/record (internal headers, unique request_id, 1000 users) vs
//                        reference POST /usage, and the same with a unique Idempotency-Key instead
//                        of the request_id; then rows in usage_records vs `product.usage.recorded`
//                        messages on the stream (waits for the outbox to drain, bounded)
//   subscription_create  POST /subscriptions (internal headers, unique users, tier_pro_001) vs reference POST /subscriptions,
//                        and the same with a unique Idempotency-Key; rows vs `subscription.created` messages
//   usage_batch          POST /usage/records/batch, BENCH_BATCH_SIZE records per request, BENCH_BATCH_CALLERS
//                        closed-loop callers: records/s accepted, and records/s published and acked
//                        on the stream (counted on the stream until it holds every record)
//   events_inbound       BENCH_INBOUND_EVENTS subscriptions created `incomplete` (trial:false), as many
//                        `payment.completed` envelopes published: events/s until all are `active` in the DB,
//                        then the time until their own events are relayed (the outbox empty)
//   relay_latency        from an empty outbox, open-loop BENCH_RELAY_RATE records/s (BENCH_RELAY_BATCH per request) for
//                        BENCH_RELAY_SECONDS; per `product.usage.recorded` message, arrival on a JetStream
//                        consumer minus the envelope `timestamp`: p50 / p99 / max
//   two_processes        a second service process on the same database and stream; usage_record load
//                        spread over both vs one process, in alternating rounds; aggregate req/s; and the
//                        split layout: the load on a PROCESS_ROLE=api process while the others relay
//   backlog_drain        (opt-in) BENCH_BACKLOG_RECORDS records stored with NATS_URL=off, stop, start
//                        with NATS on: events/s until the stream holds them all (own database and stream)
// The service's RSS (/proc/<pid>/status VmRSS) is read after all scenarios, with the bare Nest's and the
// reference's, and again BENCH_QUIET_SECONDS later. Every scenario reports non-2xx counts and status codes.
//
// Options: environment variables, or flags (--duration 5, --warmup=1, ...), flags winning:
//   BENCH_DURATION=5 --duration          seconds per measured HTTP run (also usage_batch's load)
//   BENCH_WARMUP=1 --warmup              seconds of warm-up before each measured run (0: none)
//   BENCH_CONNECTIONS=32 --connections   concurrent connections (autocannon)
//   BENCH_ROUNDS=2 --rounds              measured rounds per HTTP target
//   BENCH_SCENARIOS=default --scenarios  see above
//   BENCH_MAX_SECONDS=600 --max-seconds  hard limit for the whole run (a partial report is written)
//   BENCH_STARTUP_RUNS=3                 service spawns for time to ready
//   BENCH_BATCH_SIZE=1000, BENCH_BATCH_CALLERS=4
//   BENCH_INBOUND_EVENTS=5000
//   BENCH_RELAY_RATE=1000 (records/s), BENCH_RELAY_BATCH=20 (records per request; 1 = POST /usage/record),
//   BENCH_RELAY_SECONDS=BENCH_DURATION
//   BENCH_BACKLOG_RECORDS=100000, BENCH_BACKLOG_TIMEOUT=600 (seconds for the drain)
//   BENCH_DRAIN_TIMEOUT=120              seconds to wait for the outbox to drain after a write scenario
//   BENCH_QUIET_SECONDS=40               seconds without load before the service's RSS is read again (0: not)
//   BENCH_ADMIN_DATABASE_URL             postgres://postgres@127.0.0.1:5432/postgres (creates/drops scratch DBs)
//   BENCH_NATS_URL                       nats://127.0.0.1:4222 ("off": the service runs without a bus and
//                                        event scenarios are skipped)
//   BENCH_REFERENCE_DIR                  ../shared/bench-reference
//   BENCH_OUTPUT_DIR                     bench/results
//   BENCH_PROFILE                        cpu or heap: the service's V8 profile over the measured part of usage_batch
//                                        and events_inbound (bench/lib/cpu-profile-hook.mjs), summarized in the log
//                                        and kept in a printed directory (flame graph: Chrome DevTools, speedscope)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import {
  assertLoopback,
  cleanupAll,
  cpuTicks,
  freePort,
  isStopping,
  log,
  median,
  memoryOf,
  onCleanup,
  percentile,
  pollUntil,
  round,
  sleep,
  startProcess,
  StoppedError,
  stopProcess,
  tail,
  throwIfStopping,
  waitFor,
} from './lib/harness.mjs';
import {
  countSubject,
  countSubjects,
  deleteStreamAtEnd,
  envelope,
  openBus,
  publishAll,
  subjectOf,
  watchSubject,
} from './lib/jetstream.mjs';
import { alternatingRounds, closedLoop, openLoop, postJson } from './lib/load.mjs';
import { createDatabase, postgresVersion, referenceWithDependencies, startFakePlatform } from './lib/platform.mjs';
import { summarizeCpu, summarizeHeap } from './lib/profile-summary.mjs';
import { renderMarkdown } from './lib/report.mjs';
import { envPairs, npmStartCommand } from './lib/scratch-service.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- options

const ALL_SCENARIOS = [
  'startup',
  'hello',
  'product_read',
  'product_list',
  'pricing',
  'plans',
  'product_read_token',
  'usage_record',
  'subscription_create',
  'usage_batch',
  'events_inbound',
  'relay_latency',
  'two_processes',
  'backlog_drain',
];
const OPT_IN = new Set(['backlog_drain']);
const EVENT_SCENARIOS = new Set(['usage_batch', 'events_inbound', 'relay_latency', 'backlog_drain']);

const FLAGS = {
  '--duration': 'BENCH_DURATION',
  '--warmup': 'BENCH_WARMUP',
  '--connections': 'BENCH_CONNECTIONS',
  '--rounds': 'BENCH_ROUNDS',
  '--scenarios': 'BENCH_SCENARIOS',
  '--max-seconds': 'BENCH_MAX_SECONDS',
};

function readOptions(argv, environment) {
  const env = { ...environment };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    if (flag === '--help' || flag === '-h') {
      console.log(
        'usage: npm run bench -- [--duration S] [--warmup S] [--connections N] [--rounds N] [--scenarios a,b|default|all] [--max-seconds S]\n' +
          `scenarios: ${ALL_SCENARIOS.join(', ')} (opt-in: ${[...OPT_IN].join(', ')})\n` +
          'every option and BENCH_* variable: the header of bench/run.mjs and bench/README.md',
      );
      process.exit(0);
    }
    const name = FLAGS[flag];
    if (!name) throw new Error(`unknown option ${flag} (known: ${Object.keys(FLAGS).join(', ')}, --help)`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    env[name] = value;
  }
  return env;
}

/** A bad option or setting ends the run before it starts anything, with the message only. */
function usageError(fn) {
  try {
    return fn();
  } catch (err) {
    console.error(`[bench] ${err.message}`);
    process.exit(2);
  }
}

const env = usageError(() => readOptions(process.argv.slice(2), process.env));
const num = (name, fallback, { min = 0, integer = false } = {}) => {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a${integer ? 'n integer' : ' number'} ≥ ${min} (got "${raw}")`);
  }
  return value;
};

const DURATION = usageError(() => num('BENCH_DURATION', 5, { min: 1 }));
const CONFIG = usageError(() => ({
  duration: DURATION,
  warmup: num('BENCH_WARMUP', 1),
  connections: num('BENCH_CONNECTIONS', 32, { min: 1, integer: true }),
  rounds: num('BENCH_ROUNDS', 2, { min: 1, integer: true }),
  maxSeconds: num('BENCH_MAX_SECONDS', 600, { min: 10 }),
  startupRuns: num('BENCH_STARTUP_RUNS', 3, { min: 1, integer: true }),
  batchSize: num('BENCH_BATCH_SIZE', 1000, { min: 1, integer: true }),
  batchCallers: num('BENCH_BATCH_CALLERS', 4, { min: 1, integer: true }),
  inboundEvents: num('BENCH_INBOUND_EVENTS', 5000, { min: 1, integer: true }),
  relayRate: num('BENCH_RELAY_RATE', 1000, { min: 1 }),
  relayBatch: num('BENCH_RELAY_BATCH', 20, { min: 1, integer: true }),
  relaySeconds: num('BENCH_RELAY_SECONDS', DURATION, { min: 1 }),
  backlogRecords: num('BENCH_BACKLOG_RECORDS', 100_000, { min: 1, integer: true }),
  backlogTimeout: num('BENCH_BACKLOG_TIMEOUT', 600, { min: 1 }),
  drainTimeout: num('BENCH_DRAIN_TIMEOUT', 120, { min: 1 }),
  quietSeconds: num('BENCH_QUIET_SECONDS', 40, { min: 0 }),
  adminUrl: env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  natsUrl: env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222',
  referenceDir: resolve(ROOT, env.BENCH_REFERENCE_DIR ?? '../shared/bench-reference'),
  outputDir: resolve(ROOT, env.BENCH_OUTPUT_DIR ?? 'bench/results'),
  profile: (() => {
    const kind = env.BENCH_PROFILE ?? '';
    if (!['', 'cpu', 'heap'].includes(kind)) throw new Error(`BENCH_PROFILE must be cpu or heap (got "${kind}")`);
    return kind || null;
  })(),
}));

function selectScenarios(spec) {
  const words = (spec ?? 'default')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const chosen = new Set();
  for (const w of words) {
    if (w === 'all') ALL_SCENARIOS.forEach((s) => chosen.add(s));
    else if (w === 'default') ALL_SCENARIOS.filter((s) => !OPT_IN.has(s)).forEach((s) => chosen.add(s));
    else if (ALL_SCENARIOS.includes(w)) chosen.add(w);
    else throw new Error(`unknown scenario "${w}" (known: ${ALL_SCENARIOS.join(', ')}, default, all)`);
  }
  return ALL_SCENARIOS.filter((s) => chosen.has(s));
}
const SELECTED = usageError(() => selectScenarios(env.BENCH_SCENARIOS));

// ---------------------------------------------------------------- constants of the run

const INTERNAL_SECRET = 'bench-internal-secret';
const INTERNAL_HEADERS = { 'x-internal-service': 'true', 'x-internal-service-secret': INTERNAL_SECRET };
// user tokens (SPEC section 5): the service verifies HS256 tokens with this secret; one signed-in user's token
const USER_TOKEN_SECRET = 'bench-user-token-secret-of-32-bytes!';
const USER_TOKEN = await new SignJWT({ sub: 'bench-user-0' })
  .setProtectedHeader({ alg: 'HS256' })
  .setExpirationTime('1d')
  .sign(new TextEncoder().encode(USER_TOKEN_SECRET));
const JSON_HEADERS = { 'content-type': 'application/json' };
const RUN_ID = randomBytes(4).toString('hex');
const STREAM = `BENCH_${process.pid}`;
const PREFIX = `bench_${process.pid}`;
const SOURCE = 'product_service';
const API = '/api/v1/product';
const USERS = 1000;

let seq = 0;
const next = () => (seq++).toString(36);

const usageRecord = (tag) => {
  const n = seq++;
  return { user_id: `bench-user-${n % USERS}`, product_id: 'gpt-4o', usage_amount: 100, request_id: `${tag}-${RUN_ID}-${n.toString(36)}` };
};
const usageBatch = (tag, size) => ({ records: Array.from({ length: size }, () => usageRecord(tag)) });

// ---------------------------------------------------------------- processes of the run

/** Everything main() sets up, shared by the scenarios. */
const ctx = {};

function serviceEnv({ port, databaseUrl, natsUrl = CONFIG.natsUrl, stream = STREAM, prefix = PREFIX, role = 'all', extraEnv = {} }) {
  return {
    ...ctx.startEnv, // npm start's own (glibc's malloc thresholds)
    ...extraEnv,
    PROCESS_ROLE: role,
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? ctx.workDir,
    NODE_ENV: 'benchmark',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    DB_POOL_SIZE: '10',
    NATS_URL: natsUrl,
    EVENTS_STREAM: stream,
    EVENTS_SUBJECT_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    INTERNAL_SERVICE_SECRET: INTERNAL_SECRET,
    AUTH_JWT_SECRET: USER_TOKEN_SECRET,
    ACCOUNT_SERVICE_URL: ctx.platformUrl,
    ORGANIZATION_SERVICE_URL: ctx.platformUrl,
    // the limiter runs (its cost is measured) but never refuses the benchmark's single client
    RATE_LIMIT_PER_MIN: '100000000',
    SHUTDOWN_GRACE_MS: '1000',
    // settings to compare, e.g. BENCH_SERVICE_ENV="USAGE_GROUP_CONCURRENCY=4,DB_PREPARED_STATEMENTS=false"
    ...envPairs(process.env.BENCH_SERVICE_ENV),
  };
}

/** Spawns the service (as `npm start` does) and waits for /health/ready; resolves to { child, url, readyMs }. */
async function startService(name, options) {
  const port = await freePort();
  const child = startProcess(name, process.execPath, [...ctx.nodeFlags, ...(options.nodeFlags ?? []), ctx.entry], {
    cwd: ROOT,
    logDir: ctx.workDir,
    env: serviceEnv({ port, ...options, extraEnv: options.env }),
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    const readyAt = await waitFor(`${url}/health/ready`, { timeoutMs: 120_000, child, intervalMs: options.pollMs ?? 100 });
    return { child, url, readyMs: readyAt - child.spawnedAt };
  } catch (err) {
    if (err instanceof StoppedError) throw err;
    throw new Error(`${name} did not start: ${err.message}\n${tail(child.logFile)}`);
  }
}

// ---------------------------------------------------------------- event counting

/** Drops the performance.now() instants that the scenarios compute with from what goes into latest.json. */
const withoutInstants = (o) => {
  if (!o || typeof o !== 'object') return o;
  const { started_at: _s, ended_at: _e, drained_at: _d, ...rest } = o;
  return rest;
};

const TABLE_OF = { 'product.usage.recorded': 'usage_records', 'subscription.created': 'subscriptions' };

async function outboxPending(db) {
  try {
    return await db.count('SELECT count(*) FROM outbox_events');
  } catch {
    return null; // the service's schema changed: a diagnostic only
  }
}

/**
 * Waits (at most BENCH_DRAIN_TIMEOUT) until the outbox holds nothing unpublished; returns when it
 * was found empty (performance.now()), or null if it did not empty.
 */
async function outboxEmptied() {
  const r = await pollUntil(async () => ({ done: (await outboxPending(ctx.svcDb)) === 0, at: performance.now() }), {
    timeoutMs: CONFIG.drainTimeout * 1000,
    intervalMs: 20,
  });
  return r.done ? r.at : null;
}

/** Rows of the event's table and its messages on the run's stream (stored = acknowledged to the relay). */
async function snapshot(type) {
  const rows = await ctx.svcDb.count(`SELECT count(*) FROM ${TABLE_OF[type]}`);
  const events = ctx.bus ? await countSubject(ctx.bus, STREAM, subjectOf(PREFIX, SOURCE, type)) : null;
  return { rows, events, at: performance.now() };
}

/**
 * After a write load: waits (at most BENCH_DRAIN_TIMEOUT) until the stream holds one message per
 * new row and the outbox has nothing unpublished, rows no longer growing. Returns the deltas.
 */
async function drainCheck(type, before, responses2xx, loadEnd = performance.now()) {
  if (!ctx.bus) return { type, rows: (await snapshot(type)).rows - before.rows, events: null, missing: null, responses_2xx: responses2xx };
  let lastRows = -1;
  let caughtUpAt = null; // first poll of the current run of polls where the stream had caught up
  const final = await pollUntil(
    async () => {
      const now = await snapshot(type);
      const pending = await outboxPending(ctx.svcDb);
      const rows = now.rows - before.rows;
      const events = now.events - before.events;
      const caughtUp = events >= rows && (pending === null || pending === 0);
      if (!caughtUp || rows !== lastRows) caughtUpAt = caughtUp ? now.at : null;
      // done once caught up on two polls in a row with no new rows (answers still in flight when the load stopped)
      const done = caughtUp && rows === lastRows;
      lastRows = rows;
      return { done, rows, events, pending, at: caughtUpAt ?? now.at };
    },
    { timeoutMs: CONFIG.drainTimeout * 1000, intervalMs: 100 },
  );
  return {
    type,
    rows: final.rows,
    events: final.events,
    missing: Math.max(0, final.rows - final.events),
    extra_events: Math.max(0, final.events - final.rows),
    outbox_pending: final.pending,
    responses_2xx: responses2xx,
    drained: final.done,
    drain_wait_s: round((final.at - loadEnd) / 1000, 1),
    drained_at: final.at,
  };
}

// ---------------------------------------------------------------- HTTP scenarios

const target = (key, who, method, path, extra = {}) => ({
  key,
  who,
  method,
  path,
  urls: [ctx.urls[who]],
  endpoint: `${method} ${path}`,
  ...extra,
});

/** One request to each target: 404 → n/a (endpoint not on this build), other non-2xx → a note. */
async function probe(t) {
  const res = await fetch(t.urls[0] + t.path, {
    method: t.method,
    headers: { ...t.headers, ...t.requestHeaders?.() },
    body: t.body ? JSON.stringify(t.body()) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let code;
  try {
    code = JSON.parse(text)?.error?.code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code };
}

/** Probes, then alternating rounds over the targets that answer; returns { targets, notes }. */
async function measureTargets(label, targets) {
  const notes = [];
  const live = [];
  for (const t of targets) {
    const p = await probe(t);
    if (p.status === 404) notes.push(`${t.key}: n/a, ${t.endpoint} answers 404${p.code ? ` ${p.code}` : ''} (not on this build)`);
    else {
      if (p.status < 200 || p.status >= 300) notes.push(`${t.key}: probe answered ${p.status}${p.code ? ` ${p.code}` : ''}`);
      live.push(t);
    }
  }
  const measured = await alternatingRounds(live, { ...CONFIG, label, log });
  const out = {};
  for (const t of targets)
    out[t.key] = measured[t.key] ? { endpoint: t.endpoint, ...measured[t.key] } : { endpoint: t.endpoint, best: null };
  for (const [key, m] of Object.entries(measured)) {
    if (m.non_2xx > 0 || m.errors > 0) notes.push(`${key}: non-2xx by status ${JSON.stringify(m.status_codes)}, socket errors ${m.errors}`);
  }
  return { targets: out, notes };
}

const ratioOf = (a, b) =>
  a?.best && b?.best?.requests_per_second > 0 ? round(a.best.requests_per_second / b.best.requests_per_second, 2) : null;

function comparison(targets, service, against, againstLabel, serviceLabel = 'service') {
  return { service, service_label: serviceLabel, against, against_label: againstLabel, ratio: ratioOf(targets[service], targets[against]) };
}

async function scenarioHello() {
  const { targets, notes } = await measureTargets('hello', [
    target('service', 'service', 'GET', '/health/live'),
    target('reference', 'reference', 'GET', '/hello'),
    target('bare_nest', 'bare', 'GET', '/hello'),
  ]);
  return {
    name: 'hello',
    title: 'hello',
    kind: 'http',
    targets,
    comparisons: [
      comparison(targets, 'service', 'reference', 'reference'),
      comparison(targets, 'service', 'bare_nest', 'bare Nest'),
      comparison(targets, 'bare_nest', 'reference', 'reference', 'bare Nest'),
    ],
    notes,
  };
}

const READS = {
  product_read: { key: 'product_read', title: 'product read', path: `${API}/products/gpt-4o` },
  product_list: { key: 'product_list', title: 'product list', path: `${API}/products` },
  pricing: { key: 'pricing', title: 'pricing', path: `${API}/products/gpt-4o/pricing` },
  plans: { key: 'plans', title: 'plans', path: `${API}/plans` },
  product_read_token: {
    key: 'product_read_token',
    title: 'product read, user token',
    path: `${API}/products/gpt-4o`,
    headers: { authorization: `Bearer ${USER_TOKEN}` },
  },
};

/** The read scenarios share their rounds: reference PK read, the service's product read, and each selected read. */
async function scenarioReads(names) {
  const keys = ['product_read', ...names.filter((n) => n !== 'product_read')];
  const { targets, notes } = await measureTargets('reads', [
    target('reference', 'reference', 'GET', '/products/p1'),
    ...keys.map((k) => target(k, 'service', 'GET', READS[k].path, READS[k].headers ? { headers: READS[k].headers } : {})),
  ]);
  if (names.includes('product_read_token')) {
    // a public read treats a refused token as no token: check on a user route that this one is accepted
    const res = await fetch(`${ctx.urls.service}${API}/subscriptions/user/bench-user-0`, { headers: READS.product_read_token.headers });
    await res.arrayBuffer();
    if (res.status !== 200)
      notes.push(`product_read_token: the user token was refused on a user route (${res.status}); the read measured an anonymous caller`);
  }
  return names.map((name) => ({
    name,
    title: READS[name].title,
    kind: 'http',
    // each read scenario keeps its own target, the reference and the product read it is compared with
    targets: Object.fromEntries(Object.entries(targets).filter(([k]) => [name, 'reference', 'product_read'].includes(k))),
    comparisons: [
      comparison(targets, name, 'reference', 'reference'),
      ...(name === 'product_read' ? [] : [comparison(targets, name, 'product_read', 'own product read')]),
    ],
    notes: notes.filter((n) => n.startsWith(`${name}:`) || n.startsWith('reference:')),
  }));
}

async function scenarioUsageRecord() {
  const before = await snapshot('product.usage.recorded');
  const refBefore = await ctx.refDb.count('SELECT count(*) FROM ref_usage');
  const { targets, notes } = await measureTargets('usage_record', [
    target('service', 'service', 'POST', `${API}/usage/record`, {
      headers: { ...JSON_HEADERS, ...INTERNAL_HEADERS },
      body: () => usageRecord('bench'),
    }),
    // the same record with an Idempotency-Key instead of a request_id (as a Stripe-style client sends)
    target('service_keyed', 'service', 'POST', `${API}/usage/record`, {
      headers: { ...JSON_HEADERS, ...INTERNAL_HEADERS },
      requestHeaders: () => ({ 'idempotency-key': `bench-key-${RUN_ID}-${next()}` }),
      body: () => {
        const { request_id: _, ...record } = usageRecord('bench-keyed');
        return record;
      },
    }),
    target('reference', 'reference', 'POST', '/usage', {
      headers: JSON_HEADERS,
      body: () => ({ user_id: `bench-user-${seq++ % USERS}`, product_id: 'p1', quantity: 100 }),
    }),
  ]);
  const events = await drainCheck(
    'product.usage.recorded',
    before,
    targets.service.responses_2xx + (targets.service_keyed.responses_2xx ?? 0),
  );
  const referenceRows = (await ctx.refDb.count('SELECT count(*) FROM ref_usage')) - refBefore;
  if (events.missing) notes.push(`${events.missing} usage records have no product.usage.recorded event after ${events.drain_wait_s} s`);
  return {
    name: 'usage_record',
    title: 'usage record',
    kind: 'http',
    targets,
    comparisons: [
      comparison(targets, 'service', 'reference', 'reference'),
      comparison(targets, 'service_keyed', 'reference', 'reference', 'with Idempotency-Key'),
      comparison(targets, 'service_keyed', 'service', 'with request_id', 'with Idempotency-Key'),
    ],
    figures: { events: withoutInstants(events), reference_rows: referenceRows, reference_2xx: targets.reference.responses_2xx },
    notes,
  };
}

async function scenarioSubscriptionCreate() {
  const before = await snapshot('subscription.created');
  const { targets, notes } = await measureTargets('subscription_create', [
    target('service', 'service', 'POST', `${API}/subscriptions`, {
      headers: { ...JSON_HEADERS, ...INTERNAL_HEADERS },
      body: () => ({ user_id: `bench-sub-${RUN_ID}-${next()}`, plan_id: 'tier_pro_001' }),
    }),
    // the same with an Idempotency-Key (as a Stripe-style client sends on every POST)
    target('service_keyed', 'service', 'POST', `${API}/subscriptions`, {
      headers: { ...JSON_HEADERS, ...INTERNAL_HEADERS },
      requestHeaders: () => ({ 'idempotency-key': `bench-sub-key-${RUN_ID}-${next()}` }),
      body: () => ({ user_id: `bench-sub-${RUN_ID}-${next()}`, plan_id: 'tier_pro_001' }),
    }),
    target('reference', 'reference', 'POST', '/subscriptions', {
      headers: JSON_HEADERS,
      body: () => ({ user_id: `bench-sub-${RUN_ID}-${next()}`, product_id: 'p1' }),
    }),
  ]);
  const events = await drainCheck(
    'subscription.created',
    before,
    targets.service.responses_2xx + (targets.service_keyed.responses_2xx ?? 0),
  );
  if (events.missing) notes.push(`${events.missing} subscriptions have no subscription.created event after ${events.drain_wait_s} s`);
  return {
    name: 'subscription_create',
    title: 'subscription create',
    kind: 'http',
    targets,
    comparisons: [
      comparison(targets, 'service', 'reference', 'reference'),
      comparison(targets, 'service_keyed', 'reference', 'reference', 'with Idempotency-Key'),
      comparison(targets, 'service_keyed', 'service', 'without a key', 'with Idempotency-Key'),
    ],
    figures: { events: withoutInstants(events) },
    notes,
  };
}

async function scenarioTwoProcesses() {
  log('two_processes: starting a second service process, and an api-only one (PROCESS_ROLE=api), on the same database and stream');
  const [second, apiOnly] = await Promise.all([
    startService('service-2', { databaseUrl: ctx.svcDb.url }),
    startService('service-api', { databaseUrl: ctx.svcDb.url, role: 'api' }),
  ]);
  const before = await snapshot('product.usage.recorded');
  const body = () => usageRecord('bench2p');
  const headers = { ...JSON_HEADERS, ...INTERNAL_HEADERS };
  const path = `${API}/usage/record`;
  const { targets, notes } = await measureTargets('two_processes', [
    { key: 'one_process', method: 'POST', path, headers, body, urls: [ctx.urls.service], endpoint: `POST ${path}` },
    { key: 'two_processes', method: 'POST', path, headers, body, urls: [ctx.urls.service, second.url], endpoint: `POST ${path}` },
    // the split layout: HTTP on an api process, the relay on the others (idle as to HTTP: the workers' role)
    { key: 'api_process', method: 'POST', path, headers, body, urls: [apiOnly.url], endpoint: `POST ${path}` },
  ]);
  const answered = ['one_process', 'two_processes', 'api_process'].reduce((n, key) => n + (targets[key]?.responses_2xx ?? 0), 0);
  const events = await drainCheck('product.usage.recorded', before, answered);
  for (const p of [second, apiOnly]) {
    const exit = await stopProcess(p.child);
    if (exit !== 0) notes.push(`${p.child.label} exited with ${exit} on SIGTERM`);
  }
  if (events.missing) notes.push(`${events.missing} usage records have no event after ${events.drain_wait_s} s`);
  const comparisons = [
    comparison(targets, 'two_processes', 'one_process', 'the same, 1 process', '2 processes'),
    comparison(targets, 'api_process', 'one_process', 'the same, 1 process (relay in it)', 'api process (relay elsewhere)'),
  ];
  return {
    name: 'two_processes',
    title: 'usage record, 2 processes',
    kind: 'http',
    targets,
    comparisons,
    figures: { events: withoutInstants(events) },
    notes,
  };
}

// ---------------------------------------------------------------- profiles (BENCH_PROFILE)

/** The main service's flags and environment for BENCH_PROFILE: the profiler hook, started and stopped by SIGWINCH. */
function profilingOptions() {
  if (!CONFIG.profile) return {};
  ctx.profileDir = mkdtempSync(join(tmpdir(), 'product-bench-profiles-'));
  return {
    nodeFlags: [`--import=${join(ROOT, 'bench/lib/cpu-profile-hook.mjs')}`],
    env: { PROFILE_KIND: CONFIG.profile, PROFILE_OUT: join(ctx.profileDir, 'current') },
  };
}

/**
 * Runs `phase` (a scenario's measured part) under the service's profiler when BENCH_PROFILE is set:
 * the profile goes to <profile dir>/<name>.cpuprofile or .heapprofile and its summary to the log;
 * `units(result)` says how many records or events the phase handled (for bytes per unit).
 */
async function profiled(name, phase, units) {
  if (!CONFIG.profile) return phase();
  const written = join(ctx.profileDir, 'current');
  rmSync(written, { force: true });
  ctx.serviceChild.kill('SIGWINCH');
  let result;
  try {
    result = await phase();
  } finally {
    ctx.serviceChild.kill('SIGWINCH');
  }
  for (let i = 0; i < 100 && !existsSync(written); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(written)) {
    log(`${name}: no profile written`);
    return result;
  }
  const file = join(ctx.profileDir, `${name}.${CONFIG.profile}profile`);
  renameSync(written, file);
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const { count, unit } = units(result);
  const summary = CONFIG.profile === 'heap' ? summarizeHeap(profile, ROOT, count, unit) : summarizeCpu(profile, ROOT);
  log(`${name}: ${CONFIG.profile} profile ${file}\n${summary}`);
  return result;
}

// ---------------------------------------------------------------- event scenarios

const recordsAccepted = (body) => Number(body?.accepted ?? 0);

async function scenarioUsageBatch(previous) {
  const url = `${ctx.urls.service}${API}/usage/records/batch`;
  const headers = INTERNAL_HEADERS;
  const notes = [];
  const size = CONFIG.batchSize;
  if (CONFIG.warmup > 0) {
    log(`usage_batch: warm-up ${CONFIG.warmup} s`);
    const warmBefore = await snapshot('product.usage.recorded');
    const warm = await closedLoop({
      url,
      headers,
      callers: CONFIG.batchCallers,
      seconds: CONFIG.warmup,
      makeBody: () => usageBatch('warm', size),
      accepted: recordsAccepted,
    });
    await drainCheck('product.usage.recorded', warmBefore, warm.records); // start the measured load with an empty outbox
  }
  const before = await snapshot('product.usage.recorded');
  log(`usage_batch: ${CONFIG.batchCallers} callers × ${size} records for ${CONFIG.duration} s`);
  const http = await profiled(
    'usage_batch',
    () =>
      closedLoop({
        url,
        headers,
        callers: CONFIG.batchCallers,
        seconds: CONFIG.duration,
        makeBody: () => usageBatch('batch', size),
        accepted: recordsAccepted,
      }),
    (loaded) => ({ count: loaded.records, unit: 'record' }),
  );
  const atEnd = await snapshot('product.usage.recorded');
  const loadSeconds = http.elapsed_s;
  const duringLoad = atEnd.events === null ? null : atEnd.events - before.events;
  const events = await drainCheck('product.usage.recorded', before, http.records, http.ended_at);
  // time from the load's start until the stream held every record
  const allOnStreamAfter = events.drained ? (events.drained_at - http.started_at) / 1000 : null;
  if (http.non_2xx || http.errors) notes.push(`batch non-2xx by status ${JSON.stringify(http.status_codes)}, errors ${http.errors}`);
  if (events.missing) notes.push(`${events.missing} records without an event after ${events.drain_wait_s} s`);
  if (events.rows !== http.records) notes.push(`${events.rows} rows stored for ${http.records} records accepted`);
  const single = previous.find((s) => s.name === 'usage_record')?.targets.service?.best?.requests_per_second;
  const streamRate = allOnStreamAfter ? Math.round(events.events / allOnStreamAfter) : null;
  log(`usage_batch: ${http.records_per_second} records/s accepted, ${streamRate ?? 'n/a'} records/s on the stream`);
  return {
    name: 'usage_batch',
    title: 'usage batch',
    kind: 'events',
    figures: {
      callers: CONFIG.batchCallers,
      batch_size: size,
      records: http.records,
      load_s: loadSeconds,
      http_records_per_second: http.records_per_second,
      stream_records_per_second_during_load: duringLoad === null ? null : Math.round(duringLoad / loadSeconds),
      all_on_stream_after_s: allOnStreamAfter === null ? null : round(allOnStreamAfter, 1),
      stream_records_per_second: streamRate,
      missing: events.missing,
      vs_usage_record: single ? round(http.records_per_second / single, 2) : null,
      http: withoutInstants(http),
      events: withoutInstants(events),
    },
    notes,
  };
}

/** `n` subscriptions in status `incomplete` (paid plan, trial:false), created through the API with `callers` in parallel. */
async function createIncompleteSubscriptions(n, callers = 16) {
  const ids = [];
  const codes = {};
  let i = 0;
  const started = performance.now();
  const worker = async () => {
    while (i < n) {
      throwIfStopping();
      const k = i++;
      try {
        const res = await postJson(
          `${ctx.urls.service}${API}/subscriptions`,
          { user_id: `bench-inbound-${RUN_ID}-${k}`, plan_id: 'tier_pro_001', trial: false },
          INTERNAL_HEADERS,
        );
        codes[res.status] = (codes[res.status] ?? 0) + 1;
        if (res.status === 200 && res.body?.subscription_id)
          ids.push({ id: res.body.subscription_id, user: res.body.user_id, status: res.body.status });
      } catch {
        codes.error = (codes.error ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, worker));
  return { ids, codes, seconds: (performance.now() - started) / 1000 };
}

async function scenarioEventsInbound() {
  const n = CONFIG.inboundEvents;
  const notes = [];
  log(`events_inbound: creating ${n} incomplete subscriptions`);
  const subsBefore = await snapshot('subscription.created');
  const created = await createIncompleteSubscriptions(n);
  const incomplete = created.ids.filter((s) => s.status === 'incomplete');
  if (incomplete.length < created.ids.length)
    notes.push(`${created.ids.length - incomplete.length} subscriptions were not created incomplete`);
  const setupNon2xx = Object.entries(created.codes)
    .filter(([c]) => !c.startsWith('2'))
    .reduce((a, [, k]) => a + k, 0);
  if (setupNon2xx) notes.push(`subscription creation non-2xx: ${JSON.stringify(created.codes)}`);
  await drainCheck('subscription.created', subsBefore, created.ids.length); // the relay is idle before the inbound load
  const envelopes = incomplete.map((s, k) =>
    envelope(
      'payment.completed',
      'payment_service',
      {
        payment_intent_id: `pi_${RUN_ID}_${k}`,
        payment_id: `pay_${RUN_ID}_${k}`,
        user_id: s.user,
        amount: '20.00',
        currency: 'USD',
        payment_method: 'card',
        subscription_id: s.id,
        metadata: { subscription_id: s.id },
      },
      `bench-inbound-${RUN_ID}-${k}`,
    ),
  );
  const ids = incomplete.map((s) => s.id);
  const dlqBefore = await countSubjects(ctx.bus, STREAM, `${PREFIX}.dlq.>`);
  const inboxBefore = await ctx.svcDb.count(`SELECT count(*) FROM inbox_events WHERE type = 'payment.completed'`);
  log(`events_inbound: publishing ${envelopes.length} payment.completed envelopes`);
  const t0 = performance.now();
  const cpuAtStart = cpuTicks(ctx.servicePid);
  let published;
  const timeoutMs = CONFIG.drainTimeout * 1000;
  const claimed = await profiled(
    'events_inbound',
    async () => {
      await publishAll(ctx.bus, subjectOf(PREFIX, 'payment_service', 'payment.completed'), envelopes);
      published = performance.now();
      // Applied = claimed in the inbox: an event's inbox row commits in the transaction of its effect.
      // Counting the inbox rows is cheap; counting the subscriptions by id (a 5,000-id array, every
      // 100 ms) had cost PostgreSQL 20-50 ms a poll, a third of a core taken from the service under
      // test. The subscriptions are checked once, at the end.
      return pollUntil(
        async () => {
          const rows = (await ctx.svcDb.count(`SELECT count(*) FROM inbox_events WHERE type = 'payment.completed'`)) - inboxBefore;
          return { done: rows >= ids.length, rows, at: performance.now() };
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    (polled) => ({ count: polled.rows, unit: 'event' }),
  );
  const active = await ctx.svcDb.count(`SELECT count(*) FROM subscriptions WHERE subscription_id = ANY($1) AND status = 'active'`, [ids]);
  const final = { done: claimed.done && active >= ids.length, active, at: claimed.at };
  // the effects' own events (status_changed, activated): published before the next scenario starts
  const emptied = await outboxEmptied();
  // the service's CPU per event, applying it and relaying its two events: a measure of work that the
  // machine's speed and other load change far less than they change events/s
  const cpuUsPerEvent = Math.round(((cpuTicks(ctx.servicePid) - cpuAtStart) * 10_000) / Math.max(1, final.active));
  if (emptied === null) notes.push(`the outbox did not empty within ${CONFIG.drainTimeout} s`);
  const dead = (await countSubjects(ctx.bus, STREAM, `${PREFIX}.dlq.>`)) - dlqBefore;
  const applySeconds = (final.at - t0) / 1000;
  if (!final.done) notes.push(`only ${final.active} of ${ids.length} subscriptions active after ${CONFIG.drainTimeout} s`);
  if (dead) notes.push(`${dead} messages dead-lettered`);
  const rate = Math.round(final.active / applySeconds);
  log(
    `events_inbound: ${final.active}/${ids.length} active in ${round(applySeconds, 2)} s: ${rate} events/s (service CPU ${cpuUsPerEvent} µs per event)`,
  );
  return {
    name: 'events_inbound',
    title: 'events inbound',
    kind: 'events',
    figures: {
      events: envelopes.length,
      applied: final.active,
      apply_s: round(applySeconds, 2),
      events_per_second: rate,
      publish_s: round((published - t0) / 1000, 2),
      outbox_empty_s: emptied === null ? null : round((emptied - t0) / 1000, 2),
      service_cpu_us_per_event: cpuUsPerEvent,
      publish_per_second: Math.round(envelopes.length / ((published - t0) / 1000)),
      dead_lettered: dead,
      setup_creates_per_second: Math.round(created.ids.length / created.seconds),
      setup_non_2xx: setupNon2xx,
      setup_status_codes: created.codes,
    },
    notes,
  };
}

async function scenarioRelayLatency() {
  const notes = [];
  const batch = CONFIG.relayBatch;
  const tag = `relay-${RUN_ID}`;
  const latencies = [];
  let foreign = 0;
  const stop = await watchSubject(
    ctx.bus,
    STREAM,
    subjectOf(PREFIX, SOURCE, 'product.usage.recorded'),
    `bench_latency_${RUN_ID}`,
    (e, arrived) => {
      const ts = Date.parse(e?.timestamp);
      if (!String(e?.data?.request_id ?? '').startsWith(tag) || !Number.isFinite(ts)) foreign++;
      else latencies.push(arrived - ts);
    },
  );
  // a steady state: nothing of an earlier scenario queued ahead of the first record
  const waited = performance.now();
  if ((await outboxEmptied()) === null) notes.push('the outbox held events of an earlier scenario at the start');
  const waitedMs = Math.round(performance.now() - waited);
  if (waitedMs > 100) notes.push(`waited ${waitedMs} ms for the outbox to empty before the load`);
  const before = await snapshot('product.usage.recorded');
  const single = batch === 1;
  const url = `${ctx.urls.service}${API}${single ? '/usage/record' : '/usage/records/batch'}`;
  const requestsPerSecond = CONFIG.relayRate / batch;
  log(
    `relay_latency: ${CONFIG.relayRate} records/s offered (${round(requestsPerSecond, 1)} requests/s × ${batch}) for ${CONFIG.relaySeconds} s`,
  );
  const http = await openLoop({
    url,
    headers: INTERNAL_HEADERS,
    requestsPerSecond,
    seconds: CONFIG.relaySeconds,
    makeBody: () => (single ? usageRecord(tag) : usageBatch(tag, batch)),
    accepted: single ? () => 1 : recordsAccepted,
  });
  const events = await drainCheck('product.usage.recorded', before, http.records);
  // the consumer sees a message shortly after the stream stores it
  await pollUntil(async () => ({ done: latencies.length + foreign >= events.events }), { timeoutMs: 10_000, intervalMs: 100 });
  await stop();
  const sorted = [...latencies].sort((a, b) => a - b);
  const missing = Math.max(0, http.records - latencies.length);
  if (missing) notes.push(`${missing} accepted records were not seen on the consumer`);
  if (foreign) notes.push(`${foreign} other messages on the subject were ignored`);
  if (http.requests_skipped) notes.push(`${http.requests_skipped} ticks skipped: the service had 256 requests outstanding`);
  if (http.non_2xx || http.errors) notes.push(`non-2xx by status ${JSON.stringify(http.status_codes)}, errors ${http.errors}`);
  const figures = {
    offered_records_per_second: CONFIG.relayRate,
    batch_size: batch,
    offered_s: http.offered_s,
    accepted_records_per_second: Math.round(http.records / http.offered_s),
    received: latencies.length,
    missing,
    skipped_requests: http.requests_skipped,
    latency_ms: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? null,
      mean: sorted.length ? round(sorted.reduce((a, b) => a + b, 0) / sorted.length, 1) : null,
    },
    http,
    events: withoutInstants(events),
  };
  log(
    `relay_latency: p50 ${figures.latency_ms.p50} ms, p99 ${figures.latency_ms.p99} ms, max ${figures.latency_ms.max} ms over ${latencies.length} events`,
  );
  return { name: 'relay_latency', title: 'relay latency', kind: 'events', figures, notes };
}

async function scenarioBacklogDrain() {
  const notes = [];
  const n = CONFIG.backlogRecords;
  const db = await createDatabase(CONFIG.adminUrl, 'bench_backlog', RUN_ID);
  const stream = `${STREAM}_DRAIN`;
  const prefix = `${PREFIX}_drain`;
  deleteStreamAtEnd(ctx.bus, stream);
  const subject = subjectOf(prefix, SOURCE, 'product.usage.recorded');
  log(`backlog_drain: service with NATS_URL=off on its own database, recording ${n} usage records`);
  const offline = await startService('service-backlog-off', { databaseUrl: db.url, natsUrl: 'off', stream, prefix });
  const size = Math.min(CONFIG.batchSize, n);
  const http = await closedLoop({
    url: `${offline.url}${API}/usage/records/batch`,
    headers: INTERNAL_HEADERS,
    callers: CONFIG.batchCallers,
    seconds: CONFIG.backlogTimeout,
    maxRequests: Math.ceil(n / size),
    makeBody: () => usageBatch('backlog', size),
    accepted: recordsAccepted,
  });
  await stopProcess(offline.child);
  const rows = await db.count('SELECT count(*) FROM usage_records');
  const pending = await outboxPending(db);
  if (http.non_2xx || http.errors) notes.push(`recording non-2xx by status ${JSON.stringify(http.status_codes)}, errors ${http.errors}`);
  log(`backlog_drain: ${rows} records stored (${pending ?? 'n/a'} outbox rows unpublished); starting the service with NATS on`);
  const port = await freePort();
  const online = startProcess('service-backlog-on', process.execPath, [...ctx.nodeFlags, ctx.entry], {
    cwd: ROOT,
    logDir: ctx.workDir,
    env: serviceEnv({ port, databaseUrl: db.url, stream, prefix }),
  });
  let readyAt = null;
  void waitFor(`http://127.0.0.1:${port}/health/ready`, { timeoutMs: 120_000, child: online, intervalMs: 100 })
    .then((t) => (readyAt = t))
    .catch(() => undefined);
  let firstAt = null;
  const final = await pollUntil(
    async () => {
      if (online.exitCode !== null) throw new Error(`the service exited with ${online.exitCode} while draining\n${tail(online.logFile)}`);
      const count = await countSubject(ctx.bus, stream, subject);
      const at = performance.now();
      if (count > 0 && firstAt === null) firstAt = at;
      return { done: count >= rows, count, at };
    },
    { timeoutMs: CONFIG.backlogTimeout * 1000, intervalMs: 100 },
  );
  await stopProcess(online);
  const fromSpawn = (final.at - online.spawnedAt) / 1000;
  const fromFirst = firstAt === null ? null : (final.at - firstAt) / 1000;
  if (!final.done) notes.push(`only ${final.count} of ${rows} events on the stream after ${CONFIG.backlogTimeout} s`);
  const figures = {
    records: rows,
    outbox_pending_before: pending,
    record_records_per_second: http.records_per_second,
    on_stream: final.count,
    missing: Math.max(0, rows - final.count),
    ready_s: readyAt === null ? null : round((readyAt - online.spawnedAt) / 1000, 2),
    first_event_s: firstAt === null ? null : round((firstAt - online.spawnedAt) / 1000, 2),
    drain_s_from_spawn: round(fromSpawn, 2),
    drain_s_from_first: round(fromFirst, 2),
    drain_events_per_second: fromFirst ? Math.round(final.count / fromFirst) : null,
    drain_events_per_second_from_spawn: Math.round(final.count / fromSpawn),
    http: withoutInstants(http),
  };
  log(`backlog_drain: ${final.count}/${rows} on the stream, ${figures.drain_events_per_second ?? 'n/a'} events/s`);
  return { name: 'backlog_drain', title: 'backlog drain', kind: 'events', figures, notes };
}

// ---------------------------------------------------------------- startup

async function measureStartup() {
  const runs = [];
  for (let i = 1; i <= CONFIG.startupRuns; i++) {
    const s = await startService(`service-startup-${i}`, { databaseUrl: ctx.svcDb.url, pollMs: 10 });
    runs.push(Math.round(s.readyMs));
    await stopProcess(s.child);
    log(`startup ${i}/${CONFIG.startupRuns}: ready ${Math.round(s.readyMs)} ms after spawn`);
  }
  return { runs_ms: runs, median_ms: median(runs) };
}

// ---------------------------------------------------------------- main

function gitState() {
  const git = (...args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  const commit = git('rev-parse', '--short', 'HEAD').stdout?.trim() || 'unknown';
  const dirty = (git('status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)bench/results').stdout ?? '').trim() !== '';
  return { commit, dirty };
}

/** The figures a README quotes, flat: ratios, req/s of every target, the event figures, the process figures. */
function summaryOf(scenarios, proc) {
  const ratios = {};
  const requestsPerSecond = {};
  const events = {};
  for (const s of scenarios) {
    for (const c of s.comparisons ?? []) ratios[`${s.name}: ${c.service} / ${c.against}`] = c.ratio;
    for (const [key, t] of Object.entries(s.targets ?? {})) requestsPerSecond[`${s.name}: ${key}`] = t.best?.requests_per_second ?? null;
    const f = s.figures ?? {};
    if (f.events?.rows !== undefined) events[`${s.name}: rows / events / missing`] = [f.events.rows, f.events.events, f.events.missing];
    if (s.name === 'usage_batch') {
      Object.assign(events, {
        'usage_batch: records/s accepted': f.http_records_per_second,
        'usage_batch: records/s published and acked': f.stream_records_per_second,
      });
    }
    if (s.name === 'events_inbound') events['events_inbound: events/s applied'] = f.events_per_second;
    if (s.name === 'relay_latency') events['relay_latency: ms p50 / p99 / max'] = [f.latency_ms?.p50, f.latency_ms?.p99, f.latency_ms?.max];
    if (s.name === 'backlog_drain') events['backlog_drain: events/s drained'] = f.drain_events_per_second;
  }
  return {
    ratios,
    requests_per_second: requestsPerSecond,
    events,
    service_rss_mib: proc?.service?.rss_kib ? round(proc.service.rss_kib / 1024, 1) : null,
    service_rss_quiet_mib: proc?.service_quiet?.rss_kib ? round(proc.service_quiet.rss_kib / 1024, 1) : null,
    time_to_ready_median_ms: proc?.time_to_ready?.median_ms ?? null,
  };
}

let report;
let results = [];
const startedAt = new Date();
const loadAtStart = loadavg().map((l) => round(l, 2));

function writeReport(incomplete) {
  const { commit, dirty } = gitState();
  report = {
    run: {
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      commit,
      dirty,
      node: process.version,
      postgres: ctx.postgres ?? 'unknown',
      nats: ctx.bus ? `${ctx.bus.version} (local server)` : 'off',
      machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model?.trim() ?? 'unknown', memory_gib: Math.round(totalmem() / 2 ** 30) },
      scenarios: SELECTED,
      duration_s: CONFIG.duration,
      warmup_s: CONFIG.warmup,
      connections: CONFIG.connections,
      rounds: CONFIG.rounds,
      options: Object.fromEntries(Object.entries(CONFIG).filter(([k]) => !['adminUrl', 'referenceDir', 'outputDir'].includes(k))),
      load_average_at_start: loadAtStart,
      load_average_at_end: loadavg().map((l) => round(l, 2)),
    },
    elapsed_s: round((Date.now() - startedAt.getTime()) / 1000, 0),
    incomplete,
    summary: summaryOf(results, ctx.process),
    process: ctx.process,
    scenarios: results,
  };
  mkdirSync(CONFIG.outputDir, { recursive: true });
  writeFileSync(join(CONFIG.outputDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(CONFIG.outputDir, 'latest.md'), renderMarkdown(report));
  log(`wrote ${join(CONFIG.outputDir, 'latest.md')} and latest.json${incomplete ? ` (incomplete: ${incomplete})` : ''}`);
}

async function main() {
  assertLoopback('BENCH_ADMIN_DATABASE_URL', CONFIG.adminUrl);
  if (CONFIG.natsUrl !== 'off') assertLoopback('BENCH_NATS_URL', CONFIG.natsUrl);
  // the service runs as `npm start` runs it (and the image): its environment (malloc's thresholds), its Node
  // flags (e.g. --max-semi-space-size) and its entry (the bundle, dist/bundle/main.mjs)
  const start = npmStartCommand(ROOT);
  ctx.entry = join(ROOT, start.entry);
  ctx.nodeFlags = start.flags;
  ctx.startEnv = start.env;
  // extra flags for the service only, e.g. BENCH_SERVICE_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (profile of a whole run)
  ctx.nodeFlags.push(...(process.env.BENCH_SERVICE_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean));
  if (!existsSync(ctx.entry)) throw new Error(`${start.entry} is missing: run \`npm run build\` first (the benchmark builds nothing)`);
  log(`scenarios: ${SELECTED.join(', ')}`);
  if (CONFIG.profile)
    log(
      `BENCH_PROFILE=${CONFIG.profile}: the service runs under its profiler in usage_batch and events_inbound; their figures are not comparable`,
    );

  ctx.workDir = mkdtempSync(join(tmpdir(), 'product-bench-'));
  if (!process.env.BENCH_KEEP_WORKDIR) onCleanup(() => rmSync(ctx.workDir, { recursive: true, force: true }));
  const referenceDir = referenceWithDependencies(CONFIG.referenceDir);
  if (CONFIG.natsUrl !== 'off') {
    ctx.bus = await openBus(CONFIG.natsUrl);
    // A stream and subjects of this run's own (the service creates the stream), deleted at the end.
    deleteStreamAtEnd(ctx.bus, STREAM);
  }
  const [refDb, svcDb, platformUrl, refPort, barePort, postgres] = await Promise.all([
    createDatabase(CONFIG.adminUrl, 'bench_reference', RUN_ID),
    createDatabase(CONFIG.adminUrl, 'bench_service', RUN_ID),
    startFakePlatform(),
    freePort(),
    freePort(),
    postgresVersion(CONFIG.adminUrl),
  ]);
  Object.assign(ctx, { refDb, svcDb, platformUrl, postgres });

  const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME ?? ctx.workDir };
  const reference = startProcess('reference', process.execPath, [join(referenceDir, 'server.js')], {
    cwd: referenceDir,
    logDir: ctx.workDir,
    env: { ...baseEnv, DATABASE_URL: refDb.url, PORT: String(refPort), NODE_ENV: 'production' },
  });
  const bare = startProcess('bare-nest', process.execPath, [join(ROOT, 'bench', 'bare-nest.mjs')], {
    cwd: ROOT,
    logDir: ctx.workDir,
    env: { ...baseEnv, PORT: String(barePort), HOST: '127.0.0.1', NODE_ENV: 'production' },
  });
  log(`service: NATS ${CONFIG.natsUrl}, stream ${STREAM}, subjects ${PREFIX}.>`);
  const [service] = await Promise.all([
    startService('service', { databaseUrl: svcDb.url, natsUrl: CONFIG.natsUrl, ...profilingOptions() }),
    waitFor(`http://127.0.0.1:${refPort}/hello`, { timeoutMs: 60_000, child: reference }).catch((err) => {
      throw new Error(`reference did not start: ${err.message}\n${tail(reference.logFile)}`);
    }),
    waitFor(`http://127.0.0.1:${barePort}/hello`, { timeoutMs: 60_000, child: bare }).catch((err) => {
      throw new Error(`bare Nest did not start: ${err.message}\n${tail(bare.logFile)}`);
    }),
  ]);
  ctx.urls = { service: service.url, reference: `http://127.0.0.1:${refPort}`, bare: `http://127.0.0.1:${barePort}` };
  ctx.process = { first_start_ms: Math.round(service.readyMs) };
  ctx.servicePid = service.child.pid;
  ctx.serviceChild = service.child;
  log(`all servers ready (service: ${Math.round(service.readyMs)} ms to ready on an empty database)`);

  const want = (name) => SELECTED.includes(name);
  const entry = (name, note, extra = {}) => ({
    name,
    title: name.replace(/_/g, ' '),
    kind: EVENT_SCENARIOS.has(name) ? 'events' : 'http',
    note,
    ...extra,
  });
  /** Runs one scenario; a failure is recorded (with the service's last log lines) and the run goes on. */
  const run = async (names, fn, { needsBus = false } = {}) => {
    const list = [names].flat().filter(want);
    if (list.length === 0) return;
    if (needsBus && !ctx.bus) {
      results.push(...list.map((n) => entry(n, 'skipped: BENCH_NATS_URL=off')));
      return;
    }
    try {
      const out = await fn(list);
      if (out) results.push(...[out].flat());
    } catch (err) {
      if (err instanceof StoppedError || isStopping()) throw err;
      log(`${list.join(', ')} failed: ${err.message}`);
      results.push(
        ...list.map((n) => entry(n, `failed: ${err.message.split('\n')[0]}`, { error_log_tail: tail(service.child.logFile, 20) })),
      );
    }
  };

  await run('startup', async () => {
    ctx.process.time_to_ready = await measureStartup();
  });
  await run('hello', scenarioHello);
  await run(Object.keys(READS), scenarioReads);
  await run('usage_record', scenarioUsageRecord);
  await run('subscription_create', scenarioSubscriptionCreate);
  await run('usage_batch', () => scenarioUsageBatch(results));
  await run('events_inbound', scenarioEventsInbound, { needsBus: true });
  await run('relay_latency', scenarioRelayLatency, { needsBus: true });
  await run('two_processes', scenarioTwoProcesses);
  await run('backlog_drain', scenarioBacklogDrain, { needsBus: true });

  // after the whole benchmark, before anything is stopped
  ctx.process.service = memoryOf(service.child.pid);
  ctx.process.bare_nest = memoryOf(bare.pid);
  ctx.process.reference = memoryOf(reference.pid);
  // and once more after a quiet spell: what the service holds when the load is over (MEMORY_IDLE_GC_MS)
  if (CONFIG.quietSeconds > 0) {
    log(`memory: ${CONFIG.quietSeconds} s without load, then the service's RSS again`);
    await sleep(CONFIG.quietSeconds * 1000);
    ctx.process.service_quiet = { ...memoryOf(service.child.pid), after_seconds: CONFIG.quietSeconds };
  }
  writeReport();
  console.log(`\n${renderMarkdown(report)}`);
}

function onSignal(signal) {
  console.error(`\n[bench] ${signal}: stopping everything this run started`);
  void cleanupAll().finally(() => process.exit(130));
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

let deadlineHit = false;
const deadline = setTimeout(() => {
  deadlineHit = true;
  console.error(`[bench] BENCH_MAX_SECONDS (${CONFIG.maxSeconds} s) reached: stopping`);
  void cleanupAll();
  // whatever does not notice the stop within 30 s
  setTimeout(() => process.exit(1), 30_000).unref();
}, CONFIG.maxSeconds * 1000);
deadline.unref();

main()
  .then(async () => {
    await cleanupAll();
    process.exit(0);
  })
  .catch(async (err) => {
    if (deadlineHit) {
      try {
        writeReport(`stopped by BENCH_MAX_SECONDS=${CONFIG.maxSeconds}`);
      } catch (writeErr) {
        console.error(`[bench] could not write the partial report: ${writeErr.message}`);
      }
    } else if (!(err instanceof StoppedError) || !isStopping()) {
      console.error(`[bench] failed: ${err.stack ?? err.message}`);
    }
    await cleanupAll();
    process.exit(1);
  });
