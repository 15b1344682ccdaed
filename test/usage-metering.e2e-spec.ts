import request from 'supertest';
import { ManualClock } from '../src/common/clock/clock.js';
import { Decimal } from '../src/common/money/decimal.js';
import { CatalogStore } from '../src/product/catalog/catalog-store.js';
import { Db } from './support/catalog-fixture.js';
import { startFakePlatform } from './support/fake-platform.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/**
 * SPEC section 8 end to end, on PostgreSQL with two app instances on one database: quotas that
 * hold (enforced records racing a small limit on one and on two instances), threshold events once
 * per threshold per window, voids at the record's own tiers (partial voids adding up to the
 * record's cost), a void racing new records, GET /usage/quota and availability.
 */
const NOW = '2026-11-25T10:00:00.000Z';

type Res = Awaited<ReturnType<ReturnType<typeof request>['get']>>;

describe('metering: corrections, quotas and thresholds (PostgreSQL, two instances)', () => {
  const clock = new ManualClock(NOW);
  let t: TestApp;
  let replica: TestApp;
  let platform: Awaited<ReturnType<typeof startFakePlatform>>;
  let db: Db;
  let n = 0;

  const newUser = (): string => {
    const id = `meter_user_${++n}`;
    platform.accounts.addUser(id);
    return id;
  };
  const record = (body: Record<string, unknown>, app: TestApp = t, headers: Record<string, string> = INTERNAL) =>
    request(app.baseUrl).post(`${API}/usage/record`).set(headers).send(body);
  const batch = (records: unknown[], app: TestApp = t) =>
    request(app.baseUrl).post(`${API}/usage/records/batch`).set(INTERNAL).send({ records });
  const voidRecord = (id: string, body: Record<string, unknown>, headers: Record<string, string> = INTERNAL) =>
    request(t.baseUrl).post(`${API}/usage/records/${id}/void`).set(headers).send(body);
  const quota = (query: Record<string, string>, app: TestApp = t, headers: Record<string, string> = INTERNAL) =>
    request(app.baseUrl).get(`${API}/usage/quota`).set(headers).query(query);
  const refreshCatalogs = async () => {
    await t.app.get(CatalogStore).refresh();
    await replica.app.get(CatalogStore).refresh();
  };
  /** A free plan (active at once) with these usage limits, and a user subscribed to it. */
  const limitedUser = async (usageLimits: Record<string, unknown>): Promise<{ user: string; subscriptionId: string }> => {
    const planId = `meter_plan_${++n}`;
    await db.copyPlan('tier_free_001', { plan_id: planId, usage_limits: usageLimits });
    await refreshCatalogs();
    const user = newUser();
    const sub = await request(t.baseUrl).post(`${API}/subscriptions`).set(INTERNAL).send({ user_id: user, plan_id: planId }).expect(200);
    expect(sub.body.status).toBe('active');
    return { user, subscriptionId: sub.body.subscription_id as string };
  };
  const thresholdEvents = async (user: string) =>
    (await db.outbox('product.usage.threshold_reached')).filter((e) => e.data.user_id === user).map((e) => e.data);
  const counter = async (user: string) =>
    db.query<{ limit_key: string; kind: string; used: string }>(
      `SELECT limit_key, kind, used::text AS used FROM usage_quota_counters WHERE user_id = $1 ORDER BY limit_key, kind`,
      [user],
    );
  const periodUsage = async (user: string, product: string): Promise<string> =>
    (await request(t.baseUrl).get(`${API}/products/${product}/pricing`).set(INTERNAL).query({ user_id: user }).expect(200)).body
      .effective_pricing.period_usage as string;

  beforeAll(async () => {
    platform = await startFakePlatform();
    t = await startTestApp({ env: platform.env, clock });
    replica = await startTestApp({ env: platform.env, clock, databaseUrl: t.databaseUrl });
    db = await Db.connect(t.databaseUrl as string, () => refreshCatalogs());
    await db.ensureCatalog();
    for (const id of ['void_agent', 'race_agent', 'quota_agent', 'quota_agent_2'])
      await db.copyProduct('advanced_agent', { product_id: id });
  }, 90_000);
  afterAll(async () => {
    await db?.close();
    await replica?.app.close();
    await t?.close();
    await platform?.stop();
  }, 60_000);
  beforeEach(() => clock.set(NOW));

  describe('quotas', () => {
    it('should refuse an enforced record past a daily limit with 429 QUOTA_EXCEEDED and Retry-After, record a non-enforced one as over_quota, and reset the next UTC day', async () => {
      const { user } = await limitedUser({ model_inference: { daily_requests: 3 }, storage_gb: 5, mcp_tools: { daily_requests: 50 } });
      for (let i = 0; i < 3; i++) {
        const ok = await record({ user_id: user, product_id: 'gpt-4o-mini', usage_amount: 10, enforce: true }).expect(200);
        expect(ok.body.over_quota).toBe(false);
      }
      const refused = await record({ user_id: user, product_id: 'gpt-4o-mini', usage_amount: 10, enforce: true }).expect(429);
      expect(refused.headers['retry-after']).toBe(String(14 * 3600)); // 10:00 UTC → next midnight
      expect(refused.body.error).toMatchObject({
        code: 'QUOTA_EXCEEDED',
        details: [{ field: 'model_inference', limit: 3, used: 3, remaining: 0 }],
      });
      expect(refused.body.detail).toBe(refused.body.error.message);
      // usage that happened is recorded: over the limit, flagged
      const over = await record({ user_id: user, product_id: 'gpt-4', usage_amount: 1 }).expect(200);
      expect(over.body.over_quota).toBe(true);
      const listed = await request(t.baseUrl).get(`${API}/usage/records`).set(INTERNAL).query({ user_id: user }).expect(200);
      expect(listed.body).toHaveLength(4);
      expect(listed.body[0]).toMatchObject({ usage_record_id: over.body.usage_record_id, over_quota: true, voided_amount: '0' });
      // a product the plan does not limit (storage_gb is informational) is not counted
      await record({ user_id: user, product_id: 'minio_storage', usage_amount: 5, enforce: true }).expect(200);

      const q = await quota({ user_id: user, product_id: 'gpt-4o-mini' }).expect(200);
      expect(q.body).toEqual({
        product_id: 'gpt-4o-mini',
        limits: [
          { key: 'model_inference', kind: 'daily_requests', limit: 3, used: 4, remaining: 0, resets_at: '2026-11-26T00:00:00.000Z' },
        ],
        has_access: false,
      });
      expect((await quota({ user_id: user, product_id: 'minio_storage' }).expect(200)).body).toEqual({
        product_id: 'minio_storage',
        limits: [],
        has_access: true,
      });
      const availability = await request(t.baseUrl)
        .get(`${API}/products/gpt-4o-mini/availability`)
        .query({ user_id: user })
        .set('X-User-Id', user)
        .expect(200);
      expect(availability.body).toMatchObject({ available: false, reason: 'QUOTA_EXCEEDED' });

      clock.set('2026-11-26T00:00:01.000Z');
      await record({ user_id: user, product_id: 'gpt-4o-mini', usage_amount: 10, enforce: true }).expect(200);
      expect((await quota({ user_id: user, product_id: 'gpt-4o-mini' }).expect(200)).body).toMatchObject({
        limits: [{ used: 1, remaining: 2, resets_at: '2026-11-27T00:00:00.000Z' }],
        has_access: true,
      });
    });

    it('should answer GET /usage/quota with limits [] for a user without a subscription, 404 for an unknown product, 403 for another user', async () => {
      const user = newUser();
      expect((await quota({ user_id: user, product_id: 'gpt-4o' }).expect(200)).body).toEqual({
        product_id: 'gpt-4o',
        limits: [],
        has_access: true,
      });
      expect((await quota({ user_id: user, product_id: 'nope' }).expect(404)).body.error.code).toBe('PRODUCT_NOT_FOUND');
      await quota({ user_id: user, product_id: 'gpt-4o' }, t, { 'X-User-Id': user }).expect(200);
      expect((await quota({ user_id: user, product_id: 'gpt-4o' }, t, { 'X-User-Id': 'someone_else' }).expect(403)).body.error.code).toBe(
        'FORBIDDEN',
      );
      expect((await quota({ product_id: 'gpt-4o' }).expect(400)).body.error.details[0].field).toBe('user_id');
    });

    it('should let exactly the limit through when 40 enforced records race a limit of 10 units on one instance (group commit), the rest 429', async () => {
      const { user } = await limitedUser({ quota_agent: { period_units: '10' } });
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          record({ user_id: user, product_id: 'quota_agent', usage_amount: 1, enforce: true, request_id: `r${i}` }),
        ),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(10);
      expect(results.filter((r) => r.status === 429)).toHaveLength(30);
      for (const r of results.filter((x) => x.status === 429)) {
        expect(r.body.error.details[0]).toMatchObject({ field: 'quota_agent', limit: '10', used: '10', remaining: '0' });
      }
      expect(await counter(user)).toEqual([{ limit_key: 'quota_agent', kind: 'period_units', used: '10' }]);
      const stored = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM usage_records WHERE user_id = $1`, [user]);
      expect(stored[0].n).toBe(10);
      expect(await periodUsage(user, 'quota_agent')).toBe('10');
      // a retry of a stored record adds nothing to the limit: its duplicate answer, never 429 (alone, in a
      // batch, racing a fresh record that the limit refuses); a refused one stays refused
      const accepted = results.flatMap((r, i) => (r.status === 200 ? [{ i, id: r.body.usage_record_id as string }] : []));
      const refusedIndex = results.findIndex((r) => r.status === 429);
      const [again, fresh] = await Promise.all([
        record({ user_id: user, product_id: 'quota_agent', usage_amount: 1, enforce: true, request_id: `r${accepted[0].i}` }),
        record({ user_id: user, product_id: 'quota_agent', usage_amount: 1, enforce: true, request_id: `r${refusedIndex}` }),
      ]);
      expect([again.status, again.body.duplicate, again.body.usage_record_id]).toEqual([200, true, accepted[0].id]);
      expect(fresh.status).toBe(429);
      const retried = await batch(
        accepted
          .slice(1, 4)
          .map(({ i }) => ({ user_id: user, product_id: 'quota_agent', usage_amount: 1, enforce: true, request_id: `r${i}` })),
      ).expect(200);
      expect(retried.body).toMatchObject({ accepted: 0, duplicates: 3 });
      expect(retried.body.results.map((r: { usage_record_id: string }) => r.usage_record_id)).toEqual(
        accepted.slice(1, 4).map(({ id }) => id),
      );
      expect(await counter(user)).toEqual([{ limit_key: 'quota_agent', kind: 'period_units', used: '10' }]);
    });

    it('should answer enforced records racing on the same request_ids under a limit on their own: a stored one as its duplicate, never a 503', async () => {
      for (let round = 0; round < 4; round++) {
        const { user } = await limitedUser({ quota_agent: { period_units: '1000' } });
        const bystander = newUser();
        const on = (i: number) => (i % 2 === 0 ? t : replica);
        const answers = await Promise.all([
          ...Array.from({ length: 20 }, (_, i) =>
            record({ user_id: user, product_id: 'quota_agent', usage_amount: 150, enforce: true, request_id: `d${i % 5}` }, on(i)),
          ),
          ...Array.from({ length: 4 }, (_, i) => record({ user_id: user, product_id: 'quota_agent', usage_amount: 1 }, on(i))),
          ...Array.from({ length: 4 }, (_, i) =>
            record({ user_id: bystander, product_id: 'race_agent', usage_amount: 1, request_id: `b${i}` }, on(i)),
          ),
        ]);
        // the five request_ids fit the limit (750 of 1000): each stored once, every repeat its duplicate
        expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
        const stored = await db.query<{ request_id: string; usage_record_id: string }>(
          `SELECT request_id, usage_record_id FROM usage_records WHERE user_id = $1 AND request_id IS NOT NULL ORDER BY request_id`,
          [user],
        );
        expect(stored.map((r) => r.request_id)).toEqual(['d0', 'd1', 'd2', 'd3', 'd4']);
        for (const [i, a] of answers.slice(0, 20).entries()) expect(a.body.usage_record_id).toBe(stored[i % 5].usage_record_id);
        expect(await counter(user)).toEqual([{ limit_key: 'quota_agent', kind: 'period_units', used: '754' }]);
      }
    }, 60_000);

    it('should let exactly the limit through when enforced records and batches race on two instances, with one event per threshold', async () => {
      const { user } = await limitedUser({ agent_execution: { daily_requests: 25, thresholds: [20, 60, 100] } });
      const single = (app: TestApp, i: number) =>
        record({ user_id: user, product_id: i % 2 === 0 ? 'quota_agent' : 'quota_agent_2', usage_amount: 1, enforce: true }, app);
      const twoRecords = (app: TestApp) =>
        batch(
          [
            { user_id: user, product_id: 'quota_agent', usage_amount: 1, enforce: true },
            { user_id: user, product_id: 'quota_agent_2', usage_amount: 1, enforce: true },
          ],
          app,
        );
      const results: Res[] = await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => single(t, i)),
        ...Array.from({ length: 20 }, (_, i) => single(replica, i)),
        ...Array.from({ length: 5 }, () => twoRecords(t)),
        ...Array.from({ length: 5 }, () => twoRecords(replica)),
      ]);
      const passed = results.filter((r) => r.status === 200).reduce((sum, r) => sum + (r.body.accepted ?? 1), 0);
      expect(results.every((r) => r.status === 200 || r.status === 429)).toBe(true);
      expect(passed).toBe(25);
      expect(await counter(user)).toEqual([{ limit_key: 'agent_execution', kind: 'daily_requests', used: '25' }]);
      const stored = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM usage_records WHERE user_id = $1`, [user]);
      expect(stored[0].n).toBe(25);
      const events = await thresholdEvents(user);
      expect(events.map((e) => e.threshold_percent).sort((a, b) => Number(a) - Number(b))).toEqual([20, 60, 100]);
      for (const e of events) {
        expect(e).toMatchObject({ key: 'agent_execution', kind: 'daily_requests', limit: 25, window_start: '2026-11-25T00:00:00.000Z' });
        expect(e.used).toBeGreaterThanOrEqual((25 * Number(e.threshold_percent)) / 100);
      }
    });

    it('should publish one event per threshold when one batch jumps every threshold at once, and none again in the window', async () => {
      const { user, subscriptionId } = await limitedUser({ quota_agent: { period_units: '100' } });
      await batch([
        { user_id: user, product_id: 'quota_agent', usage_amount: 30 },
        { user_id: user, product_id: 'quota_agent', usage_amount: 30 },
        { user_id: user, product_id: 'quota_agent', usage_amount: 45 },
      ]).expect(200);
      const events = await thresholdEvents(user);
      expect(events).toHaveLength(3);
      const sub = (await request(t.baseUrl).get(`${API}/subscriptions/${subscriptionId}`).set(INTERNAL).expect(200)).body;
      const common = {
        user_id: user,
        organization_id: null,
        subscription_id: subscriptionId,
        product_id: 'quota_agent',
        key: 'quota_agent',
        kind: 'period_units',
        limit: '100',
        window_start: sub.current_period_start,
        window_end: sub.current_period_end,
      };
      expect(events).toEqual([
        { ...common, threshold_percent: 50, used: '60' },
        { ...common, threshold_percent: 80, used: '105' },
        { ...common, threshold_percent: 100, used: '105' },
      ]);
      const records = (await request(t.baseUrl).get(`${API}/usage/records`).set(INTERNAL).query({ user_id: user }).expect(200)).body;
      expect(records.map((r: { over_quota: boolean }) => r.over_quota)).toEqual([true, false, false]);
      // more usage in the same window, and a void that takes it back below and over again: no second event
      const more = await record({ user_id: user, product_id: 'quota_agent', usage_amount: 5 }).expect(200);
      await voidRecord(more.body.usage_record_id, { reason: 'test' }).expect(200);
      await voidRecord(records[0].usage_record_id, { reason: 'test', usage_amount: 40 }).expect(200);
      await record({ user_id: user, product_id: 'quota_agent', usage_amount: 50 }).expect(200);
      expect(await thresholdEvents(user)).toHaveLength(3);
    });

    it('should apply a subscription made through one instance to the records of the other (NOTIFY invalidates its cache)', async () => {
      const planId = `meter_plan_${++n}`;
      await db.copyPlan('tier_free_001', { plan_id: planId, usage_limits: { quota_agent: { daily_requests: 2 } } });
      await refreshCatalogs();
      const user = newUser();
      // the replica learns that the user has no subscription (cached); the record counts once the limit applies (same UTC day)
      await record({ user_id: user, product_id: 'quota_agent', usage_amount: 1, enforce: true }, replica).expect(200);
      await request(t.baseUrl).post(`${API}/subscriptions`).set(INTERNAL).send({ user_id: user, plan_id: planId }).expect(200);
      // wait (bounded) until the replica's answer shows the limit: its cache heard the NOTIFY
      let seen = false;
      for (let i = 0; i < 200 && !seen; i++) {
        seen = (await quota({ user_id: user, product_id: 'quota_agent' }, replica).expect(200)).body.limits.length === 1;
        if (!seen) await new Promise((r) => setTimeout(r, 25));
      }
      expect(seen).toBe(true);
      await record({ user_id: user, product_id: 'quota_agent', usage_amount: 1, enforce: true }, replica).expect(200);
      await record({ user_id: user, product_id: 'quota_agent', usage_amount: 1, enforce: true }, replica).expect(429);
    });

    it('should publish the thresholds a window passed before its limit applied, with the next record, once each', async () => {
      const planId = `meter_plan_${++n}`;
      await db.copyPlan('tier_free_001', { plan_id: planId, usage_limits: { quota_agent: { daily_requests: 4, thresholds: [50, 100] } } });
      await refreshCatalogs();
      const user = newUser();
      // three records before the subscription: 75 % of the limit it brings, 50 % passed without a limit
      for (let i = 0; i < 3; i++) await record({ user_id: user, product_id: 'quota_agent', usage_amount: 1 }).expect(200);
      await request(t.baseUrl).post(`${API}/subscriptions`).set(INTERNAL).send({ user_id: user, plan_id: planId }).expect(200);
      await record({ user_id: user, product_id: 'quota_agent', usage_amount: 1 }).expect(200);
      await record({ user_id: user, product_id: 'quota_agent', usage_amount: 1 }).expect(200); // over the limit: nothing new
      const events = await thresholdEvents(user);
      expect(events.map((e) => [e.threshold_percent, e.used])).toEqual([
        [50, 4],
        [100, 4],
      ]);
    });

    it('should count the records of the window stored before the limit applied (before the subscription, before the plan had it)', async () => {
      const planId = `meter_plan_${++n}`;
      await db.copyPlan('tier_free_001', { plan_id: planId, usage_limits: { quota_agent: { daily_requests: 4 } } });
      await refreshCatalogs();
      const user = newUser();
      // today, before the subscription: three records, one of them wholly voided, one of another organization
      const stored = [];
      for (let i = 0; i < 3; i++)
        stored.push((await record({ user_id: user, product_id: 'quota_agent', usage_amount: 5 }).expect(200)).body);
      await voidRecord(stored[2].usage_record_id as string, { reason: 'test' }).expect(200);
      await record({ user_id: user, product_id: 'quota_agent', usage_amount: 5, organization_id: 'org_elsewhere' }).expect(200);
      // yesterday's record is another window
      clock.set(new Date(new Date(NOW).getTime() - 86_400_000));
      await record({ user_id: user, product_id: 'quota_agent', usage_amount: 5 }).expect(200);
      clock.set(NOW);
      await request(t.baseUrl).post(`${API}/subscriptions`).set(INTERNAL).send({ user_id: user, plan_id: planId }).expect(200);

      // read before any counter row exists, then by the first enforced record (which creates it)
      const before = (await quota({ user_id: user, product_id: 'quota_agent' }).expect(200)).body;
      expect(before.limits).toEqual([
        expect.objectContaining({ key: 'quota_agent', kind: 'daily_requests', limit: 4, used: 2, remaining: 2 }),
      ]);
      await record({ user_id: user, product_id: 'quota_agent', usage_amount: 1, enforce: true }).expect(200);
      await record({ user_id: user, product_id: 'quota_agent', usage_amount: 1, enforce: true }).expect(200);
      const refused = await record({ user_id: user, product_id: 'quota_agent', usage_amount: 1, enforce: true }).expect(429);
      expect(refused.body.error.details[0]).toMatchObject({ field: 'quota_agent', used: 4, remaining: 0 });
      expect(await counter(user)).toEqual([{ limit_key: 'quota_agent', kind: 'daily_requests', used: '4' }]);
      // a record the counter counted from its window gives its request back when wholly voided, like the others
      await voidRecord(stored[0].usage_record_id as string, { reason: 'test' }).expect(200);
      expect(await counter(user)).toEqual([{ limit_key: 'quota_agent', kind: 'daily_requests', used: '3' }]);

      // a limit the plan gains later counts the window's earlier units too (the period began today, at the records' time):
      // 5 before the subscription (the voided ones and the other organization's left out), 1 + 1 since, none of the 429
      await db.query(`UPDATE service_plans SET usage_limits = $2::jsonb WHERE plan_id = $1`, [
        planId,
        JSON.stringify({ quota_agent: { daily_requests: 4, period_units: '100' } }),
      ]);
      await refreshCatalogs();
      const units = async () =>
        (await quota({ user_id: user, product_id: 'quota_agent' }).expect(200)).body.limits.find(
          (l: { kind: string }) => l.kind === 'period_units',
        );
      expect(await units()).toMatchObject({ limit: '100', used: '7', remaining: '93' });
      // its row, made by the next record (7 + 1), and a partial void of a record from before the subscription (-2)
      await record({ user_id: user, product_id: 'quota_agent', usage_amount: 1 }).expect(200);
      await voidRecord(stored[1].usage_record_id as string, { reason: 'test', usage_amount: 2 }).expect(200);
      expect(await units()).toMatchObject({ used: '6', remaining: '94' });
      expect(await counter(user)).toEqual([
        { limit_key: 'quota_agent', kind: 'daily_requests', used: '4' },
        { limit_key: 'quota_agent', kind: 'period_units', used: '6' },
      ]);
    });
  });

  describe('voids', () => {
    it("should credit partial voids at the record's own tiers (not today's catalog), adding up to the record's cost", async () => {
      const user = newUser();
      await record({ user_id: user, product_id: 'void_agent', usage_amount: 15 }).expect(200); // [0, 15): 10 free, 5 × 0.50
      const target = await record({ user_id: user, product_id: 'void_agent', usage_amount: 990 }).expect(200); // [15, 1005)
      expect(target.body.total_cost).toBe('494.75');
      // the catalog's prices change afterwards: voids still price at the tiers the record was priced with
      await db.query(`UPDATE product_price_tiers SET unit_price = unit_price * 3 WHERE product_id = 'void_agent'`);
      await refreshCatalogs();
      const id = target.body.usage_record_id as string;
      const first = await voidRecord(id, { reason: 'over-count', usage_amount: 5 }).expect(200); // [1000, 1005) at 0.45
      expect(first.body).toEqual({
        usage_record_id: id,
        voided_amount: '5',
        credited_cost: '2.25',
        currency: 'USD',
        remaining_amount: '985',
        voided_at: NOW,
      });
      const second = await voidRecord(id, { reason: 'over-count', usage_amount: '500' }).expect(200); // [500, 1000) at 0.50
      expect(second.body).toMatchObject({ credited_cost: '250', remaining_amount: '485' });
      expect(await periodUsage(user, 'void_agent')).toBe('500');
      const refused = await voidRecord(id, { reason: 'too much', usage_amount: 486 }).expect(409);
      expect(refused.body.error.code).toBe('NOTHING_TO_VOID');
      const last = await voidRecord(id, { reason: 'the rest' }).expect(200); // [15, 500)
      expect(last.body).toMatchObject({ voided_amount: '485', credited_cost: '242.5', remaining_amount: '0' });
      const credited = [first, second, last].reduce((sum, r) => sum.plus(r.body.credited_cost as string), new Decimal(0));
      expect(credited.toFixed()).toBe('494.75');
      expect((await voidRecord(id, { reason: 'again' }).expect(409)).body.error.code).toBe('NOTHING_TO_VOID');

      // the first record keeps its stored price; lists show what was voided; statistics count only what is not voided
      const listed = (await request(t.baseUrl).get(`${API}/usage/records`).set(INTERNAL).query({ user_id: user }).expect(200)).body;
      expect(listed[0]).toMatchObject({ usage_record_id: id, voided_amount: '990', credited_cost: '494.75', total_cost: '494.75' });
      expect(listed[1]).toMatchObject({ voided_amount: '0', total_cost: '2.5' });
      const stats = (await request(t.baseUrl).get(`${API}/statistics/usage`).set(INTERNAL).query({ user_id: user }).expect(200)).body;
      expect(stats).toMatchObject({ total_usage: '15', total_cost: '2.5', total_records: 1 });
      expect(await periodUsage(user, 'void_agent')).toBe('15');
      const events = await db.outbox('product.usage.voided', id);
      expect(events.map((e) => e.data.credited_cost)).toEqual(['2.25', '250', '242.5']);
      expect(events[0].data).toEqual({
        usage_record_id: id,
        user_id: user,
        organization_id: null,
        subscription_id: null,
        product_id: 'void_agent',
        voided_amount: '5',
        credited_cost: '2.25',
        currency: 'USD',
        reason: 'over-count',
        voided_at: NOW,
      });
      // the next record numbers its units from the lowered total, at today's prices
      const next = await record({ user_id: user, product_id: 'void_agent', usage_amount: 1 }).expect(200);
      expect(next.body.total_cost).toBe('1.5');
    });

    it('should replay a void with the same Idempotency-Key, refuse a closed period, and answer 400/401/403/404', async () => {
      const user = newUser();
      const rec = await record({ user_id: user, product_id: 'gpt-4o', usage_amount: 1000 }).expect(200);
      const id = rec.body.usage_record_id as string;
      const keyed = { ...INTERNAL, 'Idempotency-Key': `void-${id}` };
      const a = await voidRecord(id, { reason: 'dup', usage_amount: 100 }, keyed).expect(200);
      const b = await voidRecord(id, { reason: 'dup', usage_amount: 100 }, keyed).expect(200);
      expect(b.headers['idempotent-replayed']).toBe('true');
      expect(b.body).toEqual(a.body);
      expect((await db.outbox('product.usage.voided', id)).length).toBe(1);

      expect((await voidRecord(id, { usage_amount: 1 }).expect(400)).body.error.details[0].field).toBe('reason');
      expect((await voidRecord(id, { reason: 'x', usage_amount: 0 }).expect(400)).body.error.details[0].field).toBe('usage_amount');
      expect((await voidRecord(id, { reason: 'x', extra: 1 }).expect(400)).body.error.code).toBe('VALIDATION_ERROR');
      await voidRecord(id, { reason: 'x' }, { 'X-User-Id': user }).expect(403);
      await voidRecord(id, { reason: 'x' }, {}).expect(401);
      await voidRecord(id, { reason: 'x' }, { 'X-Internal-Service': 'true', 'X-Internal-Service-Secret': 'wrong' }).expect(401);
      expect((await voidRecord('00000000-0000-4000-8000-000000000000', { reason: 'x' }).expect(404)).body.error.code).toBe(
        'USAGE_RECORD_NOT_FOUND',
      );
      await voidRecord('not-a-uuid', { reason: 'x' }).expect(404);

      clock.set('2026-12-01T00:00:00.000Z'); // the record's calendar month has ended
      expect((await voidRecord(id, { reason: 'late' }).expect(409)).body.error.code).toBe('PERIOD_CLOSED');
    });

    it('should give back the daily request of a wholly voided record to its quota', async () => {
      const { user } = await limitedUser({ quota_agent: { daily_requests: 1, period_units: '1000' } });
      const rec = await record({ user_id: user, product_id: 'quota_agent', usage_amount: 7, enforce: true }).expect(200);
      await record({ user_id: user, product_id: 'quota_agent', usage_amount: 1, enforce: true }).expect(429);
      await voidRecord(rec.body.usage_record_id, { reason: 'partial', usage_amount: 2 }).expect(200);
      expect(await counter(user)).toEqual([
        { limit_key: 'quota_agent', kind: 'daily_requests', used: '1' },
        { limit_key: 'quota_agent', kind: 'period_units', used: '5' },
      ]);
      await voidRecord(rec.body.usage_record_id, { reason: 'rest' }).expect(200);
      expect(await counter(user)).toEqual([
        { limit_key: 'quota_agent', kind: 'daily_requests', used: '0' },
        { limit_key: 'quota_agent', kind: 'period_units', used: '0' },
      ]);
      await record({ user_id: user, product_id: 'quota_agent', usage_amount: 1, enforce: true }).expect(200);
    });

    it.each([
      ['a user without limits', false],
      ['a user with limits (the quota counters are locked too)', true],
    ])('should keep the running total exact when voids race new records of the same user and product: %s', async (_name, limited) => {
      const user = limited ? (await limitedUser({ race_agent: { period_units: '1000000' } })).user : newUser();
      const first = await Promise.all(
        Array.from({ length: 10 }, () => record({ user_id: user, product_id: 'race_agent', usage_amount: 20 }).expect(200)),
      );
      // each void races a new record on the other instance (the same bucket and counters)
      const results = await Promise.all(
        first.flatMap((r) => [
          voidRecord(r.body.usage_record_id as string, { reason: 'race', usage_amount: 5 }),
          record({ user_id: user, product_id: 'race_agent', usage_amount: 3 }, replica),
        ]),
      );
      expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
      const credited = results.filter((_, i) => i % 2 === 0).map((r) => r.body.credited_cost as string);
      // each void took the last 5 units of a record of [k×20, k×20 + 20) (all beyond the 10 free units): 5 × 0.50
      expect(credited).toEqual(first.map(() => '2.5'));
      // 10 × 20 − 10 × 5 + 10 × 3
      expect(await periodUsage(user, 'race_agent')).toBe('180');
      const [row] = await db.query<{ units: string; live: string }>(
        `SELECT (SELECT units::text FROM usage_period_totals WHERE user_id = $1) AS units,
                (SELECT sum(usage_amount - voided_amount)::text FROM usage_records WHERE user_id = $1) AS live`,
        [user],
      );
      expect(row).toEqual({ units: '180', live: '180' });
      if (limited) expect(await counter(user)).toEqual([{ limit_key: 'race_agent', kind: 'period_units', used: '180' }]);
      // stored prices never change: the new records' costs are those they were answered with
      const answered = new Map(results.filter((_, i) => i % 2 === 1).map((r) => [r.body.usage_record_id as string, r.body.total_cost]));
      const stored = await db.query<{ usage_record_id: string; total_cost: string }>(
        `SELECT usage_record_id, total_cost::text AS total_cost FROM usage_records WHERE user_id = $1 AND usage_amount = 3`,
        [user],
      );
      expect(new Map(stored.map((s) => [s.usage_record_id, s.total_cost]))).toEqual(answered);
    });
  });
});
