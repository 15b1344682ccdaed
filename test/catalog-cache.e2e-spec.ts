import request from 'supertest';
import { eventually } from './support/events.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';
import pg from 'pg';

/**
 * The catalog is served from memory: strong ETags and 304s, Cache-Control, a write visible at once
 * on its replica and on another replica through LISTEN/NOTIFY, and a change made behind the
 * service's back picked up by the periodic reload.
 */
describe('catalog in memory (ETag, Cache-Control, replicas)', () => {
  let a: TestApp;
  let b: TestApp;
  let c: TestApp;

  beforeAll(async () => {
    a = await startTestApp({ env: { CATALOG_REFRESH_MS: '1h' } });
    // same database: B hears A's writes only through NOTIFY (its periodic reload is an hour away)
    b = await startTestApp({ databaseUrl: a.databaseUrl, env: { CATALOG_REFRESH_MS: '1h' } });
    // C relies on its periodic reload alone
    c = await startTestApp({ databaseUrl: a.databaseUrl, env: { CATALOG_REFRESH_MS: '300ms' } });
  });

  afterAll(async () => {
    await c?.app.close();
    await b?.app.close();
    await a?.close();
  });

  it('should answer catalog GETs with a strong ETag and Cache-Control, and If-None-Match with an empty 304', async () => {
    const first = await request(a.baseUrl).get(`${API}/products/gpt-4o`).expect(200);
    expect(first.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(first.headers['cache-control']).toBe('public, max-age=30');
    expect(first.headers['content-type']).toMatch(/^application\/json/);
    expect(first.body.product_id).toBe('gpt-4o');
    const again = await request(a.baseUrl).get(`${API}/products/gpt-4o`).set('If-None-Match', first.headers.etag).expect(304);
    expect(again.text).toBe('');
    expect(again.headers.etag).toBe(first.headers.etag);
    // a weak form of the same tag and a list of tags match too; another tag does not
    await request(a.baseUrl).get(`${API}/products/gpt-4o`).set('If-None-Match', `"x", W/${first.headers.etag}`).expect(304);
    await request(a.baseUrl).get(`${API}/products/gpt-4o`).set('If-None-Match', '"other"').expect(200);
    for (const path of ['/products', '/products/gpt-4o/pricing', '/plans', '/plans/tier_pro_001', '/categories']) {
      const res = await request(a.baseUrl).get(`${API}${path}`).expect(200);
      expect(res.headers.etag).toBeDefined();
      await request(a.baseUrl).get(`${API}${path}`).set('If-None-Match', res.headers.etag).expect(304);
    }
  });

  it('should mark caller-dependent answers private and user-specific ones no-store', async () => {
    const internal = await request(a.baseUrl).get(`${API}/plans`).set(INTERNAL).expect(200);
    expect(internal.headers['cache-control']).toBe('private, max-age=30');
    const effective = await request(a.baseUrl).get(`${API}/products/gpt-4o/pricing?user_id=u1`).set(INTERNAL).expect(200);
    expect(effective.headers['cache-control']).toBe('no-store');
    expect(effective.headers.etag).toBeUndefined();
  });

  it('should show a write at once on its own replica, with a new ETag, and on another replica through NOTIFY', async () => {
    const before = await request(a.baseUrl).get(`${API}/products/gpt-4o`).expect(200);
    await request(a.baseUrl).patch(`${API}/products/gpt-4o`).set(INTERNAL).send({ name: 'GPT-4o (renamed)' }).expect(200);
    const after = await request(a.baseUrl).get(`${API}/products/gpt-4o`).expect(200);
    expect(after.body.name).toBe('GPT-4o (renamed)');
    expect(after.headers.etag).not.toBe(before.headers.etag);
    await request(a.baseUrl).get(`${API}/products/gpt-4o`).set('If-None-Match', before.headers.etag).expect(200);
    const onB = await eventually(
      () => request(b.baseUrl).get(`${API}/products/gpt-4o`),
      (res) => res.body.name === 'GPT-4o (renamed)',
      10_000,
    );
    expect(onB.body.name).toBe('GPT-4o (renamed)');
    expect(onB.headers.etag).toBe(after.headers.etag);
  });

  it('should pick up a change made behind the service (no NOTIFY) within its periodic reload', async () => {
    const client = new pg.Client({ connectionString: a.databaseUrl });
    await client.connect();
    try {
      await client.query(`UPDATE products SET name = 'Changed by hand', updated_at = now() WHERE product_id = 'gpt-4'`);
    } finally {
      await client.end();
    }
    const onC = await eventually(
      () => request(c.baseUrl).get(`${API}/products/gpt-4`),
      (res) => res.body.name === 'Changed by hand',
      10_000,
    );
    expect(onC.body.name).toBe('Changed by hand');
    // A, with its hour-long reload and no NOTIFY, still serves what it had: the documented staleness bound
    expect((await request(a.baseUrl).get(`${API}/products/gpt-4`).expect(200)).body.name).not.toBe('Changed by hand');
  });
});
