import { Writable } from 'node:stream';
import pg from 'pg';
import request from 'supertest';
import { createTestDatabase } from './support/database.js';
import { startFakePlatform } from './support/fake-platform.js';
import { API, startTestApp, type TestApp } from './support/test-app.js';
import { TokenIssuer } from './support/tokens.js';

/** Jest ignores the e2e project's testTimeout: hooks that start apps say theirs. */
const SLOW = 120_000;
const INTERNAL_SECRET = 'isec-7f3a9c51-internal-service-secret';
const JWT_SECRET = 'jwtsec-b2e84d17-an-hs256-secret-of-32-bytes';
const DB_PASSWORD = 'dbpass-5c1e9a';
const ACCOUNT_PASSWORD = 'acctpass-9d4f2b';
const COOKIE = 'sessioncookie-0a7e3f';
const WRONG_SECRET = 'wrongsecret-64b1c8';

/**
 * Secrets never leave (SPEC section 6 "no secrets", docs/security.md): the whole app logging at
 * trace level into a sink, driven through requests that carry every kind of credential — a user's
 * bearer token, the internal secret, a wrong secret, cookies, a token and a secret pasted into a
 * URL — through its success, refusal and failure paths (a dependency down with a circuit opening on
 * a URL with a password, a database error); the log lines and the events' envelopes (outbox) hold
 * none of the credentials nor any configured secret value (INTERNAL_SERVICE_SECRET,
 * AUTH_JWT_SECRET, the DATABASE_URL and service-URL passwords).
 */
