#!/usr/bin/env node
// The platform's other calls, side by side: req/s and the service's CPU per request (/proc) of the
// reads and quotes the benchmark does not cover (a user's subscriptions, usage records and
// statistics, price quotes, availability, quota, the cost lookup, the health summary), each loaded
// in turn with autocannon after one probe, beside the product read. A user with a subscription and
// 200 usage records is made first. For spotting the expensive calls, not for targets: one process,
// one run, no reference.
//
//   npm run build && node bench/survey.mjs
//   SURVEY_ONLY='usage statistics,quota' node bench/survey.mjs        (only these rows)
//   SURVEY_ROOT=/path/to/another/checkout node bench/survey.mjs      (its build: compare two builds)
//   SURVEY_SECONDS=3 (per call), SURVEY_NODE_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof'
//
// Uses a scratch database on the local PostgreSQL (dropped at the end) and runs the service with
// NATS_URL=off (events stay in the scratch outbox).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { autocannonRun } from './lib/load.mjs';
import { cleanupAll, cpuTicks, freePort, log, startProcess, waitFor } from './lib/harness.mjs';
import { createDatabase, startFakePlatform } from './lib/platform.mjs';
import { npmStartCommand, scratchServiceEnv } from './lib/scratch-service.mjs';

const root = process.env.SURVEY_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.SURVEY_SECONDS ?? 3);
const only = process.env.SURVEY_ONLY ? process.env.SURVEY_ONLY.split(',') : undefined;
const adminUrl = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const runId = randomBytes(4).toString('hex');
const SECRET = 'survey-internal-secret-of-32-bytes!!';
const HEADERS = { 'x-internal-service': 'true', 'x-internal-service-secret': SECRET, 'content-type': 'application/json' };
const API = '/api/v1/product';
const USER = 'survey-user-1';

/** [name, method, path, body?] */
const CALLS = [
  ['product read', 'GET', `${API}/products/gpt-4o`],
  ['subscriptions of a user', 'GET', `${API}/subscriptions/user/${USER}`],
  ['price quote (list)', 'POST', '/api/v1/pricing/calculate', { product_id: 'gpt-4o', quantity: 1000 }],
  ['price quote (user)', 'POST', '/api/v1/pricing/calculate', { product_id: 'gpt-4o', quantity: 1000, user_id: USER }],
  ['cost lookup (none matches)', 'GET', '/api/v1/costs/lookup?service_type=model_inference&product_id=gpt-4o'],
  ['availability (user)', 'GET', `${API}/products/gpt-4o/availability?user_id=${USER}`],
  ['effective pricing (user)', 'GET', `${API}/products/gpt-4o/pricing?user_id=${USER}`],
  ['usage records of a user', 'GET', `${API}/usage/records?user_id=${USER}`],
  ['usage statistics', 'GET', `${API}/statistics/usage?user_id=${USER}`],
  ['quota', 'GET', `${API}/usage/quota?user_id=${USER}&product_id=gpt-4o`],
  ['health summary', 'GET', '/health'],
  ['ready', 'GET', '/health/ready'],
];

async function post(base, path, body) {
  const res = await fetch(base + path, { method: 'POST', headers: HEADERS, body: JSON.stringify(body) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
}

async function main() {
  const logDir = mkdtempSync(join(tmpdir(), 'product-survey-'));
  const [db, platformUrl, port] = await Promise.all([createDatabase(adminUrl, 'survey', runId), startFakePlatform(), freePort()]);
  const start = npmStartCommand(root);
  const env = {
    ...scratchServiceEnv({ tool: 'survey', runId, port, databaseUrl: db.url, natsUrl: 'off', platformUrl, secret: SECRET }),
    ...start.env,
  };
  const flags = process.env.SURVEY_NODE_FLAGS ? process.env.SURVEY_NODE_FLAGS.split(' ') : [];
  const service = startProcess('service', process.execPath, [...start.flags, ...flags, join(root, start.entry)], {
    cwd: root,
    logDir,
    env,
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/health/ready`, { timeoutMs: 60_000, child: service });
  await post(base, `${API}/subscriptions`, { user_id: USER, plan_id: 'tier_pro_001' });
  const records = Array.from({ length: 200 }, (_, i) => ({
    user_id: USER,
    product_id: 'gpt-4o',
    usage_amount: 10,
    request_id: `survey-${i}`,
  }));
  await post(base, `${API}/usage/records/batch`, { records });
  log(`${root}: ${seconds} s per call, 32 connections`);
  console.log('| call | status | req/s | service CPU per request |\n| --- | ---: | ---: | ---: |');
  for (const [name, method, path, body] of CALLS.filter(([n]) => !only || only.includes(n))) {
    const probe = await fetch(base + path, { method, headers: HEADERS, body: body ? JSON.stringify(body) : undefined });
    await probe.arrayBuffer();
    const before = cpuTicks(service.pid);
    const res = await autocannonRun(
      { urls: [base], method, path, headers: HEADERS, body: body ? () => body : undefined },
      { seconds, connections: 32 },
    );
    const answered = Math.max(1, res.responses_2xx + res.non_2xx);
    const cpuUs = Math.round(((cpuTicks(service.pid) - before) * 10_000) / answered); // 100 ticks a second
    console.log(`| ${name} \`${method} ${path}\` | ${probe.status} | ${res.requests_per_second} | ${cpuUs} µs |`);
  }
}

main()
  .then(() => cleanupAll())
  .catch(async (err) => {
    console.error(`[survey] failed: ${err.stack ?? err}`);
    await cleanupAll();
    process.exit(1);
  });
