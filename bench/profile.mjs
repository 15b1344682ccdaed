#!/usr/bin/env node
// Where the time goes: runs the built service as `npm start` does (the bundle, its Node flags and
// environment) with a CPU profiler that covers the load only (a preload,
// bench/lib/cpu-profile-hook.mjs, started and stopped by SIGWINCH after a warm-up), loads one
// endpoint with autocannon, and prints the self time by function, by file of this project and by
// npm package.
//
//   npm run build && node bench/profile.mjs GET /health/live
//   node bench/profile.mjs POST /api/v1/product/usage/record        (a usage record body, unique request ids)
//   PROFILE_SECONDS=15 PROFILE_CONNECTIONS=32 PROFILE_NATS_URL=off node bench/profile.mjs GET /api/v1/product/products/gpt-4o
//   PROFILE_KIND=heap node bench/profile.mjs POST /api/v1/product/usage/record   (what allocates: bytes per request)
//   PROFILE_IDEMPOTENCY_KEYS=1 node bench/profile.mjs POST /api/v1/product/usage/record   (a unique Idempotency-Key
//                                                                  per request, and no request_id in the body)
//
// The .cpuprofile stays in the printed directory (open it in Chrome DevTools or speedscope for the
// flame graph). Uses a scratch database on the local PostgreSQL (dropped at the end).
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { autocannonRun } from './lib/load.mjs';
import { cleanupAll, cpuTicks, freePort, log, onCleanup, startProcess, stopProcess, waitFor } from './lib/harness.mjs';
import { createDatabase, startFakePlatform } from './lib/platform.mjs';
import { summarizeCpu, summarizeHeap } from './lib/profile-summary.mjs';
import { deleteScratchStreamAtEnd } from './lib/jetstream.mjs';
import { npmStartCommand, sampleBodies, scratchServiceEnv, scratchStreamName } from './lib/scratch-service.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [method = 'GET', path = '/health/live'] = process.argv.slice(2);
const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const connections = Number(process.env.PROFILE_CONNECTIONS ?? 32);
// PROFILE_CONNECTIONS=4 for the batch endpoint (4 callers, as in the benchmark)
const adminUrl = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.PROFILE_NATS_URL ?? 'nats://127.0.0.1:4222';
const heapProfile = process.env.PROFILE_KIND === 'heap';
const keyed = process.env.PROFILE_IDEMPOTENCY_KEYS === '1';
const runId = randomBytes(4).toString('hex');
const SECRET = 'profile-internal-secret';

const bodies = sampleBodies('prof', runId);
let keyCount = 0;

async function main() {
  const profileDir = mkdtempSync(join(tmpdir(), 'product-profile-'));
  const [db, platformUrl, port] = await Promise.all([createDatabase(adminUrl, 'profile', runId), startFakePlatform(), freePort()]);
  await deleteScratchStreamAtEnd(natsUrl, scratchStreamName('profile', runId)); // after the service has stopped
  const profileFile = join(profileDir, heapProfile ? 'load.heapprofile' : 'load.cpuprofile');
  const hook = join(ROOT, 'bench/lib/cpu-profile-hook.mjs');
  // what `npm start` runs (the bundle, its Node flags and environment), with the profiler's hook
  const start = npmStartCommand(ROOT);
  const service = startProcess('service', process.execPath, [...start.flags, '--import', hook, join(ROOT, start.entry)], {
    cwd: ROOT,
    logDir: profileDir,
    env: {
      ...start.env,
      ...scratchServiceEnv({
        tool: 'profile',
        runId,
        port,
        databaseUrl: db.url,
        natsUrl,
        platformUrl,
        secret: SECRET,
        // PROFILE_LOG_LEVEL=debug: e.g. one line per usage group (size, time) in the service log beside the profile
        logLevel: process.env.PROFILE_LOG_LEVEL ?? 'warn',
      }),
      PROFILE_OUT: profileFile,
      PROFILE_KIND: heapProfile ? 'heap' : 'cpu',
      // the tuning knobs pass through, to compare settings: USAGE_GROUP_CONCURRENCY=1 node bench/profile.mjs ...
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(USAGE_GROUP_|OUTBOX_|EVENTS_CONSUMER_|DB_POOL_SIZE)/.test(k))),
    },
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/health/ready`, { timeoutMs: 60_000, child: service });
  const makeBody = bodies[path];
  const target = {
    urls: [base],
    method,
    path,
    headers: { 'content-type': 'application/json', 'x-internal-service': 'true', 'x-internal-service-secret': SECRET },
    body: keyed && makeBody ? () => ({ ...makeBody(), request_id: undefined }) : makeBody,
    ...(keyed ? { requestHeaders: () => ({ 'idempotency-key': `prof-key-${runId}-${keyCount++}` }) } : {}),
  };
  log(`warm-up 3 s, then profiling ${method} ${path}: ${seconds} s, ${connections} connections`);
  await autocannonRun(target, { seconds: 3, connections });
  // CPU spent per request, by the service and by its PostgreSQL backends: a measure of work that other
  // load on the machine changes far less than it changes req/s
  const backends = (await db.query(`SELECT pid FROM pg_stat_activity WHERE datname = $1`, [db.name])).rows.map((r) => r.pid);
  const cpuBefore = { service: cpuTicks(service.pid), postgres: backends.reduce((sum, pid) => sum + cpuTicks(pid), 0) };
  service.kill('SIGWINCH');
  const result = await autocannonRun(target, { seconds, connections });
  service.kill('SIGWINCH');
  const requests = Math.max(1, Math.round(result.requests_per_second * seconds));
  const perRequest = (ticks) => Math.round((ticks * 10_000) / requests); // 100 ticks a second: µs
  const serviceUs = perRequest(cpuTicks(service.pid) - cpuBefore.service);
  const postgresUs = perRequest(backends.reduce((sum, pid) => sum + cpuTicks(pid), 0) - cpuBefore.postgres);
  log(`${result.requests_per_second} req/s, p99 ${result.latency_ms?.p99} ms, non-2xx ${result.non_2xx}`);
  log(`CPU per request: service ${serviceUs} µs, its PostgreSQL backends ${postgresUs} µs (${heapProfile ? 'heap ' : ''}profiler on)`);
  for (let i = 0; i < 50 && !existsSync(profileFile); i++) await new Promise((r) => setTimeout(r, 100));
  await stopProcess(service);
  if (!existsSync(profileFile)) throw new Error(`no profile written at ${profileFile}`);
  console.log(`\nprofile: ${profileFile}\n`);
  const profile = JSON.parse(readFileSync(profileFile, 'utf8'));
  console.log(heapProfile ? summarizeHeap(profile, ROOT, requests) : summarizeCpu(profile, ROOT));
}

onCleanup(() => undefined);
main()
  .then(() => cleanupAll())
  .catch(async (err) => {
    console.error(`[profile] failed: ${err.stack ?? err}`);
    await cleanupAll();
    process.exit(1);
  });
