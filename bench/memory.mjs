#!/usr/bin/env node
// What holds the service's memory: runs the built service as `npm start` runs it, reads its resident
// memory (/proc/<pid>/smaps_rollup: anonymous vs file-backed) and V8's own accounting (GET /metrics:
// heap spaces, external, array buffers) at idle after start, right after a write load, and again
// after MEMORY_IDLE_SECONDS (40) of idle (the service's idle memory reducer collects after 30 s of quiet).
//
//   npm run build && node bench/memory.mjs
//   MEMORY_LOAD_SECONDS=20 node bench/memory.mjs POST /api/v1/product/usage/record
//   MEMORY_NODE_FLAGS="--max-semi-space-size=16" MEMORY_SERVICE_ENV="MALLOC_ARENA_MAX=2" node bench/memory.mjs
//
// Uses a scratch database on the local PostgreSQL (dropped at the end) and the local NATS.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { autocannonRun } from './lib/load.mjs';
import { cleanupAll, freePort, log, onCleanup, startProcess, stopProcess, waitFor } from './lib/harness.mjs';
import { createDatabase, startFakePlatform } from './lib/platform.mjs';
import { deleteScratchStreamAtEnd } from './lib/jetstream.mjs';
import { envPairs, npmStartCommand, sampleBodies, scratchServiceEnv, scratchStreamName } from './lib/scratch-service.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [method = 'POST', path = '/api/v1/product/usage/record'] = process.argv.slice(2);
const loadSeconds = Number(process.env.MEMORY_LOAD_SECONDS ?? 15);
const idleSeconds = Number(process.env.MEMORY_IDLE_SECONDS ?? 40);
const connections = Number(process.env.MEMORY_CONNECTIONS ?? 32);
const adminUrl = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.MEMORY_NATS_URL ?? 'nats://127.0.0.1:4222';
const runId = randomBytes(4).toString('hex');
const SECRET = 'memory-internal-secret';

const bodies = sampleBodies('mem', runId);

const MiB = 2 ** 20;
const mib = (bytes) => Math.round((bytes / MiB) * 10) / 10;

/** kB fields of /proc/<pid>/smaps_rollup, in MiB. */
function smaps(pid) {
  const out = {};
  for (const line of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m && ['Rss', 'Anonymous', 'Pss_File', 'Pss_Anon'].includes(m[1])) out[m[1]] = Math.round((Number(m[2]) / 1024) * 10) / 10;
  }
  return out;
}

/** V8's accounting from the service's /metrics (prom-client's default metrics). */
async function v8(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name, label) => {
    const m = new RegExp(`^${name}${label ? `\\{[^}]*${label}[^}]*\\}` : '(?:\\{[^}]*\\})?'} ([0-9.eE+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };
  const spaces = {};
  for (const m of text.matchAll(/^nodejs_heap_space_size_total_bytes\{space="(\w+)"\} ([0-9.eE+-]+)$/gm)) spaces[m[1]] = mib(Number(m[2]));
  return {
    heap_total: mib(value('nodejs_heap_size_total_bytes')),
    heap_used: mib(value('nodejs_heap_size_used_bytes')),
    external: mib(value('nodejs_external_memory_bytes')),
    spaces_total: spaces,
  };
}

async function main() {
  const start = npmStartCommand(ROOT);
  const flags = [...start.flags, ...(process.env.MEMORY_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean)];
  const workDir = mkdtempSync(join(tmpdir(), 'product-memory-'));
  const [db, platformUrl, port] = await Promise.all([createDatabase(adminUrl, 'memory', runId), startFakePlatform(), freePort()]);
  await deleteScratchStreamAtEnd(natsUrl, scratchStreamName('memory', runId)); // after the service has stopped
  const service = startProcess('service', process.execPath, [...flags, join(ROOT, start.entry)], {
    cwd: ROOT,
    logDir: workDir,
    env: {
      ...start.env,
      ...scratchServiceEnv({ tool: 'memory', runId, port, databaseUrl: db.url, natsUrl, platformUrl, secret: SECRET }),
      ...envPairs(process.env.MEMORY_SERVICE_ENV),
    },
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/health/ready`, { timeoutMs: 60_000, child: service });
  const rows = [];
  const read = async (moment) => rows.push({ moment, ...smaps(service.pid), ...(await v8(base)) });
  await new Promise((r) => setTimeout(r, 2000));
  await read('idle after start');
  const makeBody = bodies[path];
  log(`node ${flags.join(' ')}: ${method} ${path} for ${loadSeconds} s, ${connections} connections`);
  const result = await autocannonRun(
    {
      urls: [base],
      method,
      path,
      headers: { 'content-type': 'application/json', 'x-internal-service': 'true', 'x-internal-service-secret': SECRET },
      body: makeBody,
    },
    { seconds: loadSeconds, connections },
  );
  log(`${result.requests_per_second} req/s, non-2xx ${result.non_2xx}`);
  await read('right after the load');
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  await read(`${idleSeconds} s idle later`);
  await stopProcess(service);
  console.log('\nMiB: Rss (resident), Anonymous (heap, malloc, stacks), Pss_File (code and mapped files); V8 heap total / used, external');
  for (const r of rows) console.log(JSON.stringify(r));
}

onCleanup(() => undefined);
main()
  .then(() => cleanupAll())
  .catch(async (err) => {
    console.error(`[memory] failed: ${err.stack ?? err}`);
    await cleanupAll();
    process.exit(1);
  });
