import pg from 'pg';
import request from 'supertest';
import { ManualClock } from '../src/common/clock/clock.js';
import { CatalogStore } from '../src/product/catalog/catalog-store.js';
import { Db } from './support/catalog-fixture.js';
import { eventually } from './support/events.js';
import { startFakePlatform } from './support/fake-platform.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

describe('Idempotency-Key (PostgreSQL)', () => {
  const clock = new ManualClock('2026-11-25T10:00:00.000Z');
  let t: TestApp;
  let platform: Awaited<ReturnType<typeof startFakePlatform>>;
  let db: Db;
  let n = 0;
  const newUser = (): string => {
    const id = `idem_user_${++n}`;
    platform.accounts.addUser(id);
    return id;
  };
  const post = (path: string, key: string | undefined, body: unknown, headers: Record<string, string> = INTERNAL) => {
    const req = request(t.baseUrl).post(`${API}${path}`).set(headers);
    if (key !== undefined) void req.set('Idempotency-Key', key);
    return req.send(body as object);
  };

  beforeAll(async () => {
    platform = await startFakePlatform();
    t = await startTestApp({ env: platform.env, clock });
    db = await Db.connect(t.databaseUrl as string, () => t.app.get(CatalogStore).refresh());
    await db.ensureCatalog();
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await t?.close();
    await platform?.stop();
  }, 60_000);

  it('should replay the first response for the same key and body, with Idempotent-Replayed: true and no second effect', async () => {
    const user = newUser();
    const body = { user_id: user, plan_id: 'tier_pro_001', metadata: { a: 1, b: 2 } };
    const first = await post('/subscriptions', 'create-1', body).expect(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    // same JSON with the keys in another order is the same request
    const again = await post('/subscriptions', 'create-1', { metadata: { b: 2, a: 1 }, plan_id: 'tier_pro_001', user_id: user }).expect(
      200,
    );
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    // the same body byte for byte: fields in the same order (jsonb had stored them reordered)
    expect(again.text).toBe(first.text);
    // and so is one that sends an optional field as null (SPEC 1: absent or null both mean "not given")
    const withNull = await post('/subscriptions', 'create-1', { ...body, organization_id: null }).expect(200);
    expect(withNull.headers['idempotent-replayed']).toBe('true');
    expect(withNull.text).toBe(first.text);
    expect(await db.query(`SELECT 1 FROM subscriptions WHERE user_id = $1`, [user])).toHaveLength(1);
    expect(await db.outbox('subscription.created', first.body.subscription_id)).toHaveLength(1);
    // a keyed usage record (stored by its group) and its void (a request transaction) replay byte for byte too
    const usage = { user_id: user, product_id: 'gpt-4', usage_amount: 3, usage_details: { z: 1, a: 2 } };
    const recorded = await post('/usage/record', 'replay-usage-1', usage).expect(200);
    const recordedAgain = await post('/usage/record', 'replay-usage-1', { ...usage, session_id: null }).expect(200);
    expect(recordedAgain.headers['idempotent-replayed']).toBe('true');
    expect(recordedAgain.text).toBe(recorded.text);
    const voidPath = `/usage/records/${recorded.body.usage_record_id}/void`;
    const voided = await post(voidPath, 'replay-void-1', { reason: 'test' }).expect(200);
    const voidedAgain = await post(voidPath, 'replay-void-1', { reason: 'test' }).expect(200);
    expect(voidedAgain.headers['idempotent-replayed']).toBe('true');
    expect(voidedAgain.text).toBe(voided.text);
  });

  it('should answer 409 IDEMPOTENCY_KEY_REUSED for the same key with another body or path', async () => {
    const user = newUser();
    await post('/usage/record', 'usage-1', { user_id: user, product_id: 'gpt-4', usage_amount: 10 }).expect(200);
    const res = await post('/usage/record', 'usage-1', { user_id: user, product_id: 'gpt-4', usage_amount: 11 }).expect(409);
    expect(res.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    await post('/usage/records/batch', 'usage-1', { records: [{ user_id: user, product_id: 'gpt-4', usage_amount: 10 }] }).expect(409);
    expect(await db.query(`SELECT 1 FROM usage_records WHERE user_id = $1`, [user])).toHaveLength(1);
  });

  it('should produce exactly one effect from concurrent requests with one key', async () => {
    const user = newUser();
    const body = { user_id: user, product_id: 'advanced_agent', usage_amount: 7 };
    const results = await Promise.all(Array.from({ length: 16 }, () => post('/usage/record', 'race-key', body)));
    expect(results.map((r) => r.status)).toEqual(Array(16).fill(200));
    expect(new Set(results.map((r) => r.body.usage_record_id)).size).toBe(1);
    expect(results.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(15);
    expect(await db.query(`SELECT 1 FROM usage_records WHERE user_id = $1`, [user])).toHaveLength(1);
    expect(await db.query(`SELECT 1 FROM idempotency_keys WHERE key = 'race-key'`)).toHaveLength(1);
    const events = await db.query(
      `SELECT 1 FROM outbox_events WHERE type = 'product.usage.recorded' AND envelope->'data'->>'user_id' = $1`,
      [user],
    );
    expect(events).toHaveLength(1);
  }, 60_000);

  it('should not store failed requests: the key is released and a retry runs again', async () => {
    const user = newUser();
    const bad = { user_id: user, product_id: 'no_such_product', usage_amount: 1 };
    expect((await post('/usage/record', 'retry-key', bad).expect(422)).headers['idempotent-replayed']).toBeUndefined();
    await post('/usage/record', 'retry-key', bad).expect(422);
    const fixed = await post('/usage/record', 'retry-key', { ...bad, product_id: 'gpt-4' }).expect(200);
    expect(fixed.headers['idempotent-replayed']).toBeUndefined();
    await post('/usage/record', 'retry-key', { ...bad, product_id: 'gpt-4' })
      .expect(200)
      .expect('Idempotent-Replayed', 'true');
  });

  it('should make a retry wait while another transaction holds the key, and run it once that one rolls back (a process that died)', async () => {
    const user = newUser();
    // a request of another process, mid-flight: its claim is written and not committed
    const other = new pg.Client({ connectionString: t.databaseUrl });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        `INSERT INTO idempotency_keys (scope, key, method, path, request_hash, state, created_at, expires_at)
         VALUES ('internal', 'held-key', 'POST', '/x', 'h', 'in_progress', now(), now() + interval '1 day')`,
      );
      const retry = post('/usage/record', 'held-key', { user_id: user, product_id: 'gpt-4', usage_amount: 5 }).then((r) => r);
      // the retry's claim waits on the key's unique index (a lock wait, visible in pg_locks)
      await eventually(
        async () => (await db.query(`SELECT 1 FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'`)).length,
        (waiting) => waiting > 0,
      );
      expect(await db.query(`SELECT 1 FROM usage_records WHERE user_id = $1`, [user])).toHaveLength(0);
      await other.query('ROLLBACK'); // what PostgreSQL does when the owner's connection drops
      const res = await retry;
      expect(res.status).toBe(200);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
    } finally {
      await other.end();
    }
    expect(await db.query(`SELECT 1 FROM usage_records WHERE user_id = $1`, [user])).toHaveLength(1);
    await post('/usage/record', 'held-key', { user_id: user, product_id: 'gpt-4', usage_amount: 5 })
      .expect(200)
      .expect('Idempotent-Replayed', 'true');
  }, 30_000);

  it('should commit the effect and the stored response together: when storing the response fails, nothing was recorded', async () => {
    const user = newUser();
    await db.query(`
      CREATE FUNCTION test_idem_fault() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.key = 'atomic-key' AND NEW.state = 'completed' THEN
          RAISE EXCEPTION 'injected failure storing the response' USING ERRCODE = '57P03';
        END IF;
        RETURN NEW;
      END $$`);
    // the response is stored by an UPDATE (a request transaction) or with the claim's INSERT (a group commit)
    await db.query(
      `CREATE TRIGGER test_idem_fault BEFORE INSERT OR UPDATE ON idempotency_keys FOR EACH ROW EXECUTE FUNCTION test_idem_fault()`,
    );
    const body = { user_id: user, product_id: 'gpt-4', usage_amount: 3 };
    try {
      const failed = await post('/usage/record', 'atomic-key', body);
      expect(failed.status).toBe(503);
      expect(await db.query(`SELECT 1 FROM usage_records WHERE user_id = $1`, [user])).toHaveLength(0);
      expect(await db.query(`SELECT 1 FROM idempotency_keys WHERE key = 'atomic-key'`)).toHaveLength(0);
    } finally {
      await db.query(`DROP TRIGGER test_idem_fault ON idempotency_keys`);
      await db.query(`DROP FUNCTION test_idem_fault()`);
    }
    const ok = await post('/usage/record', 'atomic-key', body).expect(200);
    expect(ok.headers['idempotent-replayed']).toBeUndefined();
    expect(await db.query(`SELECT 1 FROM usage_records WHERE user_id = $1`, [user])).toHaveLength(1);
    const events = await db.query(
      `SELECT 1 FROM outbox_events WHERE type = 'product.usage.recorded' AND envelope->'data'->>'user_id' = $1`,
      [user],
    );
    expect(events).toHaveLength(1);
  });

  it('should scope keys per caller', async () => {
    const a = newUser();
    const b = newUser();
    const ra = await post('/usage/record', 'shared-key', { user_id: a, product_id: 'gpt-4', usage_amount: 1 }, { 'X-User-Id': a }).expect(
      200,
    );
    const rb = await post('/usage/record', 'shared-key', { user_id: b, product_id: 'gpt-4', usage_amount: 1 }, { 'X-User-Id': b }).expect(
      200,
    );
    expect(rb.headers['idempotent-replayed']).toBeUndefined();
    expect(rb.body.usage_record_id).not.toBe(ra.body.usage_record_id);
  });

  it('should refuse an empty or over-long key with 400 and ignore keys on GET', async () => {
    const user = newUser();
    const tooLong = await post('/usage/record', 'k'.repeat(256), { user_id: user, product_id: 'gpt-4', usage_amount: 1 }).expect(400);
    expect(tooLong.body.error.details[0].field).toBe('Idempotency-Key');
    await post('/usage/record', '', { user_id: user, product_id: 'gpt-4', usage_amount: 1 }).expect(400);
    await post('/usage/record', 'k'.repeat(255), { user_id: user, product_id: 'gpt-4', usage_amount: 1 }).expect(200);
    const get = await request(t.baseUrl)
      .get(`${API}/usage/records?user_id=${user}`)
      .set(INTERNAL)
      .set('Idempotency-Key', 'get-key')
      .expect(200);
    expect(get.headers['idempotent-replayed']).toBeUndefined();
    expect(await db.query(`SELECT 1 FROM idempotency_keys WHERE key = 'get-key'`)).toEqual([]);
  });

  it('should forget a key after 24 hours', async () => {
    const user = newUser();
    await post('/usage/record', 'day-key', { user_id: user, product_id: 'gpt-4', usage_amount: 1 }).expect(200);
    clock.advance(24 * 3_600_000);
    const later = await post('/usage/record', 'day-key', { user_id: user, product_id: 'gpt-4', usage_amount: 2 }).expect(200);
    expect(later.headers['idempotent-replayed']).toBeUndefined();
    expect(later.body.recorded_amount).toBe('2');
  });
});