describe('secrets never leave: logs and event metadata', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      callback();
    },
  });
  let platform: Awaited<ReturnType<typeof startFakePlatform>>;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let t: TestApp;
  let userToken: string;
  const internal = { 'X-Internal-Service': 'true', 'X-Internal-Service-Secret': INTERNAL_SECRET };

  beforeAll(async () => {
    platform = await startFakePlatform();
    platform.accounts.addUser('log_user');
    db = await createTestDatabase();
    // the local PostgreSQL trusts its clients: the password is not checked, but it is configured
    const databaseUrl = new URL(db.url);
    databaseUrl.password = DB_PASSWORD;
    const accountUrl = new URL(platform.accounts.url);
    accountUrl.username = 'svc';
    accountUrl.password = ACCOUNT_PASSWORD;
    t = await startTestApp({
      databaseUrl: databaseUrl.toString(),
      logSink: sink,
      env: {
        ...platform.env,
        LOG_LEVEL: 'trace',
        ACCOUNT_SERVICE_URL: accountUrl.toString(),
        INTERNAL_SERVICE_SECRET: INTERNAL_SECRET,
        AUTH_JWT_SECRET: JWT_SECRET,
        AUTH_TRUST_USER_HEADER: 'false',
        CLIENT_RETRIES: '0',
        CLIENT_BREAKER_THRESHOLD: '1',
        CLIENT_CACHE_TTL_MS: '0',
      },
    });
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    userToken = await new TokenIssuer(() => new Date()).hs256(JWT_SECRET, { sub: 'log_user' });
  }, SLOW);
  afterAll(async () => {
    await client?.end();
    await t?.app.close();
    await db?.drop();
    await platform?.stop();
  }, SLOW);

  it('should log every request, refusal and failure without a credential or configured secret', async () => {
    const user = { Authorization: `Bearer ${userToken}`, Cookie: `session=${COOKIE}` };
    // successes that write events: a subscription (internal) and usage (the user)
    await request(t.baseUrl)
      .post(`${API}/subscriptions`)
      .set(internal)
      .set('Cookie', `session=${COOKIE}`)
      .set('X-Request-Id', 'log-req-created')
      .send({ user_id: 'log_user', plan_id: 'tier_free_001', metadata: { source: 'log test' } })
      .expect(200);
    await request(t.baseUrl)
      .post(`${API}/usage/record`)
      .set(user)
      .set('X-Request-Id', 'log-req-usage')
      .send({ user_id: 'log_user', product_id: 'gpt-4o-mini', usage_amount: 5 })
      .expect(200);
    // refusals: a wrong secret, a forged token, credentials pasted into URLs
    await request(t.baseUrl)
      .get(`${API}/subscriptions`)
      .set({ 'X-Internal-Service': 'true', 'X-Internal-Service-Secret': WRONG_SECRET })
      .expect(401);
    await request(t.baseUrl).get(`${API}/subscriptions/user/log_user`).set('Authorization', `Bearer ${userToken}x`).expect(401);
    await request(t.baseUrl)
      .get(`${API}/products?access_token=${userToken}&secret=${INTERNAL_SECRET}`)
      .set('X-Request-Id', 'log-req-url')
      .expect(200);
    // failures: the account service down (its circuit opens, logging its URL), then a database error
    platform.accounts.failNext(Number.POSITIVE_INFINITY, 503);
    const down = await request(t.baseUrl)
      .post(`${API}/subscriptions`)
      .set(internal)
      .set('X-Request-Id', 'log-req-down')
      .send({ user_id: 'log_user', plan_id: 'tier_pro_001', organization_id: null });
    expect(down.status).toBe(503);
    platform.accounts.clearFaults();
    await client.query('ALTER TABLE subscriptions RENAME TO subscriptions_hidden');
    try {
      const broken = await request(t.baseUrl).get(`${API}/subscriptions/user/log_user`).set(user).set('X-Request-Id', 'log-req-db');
      expect(broken.status).toBeGreaterThanOrEqual(500);
    } finally {
      await client.query('ALTER TABLE subscriptions_hidden RENAME TO subscriptions');
    }
    await new Promise((resolve) => setImmediate(resolve)); // the last request lines are written after the responses

    const text = lines.join('\n');
    // the lines looked at are the ones of these requests, successes and failures
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requestLine = (id: string) => parsed.find((l) => l.request_id === id && String(l.message).startsWith('request '));
    expect(requestLine('log-req-created')).toMatchObject({ message: 'request completed', res: { status_code: 200 } });
    expect(requestLine('log-req-url')).toMatchObject({ req: { url: expect.stringContaining('access_token=[redacted]') } });
    expect(requestLine('log-req-down')).toMatchObject({ level: 'error', message: 'request errored', error_code: 'DEPENDENCY_UNAVAILABLE' });
    expect(requestLine('log-req-db')).toMatchObject({ level: 'error', message: 'request errored' });
    // one line per failed request: an expected 503 has no second line of its own
    expect(parsed.filter((l) => l.request_id === 'log-req-down' && l.level === 'warn' && l.context === 'HTTP')).toEqual([]);
    expect(parsed.some((l) => l.message === 'circuit breaker opened' && String(l.base_url).includes('[redacted]'))).toBe(true);

    const leaked = [INTERNAL_SECRET, JWT_SECRET, DB_PASSWORD, ACCOUNT_PASSWORD, COOKIE, WRONG_SECRET, userToken].filter((secret) =>
      text.includes(secret),
    );
    expect(leaked).toEqual([]);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{4,}\.eyJ/);
  });

  it("should carry no credential in the events' envelopes (metadata: request and correlation ids only)", async () => {
    const { rows } = await client.query<{ type: string; envelope: string }>('SELECT type, envelope::text AS envelope FROM outbox_events');
    expect(rows.map((r) => r.type)).toEqual(expect.arrayContaining(['subscription.created', 'product.usage.recorded']));
    for (const { envelope } of rows) {
      const leaked = [INTERNAL_SECRET, JWT_SECRET, DB_PASSWORD, ACCOUNT_PASSWORD, COOKIE, userToken].filter((s) => envelope.includes(s));
      expect(leaked).toEqual([]);
      const parsed = JSON.parse(envelope) as { metadata: Record<string, unknown> };
      expect(Object.keys(parsed.metadata).every((k) => k === 'request_id' || k === 'correlation_id')).toBe(true);
    }
    const created = rows.find((r) => r.type === 'subscription.created');
    expect(JSON.parse(created!.envelope)).toMatchObject({ metadata: { request_id: 'log-req-created' } });
  });
});
