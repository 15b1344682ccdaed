import request from 'supertest';
import { DataSource } from 'typeorm';
import { Decimal } from '../src/common/money/decimal.js';
import { UnitOfWork } from '../src/database/unit-of-work.js';
import { LifecycleSweeper } from '../src/product/subscriptions/lifecycle.sweeper.js';
import { SubscriptionRepository } from '../src/product/subscriptions/subscription.repository.js';
import { toUsageRecordView } from '../src/product/usage/usage.mapper.js';
import { UsageRepository } from '../src/product/usage/usage.repository.js';
import { CatalogStore } from '../src/product/catalog/catalog-store.js';
import { Db } from './support/catalog-fixture.js';
import { startFakePlatform } from './support/fake-platform.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/** The same rules on embedded PGlite (one session, transactions serialized in process). */
describe('subscriptions and usage on embedded PGlite', () => {
  let t: TestApp;
  let platform: Awaited<ReturnType<typeof startFakePlatform>>;
  let db: Db;

  beforeAll(async () => {
    platform = await startFakePlatform();
    platform.accounts.addUser('pg_user');
    t = await startTestApp({ env: platform.env, pglite: true });
    const ds = t.app.get(DataSource);
    db = Db.through(
      (sql, params) => ds.query(sql, params),
      () => t.app.get(CatalogStore).refresh(),
    );
    await db.ensureCatalog();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await platform?.stop();
  }, 60_000);

  it('should create one subscription out of concurrent attempts and price concurrent usage exactly', async () => {
    const creates = await Promise.all(
      Array.from({ length: 6 }, () =>
        request(t.baseUrl).post(`${API}/subscriptions`).set(INTERNAL).send({ user_id: 'pg_user', plan_id: 'tier_pro_001' }),
      ),
    );
    expect(creates.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409, 409]);
    const records = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        request(t.baseUrl)
          .post(`${API}/usage/record`)
          .set(INTERNAL)
          .set('Idempotency-Key', `pg-${i % 20}`)
          .send({ user_id: 'pg_user', product_id: 'advanced_agent', usage_amount: 1, request_id: `r-${i % 20}` }),
      ),
    );
    expect(records.every((r) => r.status === 200)).toBe(true);
    const total = records
      .filter((r) => r.headers['idempotent-replayed'] !== 'true')
      .reduce((s, r) => s.plus(r.body.total_cost), new Decimal(0));
    expect(total.toFixed()).toBe('5'); // 20 units: 10 free, 10 × 0.50
    const stats = await request(t.baseUrl).get(`${API}/statistics/usage?user_id=pg_user`).set(INTERNAL).expect(200);
    expect(stats.body).toMatchObject({ total_usage: '20', total_cost: '5' });
    await t.app.get(LifecycleSweeper).sweepOnce();
  }, 60_000);

  it('should take keyed subscription creates into the group commit too: one subscription per key, the repeat replays', async () => {
    platform.accounts.addUser('pg_keyed_a').addUser('pg_keyed_b');
    const keyed = (key: string, user_id: string) =>
      request(t.baseUrl).post(`${API}/subscriptions`).set(INTERNAL).set('Idempotency-Key', key).send({ user_id, plan_id: 'tier_free_001' });
    const [a1, a2, b] = await Promise.all([
      keyed('pg-sub-a', 'pg_keyed_a'),
      keyed('pg-sub-a', 'pg_keyed_a'),
      keyed('pg-sub-b', 'pg_keyed_b'),
    ]);
    expect([a1.status, a2.status, b.status]).toEqual([200, 200, 200]);
    expect(a2.body.subscription_id).toBe(a1.body.subscription_id);
    expect([a1.headers['idempotent-replayed'], a2.headers['idempotent-replayed']].sort()).toEqual(['true', undefined]);
    const rows = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM subscriptions WHERE user_id IN ('pg_keyed_a', 'pg_keyed_b')`,
    );
    expect(rows[0].n).toBe(2);
    const keys = await db.query<{ key: string; state: string }>(
      `SELECT key, state FROM idempotency_keys WHERE key LIKE 'pg-sub-%' ORDER BY key`,
    );
    expect(keys).toEqual([
      { key: 'pg-sub-a', state: 'completed' },
      { key: 'pg-sub-b', state: 'completed' },
    ]);
  });

  it('should read the bigint keysets (seq) as their decimal text, as on PostgreSQL (PGlite hands int8 over as a number)', async () => {
    const uow = t.app.get(UnitOfWork);
    const subscriptions = t.app.get(SubscriptionRepository);
    const [listed] = await uow.read((tx) => subscriptions.list(tx, { userId: 'pg_user' }, 1)); // TypeORM's entities
    const [locked] = await uow.run((tx) => subscriptions.lockMany(tx, [listed.subscriptionId])); // the prepared locking read
    const [record] = await uow.read((tx) => t.app.get(UsageRepository).listViews(tx, { userId: 'pg_user' }, 1));
    expect([typeof listed.seq, typeof locked.seq, typeof record.seq]).toEqual(['string', 'string', 'string']);
    expect(locked.seq).toBe(listed.seq);
    expect(record.seq).toMatch(/^[1-9]\d*$/);
  });

  it('should list records with the JSON PGlite writes, as toUsageRecordView writes the stored rows', async () => {
    platform.accounts.addUser('pg_views');
    const details = [{ model: 'x', tokens: { input: 3, output: 0.25 }, note: 'é "q" \\ 😀' }, null];
    for (const [i, usage_details] of details.entries()) {
      await request(t.baseUrl)
        .post(`${API}/usage/record`)
        .set(INTERNAL)
        .send({ user_id: 'pg_views', product_id: 'gpt-4o', usage_amount: '12.5', request_id: `view-${i}`, usage_details })
        .expect(200);
    }
    const listed = await request(t.baseUrl).get(`${API}/usage/records?user_id=pg_views`).set(INTERNAL).expect(200);
    const stored = await t.app.get(UnitOfWork).read((tx) =>
      t.app.get(UsageRepository).findByRequestIds(
        tx,
        details.map((_, i) => ({ userId: 'pg_views', productId: 'gpt-4o', requestId: `view-${i}` })),
      ),
    );
    const expected = stored.sort((a, b) => Number(b.seq) - Number(a.seq)).map(toUsageRecordView);
    expect(listed.body).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(listed.body).toHaveLength(2);
  });

  it("should hold an enforced limit, publish each threshold once and void at the record's own tiers (SPEC section 8)", async () => {
    platform.accounts.addUser('pg_quota');
    await db.copyPlan('tier_free_001', { plan_id: 'pg_limited', usage_limits: { agent_execution: { daily_requests: 3 } } });
    await request(t.baseUrl).post(`${API}/subscriptions`).set(INTERNAL).send({ user_id: 'pg_quota', plan_id: 'pg_limited' }).expect(200);
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        request(t.baseUrl)
          .post(`${API}/usage/record`)
          .set(INTERNAL)
          .send({ user_id: 'pg_quota', product_id: 'advanced_agent', usage_amount: 10, enforce: true }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 429, 429, 429]);
    const events = await db.query<{ percent: number }>(
      `SELECT (envelope->'data'->>'threshold_percent')::int AS percent FROM outbox_events
       WHERE type = 'product.usage.threshold_reached' AND envelope->'data'->>'user_id' = 'pg_quota' ORDER BY 1`,
    );
    expect(events.map((e) => e.percent)).toEqual([50, 80, 100]);
    const quota = await request(t.baseUrl)
      .get(`${API}/usage/quota`)
      .set(INTERNAL)
      .query({ user_id: 'pg_quota', product_id: 'advanced_agent' });
    expect(quota.body).toMatchObject({ limits: [{ key: 'agent_execution', limit: 3, used: 3, remaining: 0 }], has_access: false });
    const paid = results.filter((r) => r.status === 200).find((r) => r.body.total_cost === '5') as (typeof results)[number];
    const voided = await request(t.baseUrl)
      .post(`${API}/usage/records/${paid.body.usage_record_id}/void`)
      .set(INTERNAL)
      .send({ reason: 'pglite' })
      .expect(200);
    expect(voided.body).toMatchObject({ voided_amount: '10', credited_cost: '5', remaining_amount: '0' });
    await request(t.baseUrl)
      .post(`${API}/usage/record`)
      .set(INTERNAL)
      .send({ user_id: 'pg_quota', product_id: 'advanced_agent', usage_amount: 1, enforce: true })
      .expect(200);
  }, 60_000);
});
