import pg from 'pg';
import request from 'supertest';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/**
 * Readiness pings PostgreSQL on a connection of its own: a pool whose every connection is busy is
 * a busy replica, not a database that is down, and it must stay in the Service.
 */
describe('readiness beside a busy pool (PostgreSQL)', () => {
  let t: TestApp;
  let blocker: pg.Client;

  beforeAll(async () => {
    t = await startTestApp({ env: { DB_POOL_SIZE: '2' } });
    blocker = new pg.Client({ connectionString: t.databaseUrl });
    await blocker.connect();
  });
  afterAll(async () => {
    await blocker?.end().catch(() => undefined);
    await t?.close();
  });

  it('should answer /health/ready 200 while every pooled connection waits on a lock', async () => {
    await request(t.baseUrl).get('/health/ready').expect(200);
    // the pool's connections get stuck behind a lock held outside the service: usage groups (two
    // commit at once) wait on the running totals
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE usage_period_totals IN ACCESS EXCLUSIVE MODE');
    const waiting = async () =>
      (
        await blocker.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
        )
      ).rows[0].n;
    const stuck: Promise<number>[] = [];
    try {
      for (let i = 0; i < 100 && (await waiting()) < 2; i++) {
        stuck.push(
          request(t.baseUrl)
            .post(`${API}/usage/record`)
            .set(INTERNAL)
            .send({ user_id: `busy_user_${i}`, product_id: 'gpt-4o', usage_amount: 1 })
            .then((res) => res.status),
        );
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await waiting()).toBe(2); // both pooled connections are stuck
      const ready = await request(t.baseUrl).get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.details.database).toMatchObject({ status: 'up' });
    } finally {
      await blocker.query('ROLLBACK');
    }
    // and the writes go through once the lock is gone
    expect(new Set(await Promise.all(stuck))).toEqual(new Set([200]));
  }, 30_000);
});
