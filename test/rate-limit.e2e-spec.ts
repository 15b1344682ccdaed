import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import request from 'supertest';
import { ManualClock } from '../src/common/clock/clock.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';
import { TcpProxy, unusedPort } from './support/tcp-proxy.js';

/** The local Redis (`.ci/run` starts it when it is down). */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS = new URL(REDIS_URL);

const USER = (id: string) => ({ 'X-User-Id': id });

/** The value of one sample of /metrics, e.g. `product_rate_limit_store_fallbacks_total{reason="error"}`. */
async function metric(t: TestApp, sample: string): Promise<number> {
  const text = (await request(t.baseUrl).get('/metrics').expect(200)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  if (line === undefined) throw new Error(`no sample ${sample} in /metrics`);
  return Number(line.slice(sample.length + 1));
}
const fallbacks = (t: TestApp, reason: 'unavailable' | 'error') =>
  metric(t, `product_rate_limit_store_fallbacks_total{reason="${reason}"}`);

/** Redis keys of one test run (each run has its own prefix, so parallel runs never share a counter). */
async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}

describe('rate limits per caller (RATE_LIMIT_PER_MIN=5)', () => {
  let t: TestApp;
  const clock = new ManualClock('2026-11-27T10:00:00.000Z');
  const get = (path: string, headers: Record<string, string> = {}) => request(t.baseUrl).get(path).set(headers);

  beforeAll(async () => {
    t = await startTestApp({ env: { RATE_LIMIT_PER_MIN: '5' }, clock });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('should allow a user 5 requests a minute, then answer 429 RATE_LIMITED with Retry-After', async () => {
    for (let i = 0; i < 5; i++) {
      const ok = await get(`${API}/info`, USER('user-a')).expect(200);
      expect(ok.headers['x-ratelimit-limit']).toBe('5');
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(4 - i));
      expect(ok.headers['x-ratelimit-reset']).toBe('60');
    }
    clock.advance(15_000);
    const res = await get(`${API}/info`, { ...USER('user-a'), 'X-Request-Id': 'rl-1' }).expect(429);
    expect(res.headers['retry-after']).toBe('45');
    expect(res.headers['x-request-id']).toBe('rl-1');
    expect(res.headers).toMatchObject({ 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '45' });
    expect(res.body).toEqual({
      error: { code: 'RATE_LIMITED', message: 'Rate limit of 5 requests per minute exceeded; retry in 45 s', request_id: 'rl-1' },
      detail: res.body.error.message,
    });
  });

  it('should count a caller across routes (one limit per caller, not per route)', async () => {
    await get(`${API}/info`, USER('user-d')).expect(200);
    await get(`${API}/products`, USER('user-d')).expect(200);
    await get(`${API}/categories`, USER('user-d')).expect(200);
    const res = await get(`${API}/products/gpt-4o`, USER('user-d')).expect(200);
    expect(res.headers['x-ratelimit-remaining']).toBe('1');
  });

  it('should give another user a separate bucket', async () => {
    await get(`${API}/info`, USER('user-b')).expect(200);
    await get(`${API}/info`, USER('user-a')).expect(429);
  });

  it('should limit anonymous callers by client IP, apart from users', async () => {
    for (let i = 0; i < 5; i++) await get(`${API}/info`).expect(200);
    const res = await get(`${API}/info`).expect(429);
    expect(res.body.error.code).toBe('RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await get(`${API}/info`, USER('user-c')).expect(200);
  });

  it('should count the requests it refuses (a guessed secret, a forged token, a route above the caller), then answer 429', async () => {
    const from = { 'X-Forwarded-For': '10.77.0.1' };
    for (let i = 0; i < 3; i++) {
      const guess = await get(`${API}/subscriptions`, { ...from, 'X-Internal-Service': 'true', 'X-Internal-Service-Secret': `guess-${i}` });
      expect([guess.status, guess.headers['x-ratelimit-remaining']]).toEqual([401, String(4 - i)]);
    }
    await get(`${API}/subscriptions/user/u1`, { ...from, Authorization: 'Bearer not.a.token' }).expect(401);
    await get(`${API}/subscriptions`, from).expect(401);
    // over the limit: the next guess is a 429, and so is anything else from that address
    expect(
      (await get(`${API}/subscriptions`, { ...from, 'X-Internal-Service': 'true', 'X-Internal-Service-Secret': 'guess-5' }).expect(429))
        .body.error.code,
    ).toBe('RATE_LIMITED');
    await get(`${API}/info`, from).expect(429);
    // a user refused a route above their level (403) spends their own budget
    for (let i = 0; i < 5; i++) await get(`${API}/subscriptions`, USER('user-refused')).expect(403);
    await get(`${API}/subscriptions`, USER('user-refused')).expect(429);
    await get(`${API}/info`, USER('user-refused')).expect(429);
  });

  it('should not limit internal services', async () => {
    for (let i = 0; i < 8; i++) {
      const res = await get(`${API}/info`, INTERNAL).expect(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });

  it('should not limit health probes (and the /health aliases), metrics scrapes or the API documents', async () => {
    for (let i = 0; i < 8; i++) {
      for (const path of ['/health/live', '/health/ready', '/metrics', '/api/v1/products/health', '/api/v1/product/health']) {
        const res = await get(path).expect(200);
        expect([path, res.headers['x-ratelimit-limit']]).toEqual([path, undefined]);
      }
      for (const path of ['/docs-json', '/docs/asyncapi.json']) {
        const res = await get(path).expect(200);
        expect([path, res.headers['x-ratelimit-limit']]).toEqual([path, undefined]);
      }
    }
    await get('/docs').redirects(1).expect(200);
    const metrics = await get('/metrics').expect(200);
    expect(metrics.text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/product\/info",status_code="429"\} [1-9]/,
    );
  });

  it('should let a limited user in again once the minute has passed', async () => {
    await get(`${API}/info`, USER('user-a')).expect(429);
    clock.advance(60_000);
    const res = await get(`${API}/info`, USER('user-a')).expect(200);
    expect(res.headers['x-ratelimit-remaining']).toBe('4');
  });

  it('should export the store fallback counter at 0 without Redis', async () => {
    expect(await fallbacks(t, 'unavailable')).toBe(0);
    expect(await fallbacks(t, 'error')).toBe(0);
  });
});

describe('the anonymous caller is the address TRUST_PROXY believes', () => {
  /** `X-RateLimit-Remaining` of one anonymous request with this `X-Forwarded-For`: equal counts = one caller */
  const remaining = async (t: TestApp, forwardedFor: string): Promise<number> =>
    Number((await request(t.baseUrl).get(`${API}/info`).set('X-Forwarded-For', forwardedFor).expect(200)).headers['x-ratelimit-remaining']);
  const apps: TestApp[] = [];
  const start = async (trustProxy?: string): Promise<TestApp> => {
    const env: Record<string, string> = { RATE_LIMIT_PER_MIN: '100' };
    if (trustProxy !== undefined) env.TRUST_PROXY = trustProxy;
    const t = await startTestApp({ env });
    apps.push(t);
    return t;
  };
  afterAll(async () => {
    for (const t of apps) await t.close();
  });

  it('should take the left-most X-Forwarded-For entry by default (every hop trusted: the gateway sanitises the header)', async () => {
    const t = await start();
    expect(await remaining(t, '203.0.113.1, 10.0.0.2')).toBe(99);
    expect(await remaining(t, '203.0.113.1, 10.0.0.3')).toBe(98);
    expect(await remaining(t, '198.51.100.7, 10.0.0.2')).toBe(99);
  });

  it('should take the entry the last proxy added with TRUST_PROXY=1, whatever a client put before it', async () => {
    const t = await start('1');
    expect(await remaining(t, '203.0.113.1, 10.0.0.2')).toBe(99);
    expect(await remaining(t, '198.51.100.7, 10.0.0.2')).toBe(98);
    expect(await remaining(t, '203.0.113.1, 10.0.0.3')).toBe(99);
  });

  it('should skip the listed proxies with TRUST_PROXY=<addresses / CIDRs>', async () => {
    const t = await start('loopback, 10.0.0.0/8');
    expect(await remaining(t, '203.0.113.1, 10.0.0.2')).toBe(99);
    expect(await remaining(t, '198.51.100.7, 203.0.113.1, 10.0.0.3')).toBe(98);
    expect(await remaining(t, '198.51.100.7, 10.0.0.2')).toBe(99);
  });

  it('should ignore X-Forwarded-For with TRUST_PROXY=false (the socket address is the caller)', async () => {
    const t = await start('false');
    expect(await remaining(t, '203.0.113.1')).toBe(99);
    expect(await remaining(t, '198.51.100.7')).toBe(98);
    expect(await remaining(t, '10.0.0.2, 198.51.100.8')).toBe(97);
  });
});

describe('rate limits shared in Redis by two replicas (RATE_LIMIT_REDIS_URL)', () => {
  const prefix = `product_e2e:${process.pid}:${randomUUID()}:`;
  let redis: Redis;
  let a: TestApp;
  let b: TestApp;
  const get = (t: TestApp, path: string, headers: Record<string, string> = {}) => request(t.baseUrl).get(path).set(headers);

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    // a generous Redis timeout: on a loaded machine a slow answer would (by design) count in memory instead
    const env = {
      RATE_LIMIT_PER_MIN: '5',
      RATE_LIMIT_REDIS_URL: REDIS_URL,
      RATE_LIMIT_REDIS_PREFIX: prefix,
      RATE_LIMIT_REDIS_TIMEOUT_MS: '5000',
    };
    a = await startTestApp({ env });
    b = await startTestApp({ env, databaseUrl: a.databaseUrl }); // a second replica of the same service
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    const keys = await keysUnder(redis, prefix);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('should let the replicas share one limit per caller', async () => {
    const remaining: string[] = [];
    for (const t of [a, b, a, b, a])
      remaining.push((await get(t, `${API}/info`, USER('alice')).expect(200)).headers['x-ratelimit-remaining']);
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    for (const t of [b, a]) {
      const res = await get(t, `${API}/info`, USER('alice')).expect(429);
      expect(res.body.error.code).toBe('RATE_LIMITED');
      const retryAfter = Number(res.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(res.headers['x-ratelimit-reset']).toBe(res.headers['retry-after']);
    }
    await get(b, `${API}/info`, USER('bob')).expect(200);
  });

  it('should refuse every request over the limit however fast they come (a refusal never opens a new window)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await get(i % 2 === 0 ? a : b, `${API}/info`, USER('carol'))).status);
    expect(statuses).toEqual([...Array<number>(5).fill(200), ...Array<number>(25).fill(429)]);
  });

  it('should keep one window key per caller in Redis, under the run prefix, expiring with the window', async () => {
    await get(a, `${API}/info`).expect(200); // anonymous: by IP
    const keys = await keysUnder(redis, prefix);
    expect(keys).toEqual(
      expect.arrayContaining([
        `${prefix}{user:alice:default}:hits`,
        `${prefix}{user:bob:default}:hits`,
        `${prefix}{ip:127.0.0.1:default}:hits`,
      ]),
    );
    expect(Number(await redis.get(`${prefix}{user:bob:default}:hits`))).toBe(1);
    const ttl = await redis.pttl(`${prefix}{user:alice:default}:hits`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('should not limit internal services or probes', async () => {
    for (let i = 0; i < 7; i++) {
      await get(a, `${API}/info`, INTERNAL).expect(200);
      await get(b, '/health/live').expect(200);
    }
    expect(await keysUnder(redis, `${prefix}{internal`)).toEqual([]);
  });

  it('should count nothing in process memory while Redis answers', async () => {
    for (const t of [a, b]) {
      expect(await fallbacks(t, 'unavailable')).toBe(0);
      expect(await fallbacks(t, 'error')).toBe(0);
    }
  });
});

describe('rate limits when Redis cannot be reached (RATE_LIMIT_REDIS_URL on a port nothing listens on)', () => {
  let t: TestApp;
  const clock = new ManualClock('2026-11-27T10:00:00.000Z');
  const get = (path: string, headers: Record<string, string> = {}) => request(t.baseUrl).get(path).set(headers);

  beforeAll(async () => {
    const url = `redis://127.0.0.1:${await unusedPort()}`;
    t = await startTestApp({ env: { RATE_LIMIT_PER_MIN: '5', RATE_LIMIT_REDIS_URL: url }, clock });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('should start, and be ready: Redis is not a dependency of readiness', async () => {
    await get('/health/ready').expect(200);
  });

  it('should keep serving and limiting, counting in process memory (per replica), and count the fallbacks', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await get(`${API}/info`, USER('carol')).expect(200);
      expect(res.headers['x-ratelimit-remaining']).toBe(String(4 - i));
    }
    const refused = await get(`${API}/info`, USER('carol')).expect(429);
    expect([refused.body.error.code, refused.headers['retry-after']]).toEqual(['RATE_LIMITED', '60']);
    await get(`${API}/products/gpt-4o`, USER('dave')).expect(200);
    expect(await fallbacks(t, 'unavailable')).toBe(7);
    clock.advance(60_000);
    await get(`${API}/info`, USER('carol')).expect(200);
  });
});

describe('rate limits when Redis goes away, hangs and comes back (through a TCP proxy)', () => {
  const prefix = `product_e2e:${process.pid}:${randomUUID()}:`;
  const proxy = new TcpProxy(REDIS.hostname, Number(REDIS.port || 6379));
  let redis: Redis;
  let t: TestApp;
  const get = (path: string, headers: Record<string, string> = {}) => request(t.baseUrl).get(path).set(headers);

  /** Until a request of a new caller is counted in Redis again (the client reconnects with a back-off of up to 2 s). */
  async function untilCountedInRedis(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const caller = `probe-${attempt}`;
      await get(`${API}/info`, USER(caller)).expect(200);
      if ((await redis.exists(`${prefix}{user:${caller}:default}:hits`)) === 1) return;
      if (attempt > 200) throw new Error('the service never counted in Redis again');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    await proxy.start();
    const url = `redis://${proxy.address.host}:${proxy.address.port}`;
    t = await startTestApp({
      env: { RATE_LIMIT_PER_MIN: '5', RATE_LIMIT_REDIS_URL: url, RATE_LIMIT_REDIS_PREFIX: prefix, RATE_LIMIT_REDIS_TIMEOUT_MS: '100' },
    });
  });
  afterAll(async () => {
    await t?.close();
    await proxy.stop();
    const keys = await keysUnder(redis, prefix);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('should count in Redis while it answers', async () => {
    await get(`${API}/info`, USER('erin')).expect(200);
    expect(Number(await redis.get(`${prefix}{user:erin:default}:hits`))).toBe(1);
  });

  it('should count in process memory while Redis is gone, never failing a request, and in Redis again once it is back', async () => {
    const counted = async () => (await fallbacks(t, 'unavailable')) + (await fallbacks(t, 'error'));
    const before = await counted();
    await proxy.stop();
    for (let i = 0; i < 5; i++) await get(`${API}/info`, USER('frank')).expect(200);
    await get(`${API}/info`, USER('frank')).expect(429); // the limit holds, per replica
    // `error` when a request raced the client's notice of the closed connection, `unavailable` after it
    expect(await counted()).toBe(before + 6);
    expect(await redis.exists(`${prefix}{user:frank:default}:hits`)).toBe(0);

    await proxy.start();
    await untilCountedInRedis();
    await get(`${API}/info`, USER('erin')).expect(200);
    expect(Number(await redis.get(`${prefix}{user:erin:default}:hits`))).toBe(2);
  });

  it('should not wait on a Redis that hangs longer than RATE_LIMIT_REDIS_TIMEOUT_MS: the request is counted in memory', async () => {
    const errorsBefore = await fallbacks(t, 'error');
    proxy.stall();
    const res = await get(`${API}/info`, USER('grace')).expect(200);
    expect(res.headers['x-ratelimit-remaining']).toBe('4');
    expect(await fallbacks(t, 'error')).toBe(errorsBefore + 1);
  });
});
