#!/usr/bin/env node
// Reproducible load benchmark: the product service beside ../shared/bench-reference (the thinnest
// Node + pg server doing the same database work), same machine, same run, so the report is a ratio.
//
//   npm run build && npm run bench
//
// It builds nothing: it runs dist/src/main.js as built. It creates two scratch PostgreSQL databases
// (dropped at the end), starts the reference, a fake account service and the service on free
// loopback ports, then runs each scenario against the reference and the service in turn
// (warm-up, then a measured run), and writes bench/results/latest.md and latest.json.
// Only loopback addresses are used; everything it started is stopped, also on Ctrl-C or errors,
// and the whole run is bounded by BENCH_MAX_SECONDS.
//
// Environment (all optional):
//   BENCH_DURATION=10          seconds per measured run
//   BENCH_WARMUP=2             seconds of warm-up before each measured run
//   BENCH_CONNECTIONS=32       concurrent connections
//   BENCH_ROUNDS=2             measured rounds per target, alternating the order; the best round is reported
//   BENCH_SCENARIOS=a,b        only these scenarios (hello, product_read, usage_record, subscription_create)
//   BENCH_ADMIN_DATABASE_URL   postgres://postgres@127.0.0.1:5432/postgres (creates and drops the scratch databases)
//   BENCH_NATS_URL             nats://127.0.0.1:4222 (the service's event bus; "off" to run without)
//   BENCH_REFERENCE_DIR        ../shared/bench-reference
//   BENCH_MAX_SECONDS=900      hard limit for the whole run
//   BENCH_OUTPUT_DIR           bench/results
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const num = (name, fallback) => {
  const value = env[name] === undefined || env[name] === '' ? fallback : Number(env[name]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got "${env[name]}")`);
  return value;
};

const CONFIG = {
  duration: num('BENCH_DURATION', 10),
  warmup: num('BENCH_WARMUP', 2),
  connections: num('BENCH_CONNECTIONS', 32),
  rounds: num('BENCH_ROUNDS', 2),
  maxSeconds: num('BENCH_MAX_SECONDS', 900),
  scenarios: env.BENCH_SCENARIOS ? env.BENCH_SCENARIOS.split(',').map((s) => s.trim()) : undefined,
  adminUrl: env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  natsUrl: env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222',
  referenceDir: resolve(ROOT, env.BENCH_REFERENCE_DIR ?? '../shared/bench-reference'),
  outputDir: resolve(ROOT, env.BENCH_OUTPUT_DIR ?? 'bench/results'),
};

const INTERNAL_SECRET = 'bench-internal-secret';
const INTERNAL_HEADERS = { 'x-internal-service': 'true', 'x-internal-service-secret': INTERNAL_SECRET };
const JSON_HEADERS = { 'content-type': 'application/json' };
const RUN_ID = randomBytes(4).toString('hex');

const log = (...args) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);

// ---------------------------------------------------------------- loopback only

const isLoopbackHost = (host) => /^127(\.\d{1,3}){3}$/.test(host) || host === 'localhost' || host === '[::1]' || host === '::1';
function assertLoopback(name, url) {
  const host = new URL(url).hostname;
  if (!isLoopbackHost(host)) throw new Error(`${name} must point at a loopback address (127.0.0.0/8, localhost, ::1), got ${host}`);
}

// ---------------------------------------------------------------- resources to release

/** Deletes a JetStream stream this run created (the service creates it at start). */
async function deleteStream(natsUrl, name) {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: natsUrl, timeout: 2000 });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

const cleanups = [];
let currentLoad;
let stopping = false;

let cleanupPromise;
/** Releases everything, in reverse order of creation; every caller gets the same promise. */
function cleanupAll() {
  cleanupPromise ??= (async () => {
    stopping = true;
    currentLoad?.stop();
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error('[bench] cleanup step failed:', err.message);
      }
    }
  })();
  return cleanupPromise;
}

function onSignal(signal) {
  console.error(`\n[bench] ${signal}: stopping everything this run started`);
  void cleanupAll().finally(() => process.exit(130));
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// ---------------------------------------------------------------- helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

async function waitFor(url, { timeoutMs, expectStatus = 200, child }) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`process exited with code ${child.exitCode} while waiting for ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === expectStatus) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = err.message;
    }
    await sleep(250);
  }
  throw new Error(`${url} did not answer ${expectStatus} within ${timeoutMs / 1000} s (${last})`);
}

