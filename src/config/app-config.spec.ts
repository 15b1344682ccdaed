import { ConfigValidationError, loadConfig, withoutPassword } from './app-config.js';

describe('loadConfig', () => {
  it('should apply the SPEC defaults', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(8215);
    expect(config.database.url).toBeUndefined();
    expect(config.database.pgliteDataDir).toBe('./.data/pglite');
    expect(config.nats.url).toBe('nats://127.0.0.1:4222');
    expect(config.lifecycle.incompleteExpiryMs).toBe(23 * 3600_000);
    expect(config.lifecycle.pastDueGraceMs).toBe(7 * 86_400_000);
    expect(config.clients.dependencyFailurePolicy).toBe('fail_closed');
  });

  it('should read pglite://memory, NATS_URL=off and ms-style durations', () => {
    const config = loadConfig({ DATABASE_URL: 'pglite://memory', NATS_URL: 'off', PAST_DUE_GRACE: '30s', CLIENT_TIMEOUT_MS: '1500' });
    expect(config.database.pgliteDataDir).toBe('memory://');
    expect(config.nats.url).toBeUndefined();
    expect(config.lifecycle.pastDueGraceMs).toBe(30_000);
    expect(config.clients.timeoutMs).toBe(1500);
  });

  it('should read PROCESS_ROLE, which needs PostgreSQL unless it is all', () => {
    expect(loadConfig({}).processRole).toBe('all');
    expect(loadConfig({ PROCESS_ROLE: 'worker', DATABASE_URL: 'postgres://x/db' }).processRole).toBe('worker');
    expect(() => loadConfig({ PROCESS_ROLE: 'api' })).toThrow(/PROCESS_ROLE=api or worker needs DATABASE_URL/);
    expect(() => loadConfig({ PROCESS_ROLE: 'relay', DATABASE_URL: 'postgres://x/db' })).toThrow(/PROCESS_ROLE/);
  });

  it('should read NATS_URL as one server or a comma-separated cluster list', () => {
    expect(loadConfig({ NATS_URL: 'nats://a:4222/' }).nats.url).toBe('nats://a:4222');
    expect(loadConfig({ NATS_URL: 'nats://a:4222, nats://b:4223 ,tls://c:4224' }).nats.url).toBe(
      'nats://a:4222,nats://b:4223,tls://c:4224',
    );
    expect(() => loadConfig({ NATS_URL: 'nats://a:4222,http://b' })).toThrow(/NATS_URL/);
    expect(() => loadConfig({ NATS_URL: 'nats://a:4222,' })).toThrow(/NATS_URL/);
  });

  it('should name every bad variable', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DEPENDENCY_FAILURE_POLICY: 'maybe', PAST_DUE_GRACE: 'soon', DATABASE_URL: 'mysql://x' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'DEPENDENCY_FAILURE_POLICY', 'PAST_DUE_GRACE', 'DATABASE_URL']) expect(message).toContain(name);
  });

  it('should refuse production without secrets', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/INTERNAL_SERVICE_SECRET[\s\S]*AUTH_JWT_SECRET/);
    const secret = 'j'.repeat(32);
    expect(() => loadConfig({ NODE_ENV: 'production', INTERNAL_SERVICE_SECRET: 's', AUTH_JWT_SECRET: secret })).not.toThrow();
  });

  it('should refuse a production HS256 secret shorter than 256 bits, without showing it', () => {
    let message = '';
    try {
      loadConfig({ NODE_ENV: 'production', INTERNAL_SERVICE_SECRET: 's', AUTH_JWT_SECRET: 'short-secret-value' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('AUTH_JWT_SECRET must be at least 32 bytes');
    expect(message).not.toContain('short-secret-value');
    // development and tests may use any secret
    expect(loadConfig({ AUTH_JWT_SECRET: 'short' }).auth.jwtSecret).toBe('short');
  });

  it('should never show the password of a bad URL in its message', () => {
    let message = '';
    try {
      loadConfig({
        DATABASE_URL: 'mysql://app:hunter2-db@db:3306/x',
        NATS_URL: 'nats://bus:hunter2-nats@n:4222,http://x',
        AUTH_JWKS_URL: 'ftp://u:hunter2-jwks@h/keys',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const name of ['DATABASE_URL', 'NATS_URL', 'AUTH_JWKS_URL']) expect(message).toContain(name);
    expect(message).toContain('mysql://app:***@db:3306/x');
    expect(message).not.toContain('hunter2');
    expect(withoutPassword('postgres://u@h/db')).toBe('postgres://u@h/db');
    expect(withoutPassword('postgres://u:p@h:5432/db?x=1')).toBe('postgres://u:***@h:5432/db?x=1');
  });

  it('should read the HTTP server timeouts and the token clock tolerance, headers no longer than the request', () => {
    expect(loadConfig({}).http).toMatchObject({
      keepAliveTimeoutMs: 65_000,
      headersTimeoutMs: 5000,
      requestTimeoutMs: 10_000,
      maxHeaderBytes: 16_384,
      listenBacklog: 4096,
    });
    expect(loadConfig({ HTTP_LISTEN_BACKLOG: '1024' }).http.listenBacklog).toBe(1024);
    expect(() => loadConfig({ HTTP_LISTEN_BACKLOG: '0' })).toThrow(/HTTP_LISTEN_BACKLOG/);
    expect(loadConfig({}).http.healthPort).toBeUndefined();
    expect(loadConfig({ HEALTH_PORT: '8216' }).http.healthPort).toBe(8216);
    expect(() => loadConfig({ PORT: '8215', HEALTH_PORT: '8215' })).toThrow(/HEALTH_PORT must differ from PORT/);
    expect(() => loadConfig({ HEALTH_PORT: 'probe' })).toThrow(/HEALTH_PORT/);
    expect(loadConfig({}).auth.clockToleranceSeconds).toBe(30);
    const custom = loadConfig({
      HTTP_KEEP_ALIVE_TIMEOUT: '75s',
      HTTP_HEADERS_TIMEOUT: '200',
      HTTP_REQUEST_TIMEOUT: '1s',
      AUTH_CLOCK_TOLERANCE: '0',
    });
    expect(custom.http).toMatchObject({ keepAliveTimeoutMs: 75_000, headersTimeoutMs: 200, requestTimeoutMs: 1000 });
    expect(custom.auth.clockToleranceSeconds).toBe(0);
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT: '20s', HTTP_REQUEST_TIMEOUT: '10s' })).toThrow(
      /HTTP_HEADERS_TIMEOUT[\s\S]*HTTP_REQUEST_TIMEOUT/,
    );
    expect(() => loadConfig({ HTTP_KEEP_ALIVE_TIMEOUT: 'never', AUTH_CLOCK_TOLERANCE: '1h' })).toThrow(
      /HTTP_KEEP_ALIVE_TIMEOUT[\s\S]*AUTH_CLOCK_TOLERANCE/,
    );
  });

  it('should read the event bus settings with defaults and name bad ones', () => {
    const defaults = loadConfig({}).nats;
    expect(defaults).toMatchObject({
      stream: 'EVENTS',
      subjectPrefix: 'events',
      maxDeliver: 5,
      retryBackoffMs: 1000,
      waitOutOutages: false,
      outboxBatchSize: 1000,
    });
    const custom = loadConfig({ EVENTS_SUBJECT_PREFIX: 'evt_1', EVENTS_RETRY_BACKOFF: '250ms', OUTBOX_BATCH_SIZE: '10' }).nats;
    expect(custom).toMatchObject({ subjectPrefix: 'evt_1', retryBackoffMs: 250, outboxBatchSize: 10 });
    expect(() => loadConfig({ EVENTS_SUBJECT_PREFIX: 'a.b', OUTBOX_BATCH_SIZE: '0', EVENTS_RETRY_BACKOFF: 'never' })).toThrow(
      /EVENTS_SUBJECT_PREFIX[\s\S]*EVENTS_RETRY_BACKOFF[\s\S]*OUTBOX_BATCH_SIZE/,
    );
  });

  it('should read the client resilience settings with defaults and validation', () => {
    const defaults = loadConfig({}).clients;
    expect(defaults).toMatchObject({
      timeoutMs: 2000,
      retries: 2,
      retryDelayMs: 100,
      breakerThreshold: 5,
      breakerHalfOpenAfterMs: 10_000,
      cacheTtlMs: 5000,
      cacheMaxEntries: 1000,
    });
    const custom = loadConfig({
      CLIENT_RETRIES: '0',
      CLIENT_RETRY_DELAY_MS: '20',
      CLIENT_BREAKER_THRESHOLD: '3',
      CLIENT_BREAKER_HALF_OPEN_AFTER: '30s',
      CLIENT_CACHE_TTL_MS: '0',
      CLIENT_CACHE_MAX_ENTRIES: '10',
    }).clients;
    expect(custom).toMatchObject({
      retries: 0,
      retryDelayMs: 20,
      breakerThreshold: 3,
      breakerHalfOpenAfterMs: 30_000,
      cacheTtlMs: 0,
      cacheMaxEntries: 10,
    });
    expect(() => loadConfig({ CLIENT_RETRIES: '-1', CLIENT_BREAKER_THRESHOLD: '0', CLIENT_BREAKER_HALF_OPEN_AFTER: 'later' })).toThrow(
      /CLIENT_RETRIES[\s\S]*CLIENT_BREAKER_THRESHOLD[\s\S]*CLIENT_BREAKER_HALF_OPEN_AFTER/,
    );
  });

  it('should read the rate-limit settings: per replica by default, Redis when given, every bad one named', () => {
    expect(loadConfig({}).rateLimit).toEqual({
      perMinute: 60_000,
      redisUrl: undefined,
      redisKeyPrefix: 'product_service:rate-limit:',
      redisTimeoutMs: 200,
    });
    expect(
      loadConfig({
        RATE_LIMIT_PER_MIN: '100',
        RATE_LIMIT_REDIS_URL: 'rediss://:secret@redis.internal:6380/2',
        RATE_LIMIT_REDIS_PREFIX: 'product:rl:',
        RATE_LIMIT_REDIS_TIMEOUT_MS: '50ms',
        SERVICE_NAME: 'product_b',
      }).rateLimit,
    ).toEqual({ perMinute: 100, redisUrl: 'rediss://:secret@redis.internal:6380/2', redisKeyPrefix: 'product:rl:', redisTimeoutMs: 50 });
    expect(loadConfig({ SERVICE_NAME: 'product_b' }).rateLimit.redisKeyPrefix).toBe('product_b:rate-limit:');
    let error: unknown;
    try {
      loadConfig({
        RATE_LIMIT_PER_MIN: '0',
        RATE_LIMIT_REDIS_URL: 'http://redis:6379',
        RATE_LIMIT_REDIS_PREFIX: 'with space',
        RATE_LIMIT_REDIS_TIMEOUT_MS: 'soon',
      });
    } catch (err) {
      error = err;
    }
    for (const name of ['RATE_LIMIT_PER_MIN', 'RATE_LIMIT_REDIS_URL', 'RATE_LIMIT_REDIS_PREFIX', 'RATE_LIMIT_REDIS_TIMEOUT_MS']) {
      expect((error as Error).message).toContain(name);
    }
    expect(() => loadConfig({ RATE_LIMIT_REDIS_URL: 'redis://redis:6379/cache' })).toThrow(/RATE_LIMIT_REDIS_URL .*numeric db/);
  });

  it("should read TRUST_PROXY: every hop by default, none, a hop count, or the proxies' addresses", () => {
    const trust = (value?: string) => loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).http.trustProxy;
    expect(trust()).toBe(true);
    expect(trust('true')).toBe(true);
    expect(trust('false')).toBe(false);
    expect(trust('0')).toBe(false);
    expect(trust('1')).toBe(1);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.0/8, 192.168.1.7,loopback')).toEqual(['10.0.0.0/8', '192.168.1.7', 'loopback']);
    expect(trust('fd00::/8,::1')).toEqual(['fd00::/8', '::1']);
    for (const bad of ['65', 'maybe', '10.0.0.0/33', '10.0.0.1/8/1', 'fd00::/129', 'proxy.internal', '10.0.0.1,', '-1']) {
      expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(/TRUST_PROXY must be/);
    }
  });

  it('should read HTTP_ACCEPT_SOCKETS: 4 on Linux by default, 1 to 64', () => {
    expect(loadConfig({}).http.acceptSockets).toBe(process.platform === 'linux' ? 4 : 1);
    expect(loadConfig({ HTTP_ACCEPT_SOCKETS: '1' }).http.acceptSockets).toBe(1);
    expect(loadConfig({ HTTP_ACCEPT_SOCKETS: '16' }).http.acceptSockets).toBe(16);
    for (const bad of ['0', '65', 'many']) expect(() => loadConfig({ HTTP_ACCEPT_SOCKETS: bad })).toThrow(/HTTP_ACCEPT_SOCKETS/);
  });
});
