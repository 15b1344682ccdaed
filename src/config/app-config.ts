import { isIP } from 'node:net';
import ms from 'ms';

/**
 * The service's whole configuration, read once from the environment at start-up
 * (SPEC section 6). `loadConfig` validates every variable and reports every bad one
 * by name; nothing else in the code reads `process.env` (but the clients' standard proxy
 * variables, HTTP_PROXY / HTTPS_PROXY / NO_PROXY: clients/downstream-http.ts).
 */
export type DependencyFailurePolicy = 'fail_closed' | 'fail_open';

export interface AppConfig {
  nodeEnv: string;
  isProduction: boolean;
  serviceName: string;
  version: string;
  http: {
    port: number;
    host: string;
    bodyLimitBytes: number;
    /** request line + headers at most (fixed: Node's 16 KiB default, set explicitly); above: 431 */
    maxHeaderBytes: number;
    /** query parameters per request at most (fixed); above: 400 */
    maxQueryParams: number;
    /** values of one repeated query parameter at most (fixed); above: 400 */
    maxQueryArrayLength: number;
    /** idle time of a keep-alive connection before the server closes it (HTTP_KEEP_ALIVE_TIMEOUT) */
    keepAliveTimeoutMs: number;
    /** time to receive a request's headers (HTTP_HEADERS_TIMEOUT) */
    headersTimeoutMs: number;
    /** time to receive a whole request, headers and body (HTTP_REQUEST_TIMEOUT) */
    requestTimeoutMs: number;
    /** connections the kernel queues for accept() at most (HTTP_LISTEN_BACKLOG; capped by net.core.somaxconn) */
    listenBacklog: number;
    /** listening sockets on PORT (HTTP_ACCEPT_SOCKETS, SO_REUSEPORT): Node accepts one connection per socket per loop turn */
    acceptSockets: number;
    /** a second listener for the probes and the scrape only (HEALTH_PORT); undefined: they share PORT */
    healthPort: number | undefined;
    /**
     * which peers' `X-Forwarded-For` is believed for `req.ip` (TRUST_PROXY): every hop (true, the left-most
     * entry), none (false, the socket's address), the last N hops, or the proxies' addresses / CIDRs
     */
    trustProxy: boolean | number | string[];
  };
  database: {
    /** postgres URL, or undefined for embedded PGlite */
    url: string | undefined;
    /** PGlite data dir, or 'memory://' for a throwaway in-memory database */
    pgliteDataDir: string;
    poolSize: number;
    /** hot statements run prepared (named): parsed and planned once per connection (DB_PREPARED_STATEMENTS) */
    preparedStatements: boolean;
    migrationsRun: boolean;
    seedCatalog: boolean;
  };
  nats: {
    /** undefined when NATS_URL=off: events stay in the outbox; several servers are comma-separated */
    url: string | undefined;
    stream: string;
    maxDeliver: number;
    outboxPollMs: number;
    /** least time between two relay passes while commits keep coming (OUTBOX_RELAY_LINGER_MS): more events per pass */
    outboxLingerMs: number;
    /** first token of every event subject (`events`); tests use their own to run streams side by side */
    subjectPrefix: string;
    /** first nak delay of a failed handler; doubles per delivery, capped at 60 s */
    retryBackoffMs: number;
    /**
     * EVENTS_WAIT_OUT_OUTAGES: a consumed event failed by a dependency that cannot answer (the
     * database down) is retried for as long as that lasts instead of using up EVENTS_MAX_DELIVER
     * (false, the default: SPEC section 3's rule, every handler error dead-lettered at the limit)
     */
    waitOutOutages: boolean;
    /** outbox rows published per relay transaction */
    outboxBatchSize: number;
    /** consumed events pulled per fetch and applied per transaction at most (EVENTS_CONSUMER_BATCH) */
    consumerBatchSize: number;
    /** how long a consumed event's id stays in the inbox (INBOX_RETENTION): its duplicates are ignored that long */
    inboxRetentionMs: number;
  };
  clients: {
    accountServiceUrl: string;
    organizationServiceUrl: string;
    /** per attempt (CLIENT_TIMEOUT_MS) */
    timeoutMs: number;
    dependencyFailurePolicy: DependencyFailurePolicy;
    /** retries after the first attempt, for GETs, on network errors, timeouts, 5xx and 429 */
    retries: number;
    /** first backoff delay; later ones grow exponentially with decorrelated jitter */
    retryDelayMs: number;
    /** consecutive failures that open a service's circuit */
    breakerThreshold: number;
    /** how long an open circuit fails fast before letting one trial call through (half-open) */
    breakerHalfOpenAfterMs: number;
    /** positive-result cache lifetime for user / organization / membership lookups; 0 disables */
    cacheTtlMs: number;
    /** entries per service kept in that cache (least recently used evicted) */
    cacheMaxEntries: number;
  };
  auth: {
    internalServiceSecret: string | undefined;
    jwtSecret: string | undefined;
    jwksUrl: string | undefined;
    issuer: string | undefined;
    audience: string | undefined;
    trustUserHeader: boolean;
    /** true when no user-auth method is configured (development only) */
    userAuthDisabled: boolean;
    /** leeway for a token's `exp` / `nbf` against this service's clock, in seconds (AUTH_CLOCK_TOLERANCE) */
    clockToleranceSeconds: number;
  };
  usage: {
    /** records per group commit at most (USAGE_GROUP_MAX_RECORDS) */
    groupMaxRecords: number;
    /** how long an idle writer waits for more records before committing a group (USAGE_GROUP_MAX_WAIT_MS; 0 = the current event-loop turn) */
    groupMaxWaitMs: number;
    /** groups committing at once (USAGE_GROUP_CONCURRENCY) */
    groupConcurrency: number;
    /**
     * safety net of the per-replica cache of users' entitling subscriptions (quota limits): an entry
     * is read again after this long even without a NOTIFY (QUOTA_SUBSCRIPTION_CACHE_TTL_MS)
     */
    subscriptionCacheTtlMs: number;
    /** users kept in that cache at most (QUOTA_SUBSCRIPTION_CACHE_USERS) */
    subscriptionCacheUsers: number;
  };
  catalog: {
    /** the safety-net reload of the in-memory catalog (CATALOG_REFRESH_MS) */
    refreshMs: number;
    /** `Cache-Control: max-age` of catalog answers, in seconds (CATALOG_CACHE_MAX_AGE) */
    cacheMaxAgeSeconds: number;
  };
  rateLimit: {
    /** requests per caller per minute (RATE_LIMIT_PER_MIN) */
    perMinute: number;
    /** Redis shared by the replicas (RATE_LIMIT_REDIS_URL); undefined: counters in each process */
    redisUrl: string | undefined;
    /** prefix of every Redis key the limiter writes (RATE_LIMIT_REDIS_PREFIX) */
    redisKeyPrefix: string;
    /** how long a request waits for Redis before it is counted in process memory instead (RATE_LIMIT_REDIS_TIMEOUT_MS) */
    redisTimeoutMs: number;
  };
  lifecycle: { incompleteExpiryMs: number; pastDueGraceMs: number; sweepIntervalMs: number };
  memory: {
    /** how long the process must be quiet before a grown heap is collected and returned (MEMORY_IDLE_GC_MS; 0 = never) */
    idleGcMs: number;
    /** how much the resident memory must have grown since the last such collection (or the start) (MEMORY_IDLE_GC_GROWTH_MIB), in bytes */
    idleGcGrowthBytes: number;
  };
  logLevel: string;
  shutdownGraceMs: number;
  /**
   * What this process runs (PROCESS_ROLE): `all` (HTTP, outbox relay, event consumers, lifecycle
   * sweeper), `api` (HTTP only: its commits wake the relay of a worker) or `worker` (relay,
   * consumers and sweeper; HTTP still answers, for probes and /metrics).
   */
  processRole: ProcessRole;
}

