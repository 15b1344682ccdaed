import pg from 'pg';
import request from 'supertest';
import { Decimal } from '../src/common/money/decimal.js';
import { CATALOG_SEED } from '../src/database/seed/catalog-data.js';
import { costOfUnits, toSchedule } from '../src/product/catalog/pricing-engine.js';
import { UsageRecorder } from '../src/product/usage/usage-recorder.service.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/**
 * Group commit of usage records (real PostgreSQL): concurrent requests share transactions, each gets
 * its own answer, totals and prices stay exact, a failing group is retried request by request.
 */
describe('usage group commit (PostgreSQL)', () => {
  let t: TestApp;
  let db: pg.Client;
  const record = (body: Record<string, unknown>) => request(t.baseUrl).post(`${API}/usage/record`).set(INTERNAL).send(body);
  const rows = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => (await db.query(sql, params)).rows as T[];
  const gpt4o = CATALOG_SEED.products.find((p) => p.product_id === 'gpt-4o')!;
  const schedule = toSchedule(gpt4o.pricing.free_tier_limit ?? '0', gpt4o.pricing.tiers);

  beforeAll(async () => {
    // a wait of a few ms per group makes sure concurrent requests meet in groups
    t = await startTestApp({ env: { USAGE_GROUP_MAX_WAIT_MS: '5', USAGE_GROUP_MAX_RECORDS: '200' } });
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.close();
  });

  it('should give 1,000 concurrent records of one user and product contiguous unit ranges, exact totals and one event each', async () => {
    const amounts = Array.from({ length: 1000 }, (_, i) => 1000 + (i % 7) * 311);
    const answers = await Promise.all(
      amounts.map((usage_amount, i) => record({ user_id: 'gc_user', product_id: 'gpt-4o', usage_amount, request_id: `gc-${i}` })),
    );
    expect(answers.map((a) => a.status)).toEqual(amounts.map(() => 200));
    const stats = t.app.get(UsageRecorder).groupStats;
    expect(stats.items).toBeGreaterThan(stats.groups); // some group held more than one request
    const stored = await rows<{ units_before: string; usage_amount: string; total_cost: string; usage_record_id: string }>(
      `SELECT units_before::text, usage_amount::text, total_cost::text, usage_record_id FROM usage_records
       WHERE user_id = 'gc_user' ORDER BY usage_records.units_before`,
    );
    expect(stored).toHaveLength(1000);
    let next = new Decimal(0);
    let costSum = new Decimal(0);
    for (const r of stored) {
      expect(r.units_before).toBe(next.toFixed()); // no gap, no overlap
      const after = next.plus(r.usage_amount);
      expect(r.total_cost).toBe(costOfUnits(schedule, next, after).toFixed());
      costSum = costSum.plus(r.total_cost);
      next = after;
    }
    const total = amounts.reduce((sum, a) => sum.plus(a), new Decimal(0));
    expect(next.toFixed()).toBe(total.toFixed());
    const [running] = await rows<{ units: string }>(`SELECT units::text FROM usage_period_totals WHERE user_id = 'gc_user'`);
    expect(running.units).toBe(total.toFixed());
    expect(costSum.toFixed()).toBe(costOfUnits(schedule, new Decimal(0), total).toFixed());
    const events = await rows<{ n: number }>(
      `SELECT count(DISTINCT envelope->'data'->>'usage_record_id')::int AS n FROM outbox_events WHERE type = 'product.usage.recorded'
       AND envelope->'data'->>'user_id' = 'gc_user'`,
    );
    expect(events[0].n).toBe(1000);
  }, 120_000);

  it('should answer batches and records racing on the same request_ids across groups: each stored once, never a 503', async () => {
    // keyed batches run in their own request transactions, beside the groups: more writers at once
    const batch = (records: unknown[], key: string) =>
      request(t.baseUrl)
        .post(`${API}/usage/records/batch`)
        .set({ ...INTERNAL, 'Idempotency-Key': key })
        .send({ records });
    for (let round = 0; round < 6; round++) {
      const ids = [0, 1, 2, 3, 4].map((i) => `race-${round}-${i}`);
      const item = (id: string) => ({ user_id: 'race_user', product_id: 'gpt-4o', usage_amount: 1, request_id: id });
      const answers = await Promise.all([
        // eight batches of the five request_ids, each in its own order, beside eight single records of them
        ...Array.from({ length: 8 }, (_, b) =>
          batch(
            ids.map((_, k) => item(ids[(k + b) % 5])),
            `race-${round}-batch-${b}`,
          ),
        ),
        ...Array.from({ length: 8 }, (_, k) => record(item(ids[k % 5]))),
        // and bystanders: another user's records without a request_id
        ...Array.from({ length: 4 }, () => record({ user_id: 'race_bystander', product_id: 'gpt-4o', usage_amount: 1 })),
      ]);
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
      const stored = await rows<{ request_id: string; usage_record_id: string }>(
        `SELECT request_id, usage_record_id FROM usage_records WHERE user_id = 'race_user' AND request_id LIKE $1`,
        [`race-${round}-%`],
      );
      expect(stored.map((r) => r.request_id).sort()).toEqual(ids);
      const idOf = new Map(stored.map((r) => [r.request_id, r.usage_record_id]));
      for (const [b, a] of answers.slice(0, 8).entries()) {
        expect(a.body.results.map((r: { usage_record_id: string }) => r.usage_record_id)).toEqual(
          ids.map((_, k) => idOf.get(ids[(k + b) % 5])),
        );
      }
      for (const [k, a] of answers.slice(8, 16).entries()) expect(a.body.usage_record_id).toBe(idOf.get(ids[k % 5]));
    }
  }, 60_000);

  it('should answer each request of a mixed group on its own: fresh, in-group and stored duplicates, a bad product, a refused subscription', async () => {
    const stored = await record({ user_id: 'mix_user', product_id: 'gpt-4o', usage_amount: 10, request_id: 'mix-stored' }).expect(200);
    const [fresh1, fresh2, dupA, dupB, again, badProduct, refused] = await Promise.all([
      record({ user_id: 'mix_user', product_id: 'gpt-4o', usage_amount: 1, request_id: 'mix-1' }),
      record({ user_id: 'mix_user', product_id: 'gpt-4o', usage_amount: 2, request_id: 'mix-2' }),
      record({ user_id: 'mix_user', product_id: 'gpt-4o', usage_amount: 5, request_id: 'mix-dup' }),
      record({ user_id: 'mix_user', product_id: 'gpt-4o', usage_amount: 5, request_id: 'mix-dup' }),
      record({ user_id: 'mix_user', product_id: 'gpt-4o', usage_amount: 10, request_id: 'mix-stored' }),
      record({ user_id: 'mix_user', product_id: 'no-such-product', usage_amount: 4, request_id: 'mix-bad' }),
      record({ user_id: 'mix_user', product_id: 'gpt-4o', usage_amount: 3, subscription_id: 'sub_nope' }),
    ]);
    expect([fresh1.status, fresh2.status, dupA.status, dupB.status, again.status]).toEqual([200, 200, 200, 200, 200]);
    expect([fresh1.body.duplicate, fresh2.body.duplicate]).toEqual([false, false]);
    // one of the two with the same request_id was stored, the other points at it
    expect([dupA.body.duplicate, dupB.body.duplicate].sort()).toEqual([false, true]);
    expect(dupA.body.usage_record_id).toBe(dupB.body.usage_record_id);
    expect(again.body).toMatchObject({ duplicate: true, usage_record_id: stored.body.usage_record_id });
    expect(badProduct.status).toBe(422);
    expect(badProduct.body.error.code).toBe('PRODUCT_NOT_FOUND');
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('SUBSCRIPTION_NOT_ACTIVE');
    const [{ units }] = await rows<{ units: string }>(`SELECT units::text FROM usage_period_totals WHERE user_id = 'mix_user'`);
    expect(units).toBe('18'); // 10 + 1 + 2 + 5: duplicates and the refused records took no units
    const storedIds = await rows<{ request_id: string }>(
      `SELECT request_id FROM usage_records WHERE user_id = 'mix_user' ORDER BY request_id`,
    );
    expect(storedIds.map((r) => r.request_id)).toEqual(['mix-1', 'mix-2', 'mix-dup', 'mix-stored']);
  });

  it('should retry a group that fails in the database request by request, so only the failing request fails', async () => {
    await db.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.request_id = 'poison' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$`);
    await db.query(`CREATE TRIGGER refuse_poison BEFORE INSERT ON usage_records FOR EACH ROW EXECUTE FUNCTION refuse_poison()`);
    try {
      const answers = await Promise.all([
        record({ user_id: 'poison_user', product_id: 'gpt-4o', usage_amount: 7, request_id: 'ok-1' }),
        record({ user_id: 'poison_user', product_id: 'gpt-4o', usage_amount: 7, request_id: 'poison' }),
        record({ user_id: 'poison_user', product_id: 'gpt-4o', usage_amount: 7, request_id: 'ok-2' }),
      ]);
      expect(answers.map((a) => a.status)).toEqual([200, 500, 200]);
      expect(answers[1].body.error.code).toBe('INTERNAL_ERROR');
      const stored = await rows<{ request_id: string }>(
        `SELECT request_id FROM usage_records WHERE user_id = 'poison_user' ORDER BY request_id`,
      );
      expect(stored.map((r) => r.request_id)).toEqual(['ok-1', 'ok-2']);
      const [{ units }] = await rows<{ units: string }>(`SELECT units::text FROM usage_period_totals WHERE user_id = 'poison_user'`);
      expect(units).toBe('14'); // the failed request's units were rolled back with it
    } finally {
      await db.query(`DROP TRIGGER refuse_poison ON usage_records`);
      await db.query(`DROP FUNCTION refuse_poison()`);
    }
  });
});
