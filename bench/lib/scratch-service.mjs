// What bench/profile.mjs and bench/memory.mjs share to run the built service on their own scratch
// database and stream, and what they and bench/run.mjs share to run it as `npm start` does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm start`'s environment, Node flags and entry (package.json `scripts.start` is
 * `[NAME=value ...] node <flags> dist/<entry>`; the image's Dockerfile sets the same).
 */
export function npmStartCommand(root) {
  const script = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start;
  const start = script.match(/^((?:[A-Z_][A-Z0-9_]*=\S+\s+)*)node\s+(.*?)\s*(dist\/\S+)$/);
  if (!start) throw new Error('package.json scripts.start is not "[NAME=value ...] node <flags> dist/<entry>"');
  return { env: envPairs(start[1].trim().split(/\s+/).join(',')), flags: start[2].split(/\s+/).filter(Boolean), entry: start[3] };
}

/** `NAME=value,NAME=value` (e.g. BENCH_SERVICE_ENV) as an environment object. */
export function envPairs(text = '') {
  return Object.fromEntries(
    text
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')).trim(), kv.slice(kv.indexOf('=') + 1).trim()]),
  );
}

/** The scratch service's own JetStream stream (the service creates it; the tool deletes it at the end). */
export const scratchStreamName = (tool, runId) => `${tool.toUpperCase()}_${runId}`;

/**
 * The service's environment on a scratch database: its own stream `<TOOL>_<runId>` and subject
 * prefix, the fake platform for the account and organization services, logs at `logLevel`, the
 * rate limit out of the way.
 */
export function scratchServiceEnv({ tool, runId, port, databaseUrl, natsUrl, platformUrl, secret, logLevel = 'warn' }) {
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'benchmark',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    EVENTS_STREAM: scratchStreamName(tool, runId),
    EVENTS_SUBJECT_PREFIX: `${tool}_${runId}`,
    LOG_LEVEL: logLevel,
    INTERNAL_SERVICE_SECRET: secret,
    ACCOUNT_SERVICE_URL: platformUrl,
    ORGANIZATION_SERVICE_URL: platformUrl,
    RATE_LIMIT_PER_MIN: '100000000',
    SHUTDOWN_GRACE_MS: '0',
  };
}

/** Request bodies by path for a load on one endpoint: unique request ids, 500 users, new users for subscriptions. */
export function sampleBodies(tag, runId) {
  let n = 0;
  const record = () => ({ user_id: `${tag}-${n % 500}`, product_id: 'gpt-4o', usage_amount: 100, request_id: `${tag}-${runId}-${n++}` });
  return {
    '/api/v1/product/usage/record': record,
    '/api/v1/product/usage/records/batch': () => ({ records: Array.from({ length: 1000 }, record) }),
    '/api/v1/product/subscriptions': () => ({ user_id: `${tag}-sub-${runId}-${n++}`, plan_id: 'tier_pro_001' }),
  };
}