export const PROCESS_ROLES = ['all', 'api', 'worker'] as const;
export type ProcessRole = (typeof PROCESS_ROLES)[number];

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigValidationError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

/** A URL as an error message may show it: the password of its user-info masked (DATABASE_URL, NATS_URL...). */
export function withoutPassword(value: string): string {
  const scheme = value.indexOf('://');
  if (scheme < 0) return value;
  const start = scheme + 3;
  let end = value.length;
  for (const stop of ['/', '?', '#']) {
    const at = value.indexOf(stop, start);
    if (at >= 0 && at < end) end = at;
  }
  const at = value.lastIndexOf('@', end - 1);
  const colon = value.indexOf(':', start);
  if (at < start || colon < 0 || colon > at) return value;
  return `${value.slice(0, colon + 1)}***${value.slice(at)}`;
}

/** Reads and validates the environment; throws ConfigValidationError naming every bad variable. */
export function loadConfig(env: Env = process.env, version = '1.0.0'): AppConfig {
  const problems: string[] = [];
  const raw = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const value = raw(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value) || parsed < min || parsed > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${value}")`);
      return fallback;
    }
    return parsed;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const value = raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['true', '1', 'yes', 'on'].includes(value)) return true;
    if (['false', '0', 'no', 'off'].includes(value)) return false;
    problems.push(`${name} must be true or false (got "${value}")`);
    return fallback;
  };
  const duration = (name: string, fallback: string, minMs = 1): number => {
    const value = raw(name) ?? fallback;
    const parsed = /^\d+$/.test(value) ? Number(value) : (ms(value as ms.StringValue) as number | undefined);
    if (parsed === undefined || !Number.isFinite(parsed) || parsed < minMs) {
      problems.push(`${name} must be a duration in milliseconds or like "30s", "23h", "7d" (got "${value}")`);
      return ms(fallback as ms.StringValue);
    }
    return parsed;
  };
  const url = (name: string, fallback: string | undefined, protocols: string[]): string | undefined => {
    const value = raw(name) ?? fallback;
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
      return value.replace(/\/+$/, '');
    } catch {
      problems.push(`${name} must be a ${protocols.join(' or ')} URL (got "${withoutPassword(value)}")`);
      return fallback;
    }
  };
  const oneOf = <T extends string>(name: string, fallback: T, allowed: readonly T[]): T => {
    const value = raw(name);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
      return fallback;
    }
    return value as T;
  };

  const nodeEnv = raw('NODE_ENV') ?? 'development';
  const isProduction = nodeEnv === 'production';

  const databaseUrl = raw('DATABASE_URL');
  let dbUrl: string | undefined;
  let pgliteDataDir = raw('PGLITE_DATA_DIR') ?? './.data/pglite';
  if (databaseUrl === 'pglite://memory') {
    pgliteDataDir = 'memory://';
  } else if (databaseUrl !== undefined) {
    dbUrl = url('DATABASE_URL', undefined, ['postgres:', 'postgresql:']);
  }

  // NATS_URL: one server or a comma-separated list (the nodes of a cluster: the client connects to
  // any and fails over to the others); "off" disables the bus
  const natsRaw = raw('NATS_URL');
  let natsUrl: string | undefined;
  if (natsRaw?.toLowerCase() !== 'off') {
    const servers = (natsRaw ?? 'nats://127.0.0.1:4222').split(',').map((server) => server.trim());
    const bad = servers.filter((server) => {
      try {
        return !['nats:', 'tls:', 'ws:', 'wss:'].includes(new URL(server).protocol);
      } catch {
        return true;
      }
    });
    if (bad.length > 0 || servers.some((server) => server === '')) {
      const shown = (natsRaw ?? '').split(',').map(withoutPassword).join(',');
      problems.push(`NATS_URL must be "off" or one or more comma-separated nats:, tls:, ws: or wss: URLs (got "${shown}")`);
    } else {
      natsUrl = servers.map((server) => server.replace(/\/+$/, '')).join(',');
    }
  }

  const jwksUrl = url('AUTH_JWKS_URL', undefined, ['http:', 'https:']);
  const jwtSecret = raw('AUTH_JWT_SECRET');
  const trustUserHeader = bool('AUTH_TRUST_USER_HEADER', false);
  const internalServiceSecret = raw('INTERNAL_SERVICE_SECRET');
  const userAuthDisabled = !jwtSecret && !jwksUrl && !trustUserHeader;
  if (isProduction) {
    if (!internalServiceSecret) problems.push('INTERNAL_SERVICE_SECRET is required when NODE_ENV=production');
    if (userAuthDisabled) {
      problems.push('one of AUTH_JWT_SECRET, AUTH_JWKS_URL or AUTH_TRUST_USER_HEADER=true is required when NODE_ENV=production');
    }
    // RFC 7518 3.2: an HS256 key must be at least 256 bits; a shorter one can be guessed from any token (the value is never shown)
    if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32) {
      problems.push('AUTH_JWT_SECRET must be at least 32 bytes when NODE_ENV=production (HS256 needs a 256-bit key)');
    }
  }

  // HTTP server timeouts (docs/configuration.md "HTTP server"): Node refuses headers > request
  const keepAliveTimeoutMs = duration('HTTP_KEEP_ALIVE_TIMEOUT', '65s', 1000);
  const headersTimeoutMs = duration('HTTP_HEADERS_TIMEOUT', '5s', 50);
  const requestTimeoutMs = duration('HTTP_REQUEST_TIMEOUT', '10s', 50);
  if (headersTimeoutMs > requestTimeoutMs) {
    problems.push(`HTTP_HEADERS_TIMEOUT (${headersTimeoutMs} ms) must not be longer than HTTP_REQUEST_TIMEOUT (${requestTimeoutMs} ms)`);
  }
  const port = int('PORT', 8215, 0, 65535);
  const healthPort = raw('HEALTH_PORT') === undefined ? undefined : int('HEALTH_PORT', 0, 0, 65535);
  if (healthPort !== undefined && healthPort !== 0 && healthPort === port) {
    problems.push(`HEALTH_PORT must differ from PORT (both ${port}); leave it unset to serve the probes on PORT`);
  }
  const trustProxy = parseTrustProxy(raw('TRUST_PROXY'), problems);
  const clockToleranceMs = duration('AUTH_CLOCK_TOLERANCE', '30s', 0);
  if (clockToleranceMs > 300_000) problems.push(`AUTH_CLOCK_TOLERANCE must be at most 5 minutes (got ${clockToleranceMs} ms)`);

  const serviceName = raw('SERVICE_NAME') ?? 'product_service';
  if (!/^[a-z0-9_-]{1,64}$/i.test(serviceName)) problems.push(`SERVICE_NAME must be 1-64 letters, digits, _ or - (got "${serviceName}")`);
  const stream = raw('EVENTS_STREAM') ?? 'EVENTS';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream)) problems.push(`EVENTS_STREAM must be 1-64 letters, digits, _ or - (got "${stream}")`);
  const subjectPrefix = raw('EVENTS_SUBJECT_PREFIX') ?? 'events';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(subjectPrefix)) {
    problems.push(`EVENTS_SUBJECT_PREFIX must be one subject token of 1-64 letters, digits, _ or - (got "${subjectPrefix}")`);
  }

  const redisUrl = url('RATE_LIMIT_REDIS_URL', undefined, ['redis:', 'rediss:']);
  if (redisUrl !== undefined && !/^\/?\d*$/.test(new URL(redisUrl).pathname)) {
    problems.push('RATE_LIMIT_REDIS_URL must be redis[s]://[user][:password]@host[:port][/db] with a numeric db');
  }
  const redisKeyPrefix = raw('RATE_LIMIT_REDIS_PREFIX') ?? `${serviceName}:rate-limit:`;
  if (!/^[\x21-\x7e]{1,128}$/.test(redisKeyPrefix)) {
    problems.push(`RATE_LIMIT_REDIS_PREFIX must be 1-128 printable ASCII characters without spaces (got "${redisKeyPrefix}")`);
  }

  const config: AppConfig = {
    nodeEnv,
    isProduction,
    serviceName,
    version,
    http: {
      port,
      host: raw('HOST') ?? '0.0.0.0',
      bodyLimitBytes: 1024 * 1024,
      maxHeaderBytes: 16 * 1024,
      maxQueryParams: 64,
      maxQueryArrayLength: 16,
      keepAliveTimeoutMs,
      headersTimeoutMs,
      requestTimeoutMs,
      listenBacklog: int('HTTP_LISTEN_BACKLOG', 4096, 1, 65535),
      // SO_REUSEPORT in one process needs Linux (or a BSD); elsewhere one socket unless asked
      acceptSockets: int('HTTP_ACCEPT_SOCKETS', process.platform === 'linux' ? 4 : 1, 1, 64),
      healthPort,
      trustProxy,
    },
    database: {
      url: dbUrl,
      pgliteDataDir,
      poolSize: int('DB_POOL_SIZE', 10, 1, 200),
      preparedStatements: bool('DB_PREPARED_STATEMENTS', true),
      migrationsRun: bool('MIGRATIONS_RUN', true),
      seedCatalog: bool('SEED_CATALOG', true),
    },
    nats: {
      url: natsUrl,
      stream,
      maxDeliver: int('EVENTS_MAX_DELIVER', 5, 1, 1000),
      outboxPollMs: duration('OUTBOX_POLL_MS', '1000'),
      outboxLingerMs: duration('OUTBOX_RELAY_LINGER_MS', '5', 0),
      subjectPrefix,
      retryBackoffMs: duration('EVENTS_RETRY_BACKOFF', '1s'),
      waitOutOutages: bool('EVENTS_WAIT_OUT_OUTAGES', false),
      outboxBatchSize: int('OUTBOX_BATCH_SIZE', 1000, 1, 10_000),
      consumerBatchSize: int('EVENTS_CONSUMER_BATCH', 256, 1, 10_000),
      inboxRetentionMs: duration('INBOX_RETENTION', '7d', 3_600_000),
    },
    clients: {
      accountServiceUrl: url('ACCOUNT_SERVICE_URL', 'http://localhost:8200', ['http:', 'https:']) as string,
      organizationServiceUrl: url('ORGANIZATION_SERVICE_URL', 'http://localhost:8205', ['http:', 'https:']) as string,
      timeoutMs: duration('CLIENT_TIMEOUT_MS', '2000'),
      dependencyFailurePolicy: oneOf('DEPENDENCY_FAILURE_POLICY', 'fail_closed', ['fail_closed', 'fail_open'] as const),
      retries: int('CLIENT_RETRIES', 2, 0, 10),
      retryDelayMs: duration('CLIENT_RETRY_DELAY_MS', '100'),
      breakerThreshold: int('CLIENT_BREAKER_THRESHOLD', 5, 1, 1000),
      breakerHalfOpenAfterMs: duration('CLIENT_BREAKER_HALF_OPEN_AFTER', '10s'),
      cacheTtlMs: duration('CLIENT_CACHE_TTL_MS', '5000', 0),
      cacheMaxEntries: int('CLIENT_CACHE_MAX_ENTRIES', 1000, 0, 1_000_000),
    },
    auth: {
      internalServiceSecret,
      jwtSecret,
      jwksUrl,
      issuer: raw('AUTH_ISSUER'),
      audience: raw('AUTH_AUDIENCE'),
      trustUserHeader,
      userAuthDisabled,
      clockToleranceSeconds: clockToleranceMs / 1000,
    },
    usage: {
      groupMaxRecords: int('USAGE_GROUP_MAX_RECORDS', 1000, 1, 10_000),
      groupMaxWaitMs: duration('USAGE_GROUP_MAX_WAIT_MS', '0', 0),
      groupConcurrency: int('USAGE_GROUP_CONCURRENCY', 2, 1, 64),
      subscriptionCacheTtlMs: duration('QUOTA_SUBSCRIPTION_CACHE_TTL_MS', '60s', 0),
      subscriptionCacheUsers: int('QUOTA_SUBSCRIPTION_CACHE_USERS', 100_000, 0, 10_000_000),
    },
    catalog: {
      refreshMs: duration('CATALOG_REFRESH_MS', '30s', 100),
      cacheMaxAgeSeconds: Math.floor(duration('CATALOG_CACHE_MAX_AGE', '30s', 0) / 1000),
    },
    rateLimit: {
      perMinute: int('RATE_LIMIT_PER_MIN', 60_000, 1, 100_000_000),
      redisUrl,
      redisKeyPrefix,
      redisTimeoutMs: duration('RATE_LIMIT_REDIS_TIMEOUT_MS', '200'),
    },
    lifecycle: {
      incompleteExpiryMs: duration('INCOMPLETE_EXPIRY', '23h'),
      pastDueGraceMs: duration('PAST_DUE_GRACE', '7d'),
      sweepIntervalMs: duration('SWEEP_INTERVAL_MS', '60s', 10),
    },
    memory: {
      idleGcMs: duration('MEMORY_IDLE_GC_MS', '30s', 0),
      idleGcGrowthBytes: int('MEMORY_IDLE_GC_GROWTH_MIB', 32, 1, 65_536) * 2 ** 20,
    },
    logLevel: oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    shutdownGraceMs: duration('SHUTDOWN_GRACE_MS', '5000', 0),
    processRole: oneOf('PROCESS_ROLE', 'all', PROCESS_ROLES),
  };
  if (config.memory.idleGcMs > 0 && config.memory.idleGcMs < 100) {
    problems.push(`MEMORY_IDLE_GC_MS must be 0 (off) or at least 100 ms (got "${raw('MEMORY_IDLE_GC_MS')}")`);
  }
  if (config.processRole !== 'all' && config.database.url === undefined) {
    problems.push(
      'PROCESS_ROLE=api or worker needs DATABASE_URL (PostgreSQL): embedded PGlite belongs to one process, which must run everything',
    );
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return config;
}

