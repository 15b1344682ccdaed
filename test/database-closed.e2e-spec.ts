import pg from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/**
 * A request that reaches the app after its database closed (the last step of a shutdown, or a
 * listener left open past it) is answered 503 with the SPEC body, never 500: TypeORM's "Driver not
 * Connected" is the database being unavailable, as a refused connection is.
 */
describe('requests after the database closed', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.get(DataSource).destroy();
  });
  afterAll(async () => {
    await t?.close().catch(() => undefined); // the DataSource is already gone
  });

  it('should answer a usage record 503 SERVICE_UNAVAILABLE with Retry-After', async () => {
    const res = await request(t.baseUrl)
      .post(`${API}/usage/record`)
      .set('X-User-Id', 'closed_user')
      .send({ user_id: 'closed_user', product_id: 'gpt-4o', usage_amount: 1, request_id: 'closed-1' })
      .expect(503);
    expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('1');
  });

  it('should answer a subscription read 503 as well', async () => {
    const res = await request(t.baseUrl).get(`${API}/subscriptions`).set(INTERNAL).expect(503);
    expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
  });
});

/**
 * A database that answers but refuses writes (a failover under way: the primary became a standby,
 * or `default_transaction_read_only`): every write answers 503 SERVICE_UNAVAILABLE, as when it is
 * down (SQLSTATE 25006 had been a 500), reads go on, and writes work again once it takes them.
 */
describe('writes while the database is read-only', () => {
  let t: TestApp;
  let db: pg.Client;
  const record = (requestId: string) =>
    request(t.baseUrl)
      .post(`${API}/usage/record`)
      .set(INTERNAL)
      .send({ user_id: 'ro_user', product_id: 'gpt-4o', usage_amount: 1, request_id: requestId });
  /** every session of the service's database reconnects, and so takes the database's settings */
  const reconnectAll = () =>
    db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);

  beforeAll(async () => {
    t = await startTestApp();
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.close();
  });

  it('should answer writes 503 with Retry-After (not 500) while reads go on, and take writes again after', async () => {
    await record('ro-before').expect(200);
    await db.query(`ALTER DATABASE "${db.database}" SET default_transaction_read_only = on`);
    await reconnectAll();
    // reads first: the pool's broken connections are replaced by read-only ones
    for (let i = 0; i < 12; i++) await request(t.baseUrl).get(`${API}/usage/records?user_id=ro_user`).set(INTERNAL);
    await request(t.baseUrl).get(`${API}/usage/records?user_id=ro_user`).set(INTERNAL).expect(200);
    for (const requestId of ['ro-1', 'ro-2']) {
      const refused = await record(requestId);
      expect([refused.status, refused.body.error.code, refused.headers['retry-after']]).toEqual([503, 'SERVICE_UNAVAILABLE', '1']);
    }
    // a keyed write (its own transaction, and the key's row) too
    const keyed = await record('ro-3').set('Idempotency-Key', 'ro-key');
    expect([keyed.status, keyed.body.error.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    await db.query(`ALTER DATABASE "${db.database}" RESET default_transaction_read_only`);
    await reconnectAll();
    for (let i = 0; i < 12; i++) await request(t.baseUrl).get(`${API}/usage/records?user_id=ro_user`).set(INTERNAL);
    await record('ro-1').expect(200);
  });
});