/** Starts a child process whose output goes to a log file; registers its shutdown. */
function startProcess(name, command, args, options) {
  const logFile = join(options.logDir, `${name}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  child.logFile = logFile;
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });
  return child;
}

const tail = (file, lines = 30) => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
};

function run(command, args, options) {
  const result = spawnSync(command, args, { stdio: 'inherit', timeout: 5 * 60_000, ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})`);
}

// ---------------------------------------------------------------- reference server dependencies

/** The reference's folder with node_modules: itself, or a cached copy in the temp dir (../shared is read-only). */
function referenceWithDependencies() {
  const dir = CONFIG.referenceDir;
  if (!existsSync(join(dir, 'server.js'))) throw new Error(`no bench reference at ${dir} (set BENCH_REFERENCE_DIR)`);
  if (existsSync(join(dir, 'node_modules', 'fastify')) && existsSync(join(dir, 'node_modules', 'pg'))) return dir;
  const lock = readFileSync(join(dir, 'package-lock.json'));
  const hash = createHash('sha256')
    .update(lock)
    .update(readFileSync(join(dir, 'server.js')))
    .digest('hex')
    .slice(0, 12);
  const cached = join(tmpdir(), `product-bench-reference-${hash}`);
  if (existsSync(join(cached, 'node_modules', 'fastify'))) {
    log(`reference dependencies: reusing ${cached}`);
    return cached;
  }
  log(`reference dependencies: npm ci into a copy at ${cached} (${dir} is read-only)`);
  const staging = mkdtempSync(join(tmpdir(), 'product-bench-reference-staging-'));
  try {
    cpSync(dir, staging, { recursive: true, filter: (src) => !src.includes('node_modules') });
    run('npm', ['ci', '--no-audit', '--no-fund', '--omit=dev'], { cwd: staging });
    rmSync(cached, { recursive: true, force: true });
    renameSync(staging, cached);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return cached;
}

// ---------------------------------------------------------------- scratch databases

async function createDatabase(prefix) {
  const name = `${prefix}_${RUN_ID}`;
  const admin = new pg.Client({ connectionString: CONFIG.adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  cleanups.push(async () => {
    const client = new pg.Client({ connectionString: CONFIG.adminUrl });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await client.end();
    }
  });
  const url = new URL(CONFIG.adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function postgresVersion() {
  const client = new pg.Client({ connectionString: CONFIG.adminUrl });
  await client.connect();
  try {
    return (await client.query('SHOW server_version')).rows[0].server_version;
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------- fake account / organization service

/** Answers every user as existing and active, every organization as existing with everyone a member. */
async function startFakePlatform() {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    let body;
    let m;
    if (path === '/health') body = { status: 'healthy' };
    else if ((m = path.match(/^\/api\/v1\/accounts\/profile\/([^/]+)$/))) {
      const userId = decodeURIComponent(m[1]);
      body = { user_id: userId, email: `${userId}@bench.local`, name: userId, is_active: true };
    } else if ((m = path.match(/^\/api\/v1\/organizations\/([^/]+)\/members$/))) {
      body = { members: [], total: 0, limit: 100, offset: 0 };
    } else if ((m = path.match(/^\/api\/v1\/organizations\/([^/]+)$/))) {
      body = { organization_id: decodeURIComponent(m[1]), name: 'Bench org', status: 'active' };
    }
    const payload = JSON.stringify(body ?? { detail: 'not found' });
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${server.address().port}`;
}

// ---------------------------------------------------------------- scenarios

let seq = 0;
const unique = () => `${RUN_ID}-${(seq++).toString(36)}`;

/** Each target: method, path, headers, and a body factory called once per request (unique ids). */
const SCENARIOS = [
  {
    name: 'hello',
    title: 'hello ceiling',
    reference: { method: 'GET', path: '/hello' },
    service: { method: 'GET', path: '/health/live' },
  },
  {
    name: 'product_read',
    title: 'product read',
    reference: { method: 'GET', path: '/products/p1' },
    service: { method: 'GET', path: '/api/v1/product/products/gpt-4o' },
  },
  {
    name: 'usage_record',
    title: 'usage record',
    reference: {
      method: 'POST',
      path: '/usage',
      headers: JSON_HEADERS,
      body: () => ({ user_id: `bench-user-${seq++ % 1000}`, product_id: 'p1', quantity: 100 }),
    },
    service: {
      method: 'POST',
      path: '/api/v1/product/usage/record',
      headers: { ...JSON_HEADERS, ...INTERNAL_HEADERS },
      body: () => {
        const n = seq++;
        return { user_id: `bench-user-${n % 1000}`, product_id: 'gpt-4o', usage_amount: 100, request_id: `bench-${RUN_ID}-${n}` };
      },
    },
  },
  {
    name: 'subscription_create',
    title: 'subscription create',
    reference: {
      method: 'POST',
      path: '/subscriptions',
      headers: JSON_HEADERS,
      body: () => ({ user_id: `bench-sub-${unique()}`, product_id: 'p1' }),
    },
    service: {
      method: 'POST',
      path: '/api/v1/product/subscriptions',
      headers: JSON_HEADERS,
      body: () => ({ user_id: `bench-sub-${unique()}`, plan_id: 'tier_pro_001' }),
    },
  },
];

/** One request, to find out whether the endpoint exists and works before loading it. */
async function probe(baseUrl, target) {
  const res = await fetch(baseUrl + target.path, {
    method: target.method,
    headers: target.headers,
    body: target.body ? JSON.stringify(target.body()) : undefined,
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

function load(baseUrl, target, seconds) {
  return new Promise((resolveLoad, reject) => {
    const request = { method: target.method, path: target.path, headers: target.headers };
    if (target.body) {
      request.setupRequest = (req) => ({ ...req, body: JSON.stringify(target.body()) });
    }
    currentLoad = autocannon(
      { url: baseUrl, connections: CONFIG.connections, duration: seconds, timeout: 10, requests: [request] },
      (err, result) => {
        currentLoad = undefined;
        if (stopping) reject(new Error('stopped'));
        else if (err) reject(err);
        else resolveLoad(result);
      },
    );
  });
}

const summarize = (r) => ({
  requests_per_second: Math.round(r.requests.average),
  total_requests: r.totalCompletedRequests,
  duration_s: r.duration,
  latency_ms: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.average },
  non_2xx: r.non2xx,
  errors: r.errors,
  timeouts: r.timeouts,
  status_codes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count])),
});

async function measure(label, baseUrl, target) {
  log(`${label}: warm-up ${CONFIG.warmup} s`);
  await load(baseUrl, target, CONFIG.warmup);
  if (stopping) throw new Error('stopped');
  log(`${label}: measuring ${CONFIG.duration} s, ${CONFIG.connections} connections`);
  const result = summarize(await load(baseUrl, target, CONFIG.duration));
  log(
    `${label}: ${result.requests_per_second} req/s, p50 ${result.latency_ms.p50} ms, p99 ${result.latency_ms.p99} ms, non-2xx ${result.non_2xx}`,
  );
  return result;
}

// ---------------------------------------------------------------- report

const fmt = (n) => (n === undefined || n === null ? 'n/a' : n.toLocaleString('en-US'));
const lat = (r) => (r ? `${r.latency_ms.p50} / ${r.latency_ms.p99}` : 'n/a');

function renderMarkdown(report) {
  const lines = [
    '# Benchmark: product service vs bench-reference',
    '',
    `Run ${report.run.started_at} on ${report.run.machine.cpus} x ${report.run.machine.cpu_model}, ${report.run.machine.memory_gib} GiB,`,
    `Node ${report.run.node}, PostgreSQL ${report.run.postgres}, NATS ${report.run.nats}, commit ${report.run.commit}.`,
    `Each scenario: ${report.run.rounds} round(s) per server, alternating the order, each a ${report.run.warmup_s} s warm-up then ${report.run.duration_s} s`,
    `with ${report.run.connections} connections (autocannon, loopback); the best round of each server is shown. Ratio = service / reference req/s.`,
    `Load average (1/5/15 min) at start ${report.run.load_average_at_start.join(' / ')}, at end ${report.run.load_average_at_end.join(' / ')}`,
    '(the machine is shared: figures are comparable within this run only).',
    '',
    '| scenario | reference req/s | service req/s | ratio | reference p50 / p99 ms | service p50 / p99 ms | non-2xx reference / service |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of report.scenarios) {
    const ratio = s.ratio === null ? 'n/a' : s.ratio.toFixed(2);
    const non2xx = `${fmt(s.reference?.non_2xx)} / ${fmt(s.service?.non_2xx)}`;
    lines.push(
      `| ${s.title} (\`${s.reference_endpoint}\` vs \`${s.service_endpoint}\`) | ${fmt(s.reference?.requests_per_second)} | ${fmt(s.service?.requests_per_second)} | ${ratio} | ${lat(s.reference)} | ${lat(s.service)} | ${non2xx} |`,
    );
  }
  const notes = report.scenarios.filter((s) => s.note);
  if (notes.length > 0) {
    lines.push('', 'Notes:', '');
    for (const s of notes) lines.push(`- ${s.title}: ${s.note}`);
  }
  lines.push('', 'Reproduce: `npm run build && npm run bench` (see docs/operations.md for the settings).', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

async function main() {
  const startedAt = new Date();
  const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100);
  assertLoopback('BENCH_ADMIN_DATABASE_URL', CONFIG.adminUrl);
  if (CONFIG.natsUrl !== 'off') assertLoopback('BENCH_NATS_URL', CONFIG.natsUrl);
  const entry = join(ROOT, 'dist', 'src', 'main.js');
  if (!existsSync(entry)) throw new Error('dist/src/main.js is missing: run `npm run build` first (the benchmark builds nothing)');
  const scenarios = SCENARIOS.filter((s) => !CONFIG.scenarios || CONFIG.scenarios.includes(s.name));
  if (scenarios.length === 0) throw new Error(`BENCH_SCENARIOS matches none of ${SCENARIOS.map((s) => s.name).join(', ')}`);

  const deadline = setTimeout(() => {
    console.error(`[bench] BENCH_MAX_SECONDS (${CONFIG.maxSeconds} s) reached: stopping`);
    void cleanupAll().finally(() => process.exit(1));
  }, CONFIG.maxSeconds * 1000);
  deadline.unref();

  const workDir = mkdtempSync(join(tmpdir(), 'product-bench-'));
  cleanups.push(() => rmSync(workDir, { recursive: true, force: true }));

  const referenceDir = referenceWithDependencies();
  const [referenceDb, serviceDb, accountUrl, refPort, svcPort, postgres] = await Promise.all([
    createDatabase('bench_reference'),
    createDatabase('bench_service'),
    startFakePlatform(),
    freePort(),
    freePort(),
    postgresVersion(),
  ]);

  const baseEnv = { PATH: env.PATH, HOME: env.HOME ?? workDir };
  log(`reference on 127.0.0.1:${refPort}`);
  const reference = startProcess('reference', process.execPath, [join(referenceDir, 'server.js')], {
    cwd: referenceDir,
    logDir: workDir,
    env: { ...baseEnv, DATABASE_URL: referenceDb, PORT: String(refPort), NODE_ENV: 'production' },
  });
  // A stream and subjects of this run's own, deleted at the end: the machine's EVENTS stream is left alone.
  const benchStream = `BENCH_${process.pid}`;
  if (CONFIG.natsUrl !== 'off') cleanups.push(() => deleteStream(CONFIG.natsUrl, benchStream));
  log(`service on 127.0.0.1:${svcPort} (NATS ${CONFIG.natsUrl}, stream ${benchStream})`);
  const service = startProcess('service', process.execPath, [entry], {
    cwd: ROOT,
    logDir: workDir,
    env: {
      ...baseEnv,
      NODE_ENV: 'benchmark',
      HOST: '127.0.0.1',
      PORT: String(svcPort),
      DATABASE_URL: serviceDb,
      DB_POOL_SIZE: '10',
      NATS_URL: CONFIG.natsUrl,
      EVENTS_STREAM: benchStream,
      EVENTS_SUBJECT_PREFIX: `bench_${process.pid}`,
      LOG_LEVEL: 'warn',
      INTERNAL_SERVICE_SECRET: INTERNAL_SECRET,
      ACCOUNT_SERVICE_URL: accountUrl,
      ORGANIZATION_SERVICE_URL: accountUrl,
      // the limiter runs (its cost is measured) but never refuses the benchmark's single client
      RATE_LIMIT_PER_MIN: '100000000',
      SHUTDOWN_GRACE_MS: '1000',
    },
  });
  const refUrl = `http://127.0.0.1:${refPort}`;
  const svcUrl = `http://127.0.0.1:${svcPort}`;
  try {
    await waitFor(`${refUrl}/hello`, { timeoutMs: 60_000, child: reference });
  } catch (err) {
    throw new Error(`reference did not start: ${err.message}\n${tail(reference.logFile)}`);
  }
  try {
    await waitFor(`${svcUrl}/health/ready`, { timeoutMs: 90_000, child: service });
  } catch (err) {
    throw new Error(`service did not start: ${err.message}\n${tail(service.logFile)}`);
  }
  log('both servers ready');

  const results = [];
  for (const scenario of scenarios) {
    if (stopping) break;
    const entryResult = {
      name: scenario.name,
      title: scenario.title,
      reference_endpoint: `${scenario.reference.method} ${scenario.reference.path}`,
      service_endpoint: `${scenario.service.method} ${scenario.service.path}`,
      reference: null,
      service: null,
      ratio: null,
      note: undefined,
    };
    results.push(entryResult);
    const refProbe = await probe(refUrl, scenario.reference);
    const svcProbe = await probe(svcUrl, scenario.service);
    if (refProbe.status < 200 || refProbe.status >= 300) entryResult.note = `reference probe answered ${refProbe.status}`;
    const serviceAvailable = svcProbe.status !== 404;
    if (!serviceAvailable) {
      entryResult.note = `n/a: the service answers 404${svcProbe.code ? ` ${svcProbe.code}` : ''} (endpoint not on this build)`;
      log(`${scenario.name} service: ${entryResult.note}`);
    } else if (svcProbe.status < 200 || svcProbe.status >= 300) {
      entryResult.note = `service probe answered ${svcProbe.status}${svcProbe.code ? ` ${svcProbe.code}` : ''}: figures include error responses`;
    }
    // Rounds alternate the order (reference first, then service first, ...) and the best round of
    // each counts: load from other processes on a shared machine only ever lowers a figure.
    const rounds = { reference: [], service: [] };
    for (let round = 1; round <= CONFIG.rounds && !stopping; round++) {
      const order = round % 2 === 1 ? ['reference', 'service'] : ['service', 'reference'];
      for (const who of order) {
        if (who === 'service' && !serviceAvailable) continue;
        const [url, target] = who === 'reference' ? [refUrl, scenario.reference] : [svcUrl, scenario.service];
        rounds[who].push(await measure(`${scenario.name} ${who} (round ${round}/${CONFIG.rounds})`, url, target));
      }
    }
    const best = (list) => (list.length ? list.reduce((a, b) => (b.requests_per_second > a.requests_per_second ? b : a)) : null);
    entryResult.reference = best(rounds.reference);
    entryResult.service = best(rounds.service);
    entryResult.rounds = rounds;
    if (!entryResult.service) continue;
    entryResult.ratio =
      entryResult.reference.requests_per_second > 0
        ? Math.round((entryResult.service.requests_per_second / entryResult.reference.requests_per_second) * 100) / 100
        : null;
    if (!entryResult.note && (entryResult.service.non_2xx > 0 || entryResult.service.errors > 0)) {
      entryResult.note = `service non-2xx by status: ${JSON.stringify(entryResult.service.status_codes)}, socket errors ${entryResult.service.errors}`;
    }
  }

  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() || 'unknown';
  const report = {
    run: {
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      commit,
      node: process.version,
      postgres,
      nats: CONFIG.natsUrl === 'off' ? 'off' : 'on (local server)',
      machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model?.trim() ?? 'unknown', memory_gib: Math.round(totalmem() / 2 ** 30) },
      duration_s: CONFIG.duration,
      warmup_s: CONFIG.warmup,
      connections: CONFIG.connections,
      rounds: CONFIG.rounds,
      load_average_at_start: loadAtStart,
      load_average_at_end: loadavg().map((l) => Math.round(l * 100) / 100),
    },
    scenarios: results,
  };
  mkdirSync(CONFIG.outputDir, { recursive: true });
  writeFileSync(join(CONFIG.outputDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(CONFIG.outputDir, 'latest.md'), renderMarkdown(report));
  log(`wrote ${join(CONFIG.outputDir, 'latest.md')} and latest.json`);
  console.log(`\n${renderMarkdown(report)}`);
}

main()
  .then(async () => {
    await cleanupAll();
    process.exit(0);
  })
  .catch(async (err) => {
    console.error(`[bench] failed: ${err.message}`);
    await cleanupAll();
    process.exit(1);
  });