/** proxy-addr's names for address ranges, accepted in a TRUST_PROXY list */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY as Fastify's `trustProxy`: `true` (unset), `false`, a hop count, or a comma-separated
 * list of addresses, CIDR ranges and proxy-addr's range names (`loopback`, `linklocal`, `uniquelocal`).
 */
function parseTrustProxy(value: string | undefined, problems: string[]): boolean | number | string[] {
  if (value === undefined) return true;
  const lower = value.trim().toLowerCase();
  if (['true', 'yes', 'on'].includes(lower)) return true;
  if (['false', 'no', 'off', '0'].includes(lower)) return false;
  if (/^\d+$/.test(lower)) {
    const hops = Number(lower);
    if (hops <= 64) return hops;
  } else {
    const entries = lower.split(',').map((entry) => entry.trim());
    const valid = (entry: string): boolean => {
      if (PROXY_RANGE_NAMES.has(entry)) return true;
      const [address, prefix, extra] = entry.split('/');
      const family = isIP(address);
      if (family === 0 || extra !== undefined) return false;
      return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
    };
    if (entries.every(valid)) return entries;
  }
  problems.push(
    `TRUST_PROXY must be true, false, a hop count (1-64) or comma-separated proxy addresses / CIDRs (loopback, linklocal and uniquelocal allowed) (got "${value}")`,
  );
  return true;
}
