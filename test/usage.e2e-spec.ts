import request from 'supertest';
import { ManualClock } from '../src/common/clock/clock.js';
import { Decimal } from '../src/common/money/decimal.js';
import { CATALOG_SEED } from '../src/database/seed/catalog-data.js';
import { costOfUnits, toSchedule } from '../src/product/catalog/pricing-engine.js';
import { CatalogStore } from '../src/product/catalog/catalog-store.js';
import { UnitOfWork } from '../src/database/unit-of-work.js';
import { toUsageRecordView } from '../src/product/usage/usage.mapper.js';
import { UsageRepository } from '../src/product/usage/usage.repository.js';
import { Db } from './support/catalog-fixture.js';
import { startFakePlatform } from './support/fake-platform.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

const NOW = '2026-11-25T10:00:00.000Z';

describe('metered usage (PostgreSQL)', () => {
  const clock = new ManualClock(NOW);
  let t: TestApp;
  let platform: Awaited<ReturnType<typeof startFakePlatform>>;
  let db: Db;
  let n = 0;
  const newUser = (): string => {
    const id = `usage_user_${++n}`;
    platform.accounts.addUser(id);
    return id;
  };
  const record = (body: Record<string, unknown>, headers: Record<string, string> = INTERNAL) =>
    request(t.baseUrl).post(`${API}/usage/record`).set(headers).send(body);
  const batch = (records: unknown[], headers: Record<string, string> = INTERNAL) =>
    request(t.baseUrl).post(`${API}/usage/records/batch`).set(headers).send({ records });
  const subscribe = async (user: string, plan_id: string) =>
    (await request(t.baseUrl).post(`${API}/subscriptions`).set(INTERNAL).send({ user_id: user, plan_id }).expect(200)).body;

  beforeAll(async () => {
    platform = await startFakePlatform();
    t = await startTestApp({ env: platform.env, clock });
    db = await Db.connect(t.databaseUrl as string, () => t.app.get(CatalogStore).refresh());
    await db.ensureCatalog();
    await db.copyProduct('gpt-4', { product_id: 'retired_model', is_active: false });
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await t?.close();
    await platform?.stop();
  }, 60_000);
  beforeEach(() => clock.set(NOW));

  describe('cost', () => {
    it('should price the SPEC minio example: the first 1073741824 bytes free, the next cost 0.024696061952', async () => {
      const user = newUser();
      const first = await record({ user_id: user, product_id: 'minio_storage', usage_amount: 1073741824 }).expect(200);
      expect(first.body).toMatchObject({
        success: true,
        recorded_amount: '1073741824',
        total_cost: '0',
        unit_price: '0',
        is_free_tier: true,
        currency: 'USD',
        timestamp: NOW,
        product: { product_id: 'minio_storage', unit_type: 'byte' },
      });
      const second = await record({ user_id: user, product_id: 'minio_storage', usage_amount: 1073741824 }).expect(200);
      expect(second.body).toMatchObject({ total_cost: '0.024696061952', unit_price: '0.000000000023', is_free_tier: false });
      const events = await db.outbox('product.usage.recorded', second.body.usage_record_id);
      expect(events).toHaveLength(1);
      expect(events[0].data).toMatchObject({
        user_id: user,
        usage_amount: '1073741824',
        total_cost: '0.024696061952',
        is_free_tier: false,
      });
    });

    it('should charge only the part of a record beyond the free tier and split a record across a tier boundary', async () => {
      const user = newUser();
      // advanced_agent: 10 free requests, then 0.50 up to unit 1000, then 0.45
      expect((await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 5 }).expect(200)).body).toMatchObject({
        total_cost: '0',
        is_free_tier: true,
      });
      expect((await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 10 }).expect(200)).body).toMatchObject({
        total_cost: '2.5',
        unit_price: '0.5',
        is_free_tier: false,
      });
      // units [15, 1005): 985 × 0.50 + 5 × 0.45
      expect((await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 990 }).expect(200)).body).toMatchObject({
        total_cost: '494.75',
        unit_price: '0.5',
      });
      expect((await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 2 }).expect(200)).body).toMatchObject({
        total_cost: '0.9',
        unit_price: '0.45',
      });
    });

    it('should number units per calendar month: a new month starts again from the free tier', async () => {
      const user = newUser();
      await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 10 }).expect(200);
      expect((await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 1 }).expect(200)).body.total_cost).toBe('0.5');
      clock.set('2026-12-01T00:00:00.000Z');
      expect((await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 1 }).expect(200)).body.is_free_tier).toBe(true);
      // a late record for November (usage_timestamp decides the month) continues November's numbering
      const late = await record({
        user_id: user,
        product_id: 'advanced_agent',
        usage_amount: 1,
        usage_timestamp: '2026-11-30T23:59:00',
      }).expect(200);
      expect(late.body.total_cost).toBe('0.5');
    });

    it('should sum 200 concurrent records of one user and product exactly (no unit counted twice)', async () => {
      const user = newUser();
      const amount = 60000; // 200 × 60000 = 12e6 units of gpt-4o-mini: free tier, base tier and volume tier
      // 200 requests, up to 40 in flight at once: they all contend for the same running total. (All 200 at once
      // can exceed the pool's 5 s connection wait on a starved CI machine, since they serialize on that one row.)
      const results: Awaited<ReturnType<typeof record>>[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 40 }, async () => {
          while (next < 200) {
            next++;
            results.push(await record({ user_id: user, product_id: 'gpt-4o-mini', usage_amount: amount }));
          }
        }),
      );
      expect(results).toHaveLength(200);
      expect(results.filter((r) => r.status !== 200).map((r) => [r.status, r.body?.error?.code])).toEqual([]);
      const total = results.reduce((sum, r) => sum.plus(r.body.total_cost), new Decimal(0));
      const seed = CATALOG_SEED.products.find((p) => p.product_id === 'gpt-4o-mini')!;
      const schedule = toSchedule(seed.pricing.free_tier_limit, seed.pricing.tiers);
      const expected = costOfUnits(schedule, new Decimal(0), new Decimal(200 * amount));
      expect(total.toFixed()).toBe(expected.toFixed());
      expect(expected.toFixed()).toBe('3.47');
      const ranges = await db.query<{ before: string }>(
        `SELECT units_before::text AS before FROM usage_records WHERE user_id = $1 ORDER BY units_before`,
        [user],
      );
      expect(ranges.map((r) => Number(r.before))).toEqual(Array.from({ length: 200 }, (_, i) => i * amount));
    }, 60_000);

    it('should store usage_amount exactly and use the subscription period when subscription_id is given', async () => {
      const user = newUser();
      const sub = await subscribe(user, 'tier_pro_001');
      const res = await record({ user_id: user, product_id: 'gpt-4o', usage_amount: 0.1, subscription_id: sub.subscription_id }).expect(
        200,
      );
      expect(res.body.recorded_amount).toBe('0.1');
      expect(res.body.total_cost).toBe('0.0000005');
      const listed = await request(t.baseUrl).get(`${API}/usage/records?user_id=${user}`).set(INTERNAL).expect(200);
      expect(listed.body[0]).toMatchObject({
        usage_amount: '0.1',
        subscription_id: sub.subscription_id,
        period_start: sub.current_period_start,
        period_end: sub.current_period_end,
      });
    });
  });

  describe('validation and rules', () => {
    it("should accept the billing service's payload: explicit nulls and offset-less timestamps (UTC)", async () => {
      const user = newUser();
      const res = await record({
        user_id: user,
        product_id: 'gpt-4',
        usage_amount: 1000,
        organization_id: null,
        subscription_id: null,
        session_id: null,
        request_id: null,
        usage_details: null,
        usage_timestamp: '2026-11-25T09:00:00',
      }).expect(200);
      expect(res.body.timestamp).toBe('2026-11-25T09:00:00.000Z');
      expect(res.body.total_cost).toBe('0.03');
    });

    it('should refuse bad amounts and timestamps with 400 naming the field', async () => {
      const user = newUser();
      for (const usage_amount of [0, -1, 1e12 + 1, 'abc', null, true]) {
        const res = await record({ user_id: user, product_id: 'gpt-4', usage_amount }).expect(400);
        expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain('usage_amount');
      }
      await record({ user_id: user, product_id: 'gpt-4', usage_amount: 1e12 }).expect(200);
      for (const usage_timestamp of ['2026-11-25T10:05:01Z', '2026-10-21T09:59:59Z', 'not a date', '2026-02-30T00:00:00']) {
        const res = await record({ user_id: user, product_id: 'gpt-4', usage_amount: 1, usage_timestamp }).expect(400);
        expect(res.body.error.details[0].field).toBe('usage_timestamp');
      }
      await record({ user_id: user, product_id: 'gpt-4', usage_amount: 1, usage_timestamp: '2026-11-25T10:05:00Z' }).expect(200);
      await record({ user_id: user, product_id: 'gpt-4', usage_amount: 1, extra: 1 }).expect(400);
      // JSON numbers a double cannot keep as written: 400 naming the field, not a silently different amount
      const raw = (text: string) =>
        request(t.baseUrl).post(`${API}/usage/record`).set(INTERNAL).set('Content-Type', 'application/json').send(text);
      for (const amount of ['0.1234567890123456789012345678901234567890', '1000000000000.0000001', '1e-400', '9.99999999999999999999']) {
        const res = await raw(`{"user_id": "${user}", "product_id": "gpt-4", "usage_amount": ${amount}}`).expect(400);
        expect([amount, res.body.error.details]).toEqual([
          amount,
          [{ field: 'usage_amount', message: expect.stringContaining('cannot be held exactly') }],
        ]);
      }
      // in the caller's own usage_details they stay accepted (stored as JSON)
      await raw(`{"user_id": "${user}", "product_id": "gpt-4", "usage_amount": 1, "usage_details": {"t_ns": 1733616000000000001}}`).expect(
        200,
      );
    });

    it('should answer 422 for unknown and inactive products', async () => {
      const user = newUser();
      expect((await record({ user_id: user, product_id: 'nope', usage_amount: 1 }).expect(422)).body.error.code).toBe('PRODUCT_NOT_FOUND');
      expect((await record({ user_id: user, product_id: 'retired_model', usage_amount: 1 }).expect(422)).body.error.code).toBe(
        'PRODUCT_INACTIVE',
      );
    });

    it("should answer 422 SUBSCRIPTION_NOT_ACTIVE for another user's, a canceled or an unknown subscription", async () => {
      const owner = newUser();
      const other = newUser();
      const sub = await subscribe(owner, 'tier_free_001');
      const code = async (user: string, subscription_id: string) =>
        (await record({ user_id: user, product_id: 'gpt-4', usage_amount: 1, subscription_id }).expect(422)).body.error.code;
      expect(await code(other, sub.subscription_id)).toBe('SUBSCRIPTION_NOT_ACTIVE');
      expect(await code(owner, 'sub_unknown')).toBe('SUBSCRIPTION_NOT_ACTIVE');
      await request(t.baseUrl)
        .post(`${API}/subscriptions/${sub.subscription_id}/cancel`)
        .set(INTERNAL)
        .send({ immediate: true })
        .expect(200);
      expect(await code(owner, sub.subscription_id)).toBe('SUBSCRIPTION_NOT_ACTIVE');
    });

    it('should require an entitling subscription whose plan includes a requires_subscription product', async () => {
      const free = newUser();
      const pro = newUser();
      const nobody = newUser();
      await subscribe(free, 'tier_free_001');
      const proSub = await subscribe(pro, 'tier_pro_001');
      expect((await record({ user_id: nobody, product_id: 'priority_queue', usage_amount: 1 }).expect(422)).body.error.code).toBe(
        'SUBSCRIPTION_REQUIRED',
      );
      expect((await record({ user_id: free, product_id: 'priority_queue', usage_amount: 1 }).expect(422)).body.error.code).toBe(
        'SUBSCRIPTION_REQUIRED',
      );
      await record({ user_id: pro, product_id: 'priority_queue', usage_amount: 1 }).expect(200);
      await record({ user_id: pro, product_id: 'priority_queue', usage_amount: 1, subscription_id: proSub.subscription_id }).expect(200);
    });

    it('should let users record only their own usage', async () => {
      const user = newUser();
      expect(
        (await record({ user_id: user, product_id: 'gpt-4', usage_amount: 1 }, { 'X-User-Id': 'intruder' }).expect(403)).body.error.code,
      ).toBe('FORBIDDEN');
      await record({ user_id: user, product_id: 'gpt-4', usage_amount: 1 }, { 'X-User-Id': user }).expect(200);
    });

    it("should let a user record usage only for an organization they are a member of (the billing service's internal calls are trusted)", async () => {
      const member = newUser();
      const outsider = newUser();
      platform.organizations.addOrganization('org_usage', [member]);
      const body = (user: string, organization_id: string) => ({ user_id: user, product_id: 'gpt-4', usage_amount: 1, organization_id });
      await record(body(member, 'org_usage'), { 'X-User-Id': member }).expect(200);
      const refused = await record(body(outsider, 'org_usage'), { 'X-User-Id': outsider }).expect(403);
      expect(refused.body.error.code).toBe('NOT_ORGANIZATION_MEMBER');
      expect((await record(body(member, 'org_nowhere'), { 'X-User-Id': member }).expect(422)).body.error.code).toBe(
        'ORGANIZATION_NOT_FOUND',
      );
      // in a batch too: nothing of it is stored
      const batch = await request(t.baseUrl)
        .post(`${API}/usage/records/batch`)
        .set('X-User-Id', outsider)
        .send({ records: [{ user_id: outsider, product_id: 'gpt-4', usage_amount: 1 }, body(outsider, 'org_usage')] })
        .expect(403);
      expect(batch.body.error.code).toBe('NOT_ORGANIZATION_MEMBER');
      expect(await db.query(`SELECT 1 FROM usage_records WHERE user_id = $1`, [outsider])).toHaveLength(0);
      await record(body(outsider, 'org_usage'), INTERNAL).expect(200);
    });
  });

  describe('deduplication', () => {
    it('should store a request_id once per user and product, returning the first record without charging or publishing again', async () => {
      const user = newUser();
      const body = { user_id: user, product_id: 'advanced_agent', usage_amount: 20, request_id: 'req-dup-1' };
      const first = (await record(body).expect(200)).body;
      const again = (await record({ ...body, usage_amount: 999 }).expect(200)).body;
      expect(again.usage_record_id).toBe(first.usage_record_id);
      expect(again).toMatchObject({ duplicate: true, total_cost: first.total_cost, recorded_amount: '20' });
      const [{ units }] = await db.query<{ units: string }>(
        `SELECT units::text AS units FROM usage_period_totals WHERE user_id = $1 AND product_id = 'advanced_agent'`,
        [user],
      );
      expect(units).toBe('20');
      expect(await db.outbox('product.usage.recorded', first.usage_record_id)).toHaveLength(1);
      // the same request_id for another product is another record
      const other = (await record({ ...body, product_id: 'gpt-4' }).expect(200)).body;
      expect(other.usage_record_id).not.toBe(first.usage_record_id);
    });

    it('should store one record when the same request_id arrives concurrently', async () => {
      const user = newUser();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => record({ user_id: user, product_id: 'advanced_agent', usage_amount: 3, request_id: 'race-1' })),
      );
      expect(results.every((r) => r.status === 200)).toBe(true);
      expect(new Set(results.map((r) => r.body.usage_record_id)).size).toBe(1);
      const rows = await db.query(`SELECT usage_record_id FROM usage_records WHERE user_id = $1`, [user]);
      expect(rows).toHaveLength(1);
      const [{ units }] = await db.query<{ units: string }>(`SELECT units::text AS units FROM usage_period_totals WHERE user_id = $1`, [
        user,
      ]);
      expect(units).toBe('3');
    }, 60_000);
  });

  describe('batch', () => {
    it('should record a batch in one go, reporting duplicates (stored before and within the batch) and publishing only new records', async () => {
      const user = newUser();
      const earlier = (await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 5, request_id: 'b-0' }).expect(200)).body;
      const res = await batch([
        { user_id: user, product_id: 'advanced_agent', usage_amount: 5, request_id: 'b-0' },
        { user_id: user, product_id: 'advanced_agent', usage_amount: 10, request_id: 'b-1', usage_timestamp: '2026-11-25T08:00:00' },
        { user_id: user, product_id: 'minio_storage', usage_amount: 2147483648, session_id: null },
        { user_id: user, product_id: 'advanced_agent', usage_amount: 10, request_id: 'b-1' },
      ]).expect(200);
      expect(res.body).toMatchObject({ accepted: 2, duplicates: 2 });
      expect(res.body.results.map((r: { index: number }) => r.index)).toEqual([0, 1, 2, 3]);
      expect(res.body.results[0].usage_record_id).toBe(earlier.usage_record_id);
      expect(res.body.results[3].usage_record_id).toBe(res.body.results[1].usage_record_id);
      expect(res.body.results[1].total_cost).toBe('2.5'); // units [5, 15): 5 free
      expect(res.body.results[2].total_cost).toBe('0.024696061952');
      const events = await db.query(
        `SELECT 1 FROM outbox_events WHERE type = 'product.usage.recorded' AND envelope->'data'->>'user_id' = $1`,
        [user],
      );
      expect(events).toHaveLength(3);
    });

    it('should refuse the whole batch naming each bad index, storing nothing', async () => {
      const user = newUser();
      const res = await batch([
        { user_id: user, product_id: 'gpt-4', usage_amount: 1 },
        { user_id: user, product_id: 'gpt-4', usage_amount: -1 },
        { user_id: user, product_id: 'gpt-4', usage_amount: 1 },
        'not an object',
        { user_id: user, product_id: 'nope', usage_amount: 1 },
      ]).expect(400);
      const indexes = [...new Set(res.body.error.details.map((d: { index: number }) => d.index))];
      expect(indexes).toEqual([1, 3, 4]);
      const business = await batch([
        { user_id: user, product_id: 'gpt-4', usage_amount: 1 },
        { user_id: user, product_id: 'nope', usage_amount: 1 },
      ]).expect(400);
      expect(business.body.error.details).toEqual([expect.objectContaining({ index: 1, field: 'records[1].product_id' })]);
      // every bad record in one 400, whatever rule it breaks: its shape, the catalog, the subscriptions
      const mixed = await batch([
        { user_id: user, product_id: 'gpt-4', usage_amount: -1 },
        { user_id: user, product_id: 'nope', usage_amount: 1 },
        { user_id: user, product_id: 'gpt-4', usage_amount: 1, colour: 'red' },
        { user_id: user, product_id: 'priority_queue', usage_amount: 1 },
        { user_id: user, product_id: 'gpt-4', usage_amount: 1, subscription_id: 'nope' },
        { user_id: user, product_id: 'gpt-4', usage_amount: 1 },
      ]).expect(400);
      expect(mixed.body.error.details.map((d: { index: number; field: string }) => [d.index, d.field])).toEqual([
        [0, 'records[0].usage_amount'],
        [1, 'records[1].product_id'],
        [2, 'records[2].colour'],
        [3, 'records[3].product_id'],
        [4, 'records[4].subscription_id'],
      ]);
      expect(mixed.body.error.details[3].message).toMatch(/SUBSCRIPTION_REQUIRED/);
      expect(await db.query(`SELECT 1 FROM usage_records WHERE user_id = $1`, [user])).toEqual([]);
      await batch([]).expect(400);
      await batch(Array.from({ length: 1001 }, () => ({ user_id: user, product_id: 'gpt-4', usage_amount: 1 }))).expect(400);
      await request(t.baseUrl).post(`${API}/usage/records/batch`).set(INTERNAL).send({ records: 'x' }).expect(400);
    });

    it('should record 1000 records in one batch', async () => {
      const user = newUser();
      const res = await batch(
        Array.from({ length: 1000 }, (_, i) => ({ user_id: user, product_id: 'advanced_agent', usage_amount: 1, request_id: `k-${i}` })),
      ).expect(200);
      expect(res.body.accepted).toBe(1000);
      const total = res.body.results.reduce((s: Decimal, r: { total_cost: string }) => s.plus(r.total_cost), new Decimal(0));
      expect(total.toFixed()).toBe('495'); // 990 × 0.50
    }, 60_000);
  });

  describe('effective pricing and availability', () => {
    it('should base effective pricing on the running total of this user this period', async () => {
      const user = newUser();
      await record({ user_id: user, product_id: 'minio_storage', usage_amount: 1073741824 }).expect(200);
      await record({ user_id: user, product_id: 'minio_storage', usage_amount: 100 }).expect(200);
      const res = await request(t.baseUrl).get(`${API}/products/minio_storage/pricing?user_id=${user}`).set(INTERNAL).expect(200);
      expect(res.body.effective_pricing).toMatchObject({
        period_start: '2026-11-01T00:00:00.000Z',
        period_end: '2026-12-01T00:00:00.000Z',
        period_usage: '1073741924',
        free_tier_remaining: '0',
      });
      expect(res.body.unit_price).toBe('0.000000000023');
      const fresh = await request(t.baseUrl).get(`${API}/products/minio_storage/pricing?user_id=${newUser()}`).set(INTERNAL).expect(200);
      expect(fresh.body.effective_pricing).toMatchObject({ period_usage: '0', free_tier_remaining: '1073741824' });
      expect(fresh.body.unit_price).toBe('0');
    });

    it("should use the subscription's period for effective pricing with subscription_id", async () => {
      const user = newUser();
      const sub = await subscribe(user, 'tier_pro_001');
      await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 12, subscription_id: sub.subscription_id }).expect(200);
      const res = await request(t.baseUrl)
        .get(`${API}/products/advanced_agent/pricing?user_id=${user}&subscription_id=${sub.subscription_id}`)
        .set(INTERNAL)
        .expect(200);
      expect(res.body.effective_pricing).toMatchObject({
        period_start: sub.current_period_start,
        period_end: sub.current_period_end,
        period_usage: '12',
      });
      // without the subscription: this calendar month, where this user has used nothing
      const month = await request(t.baseUrl).get(`${API}/products/advanced_agent/pricing?user_id=${user}`).set(INTERNAL).expect(200);
      expect(month.body.effective_pricing.period_usage).toBe('0');
    });

    it('should make requires_subscription products available only with an entitling subscription that includes them', async () => {
      const pro = newUser();
      const free = newUser();
      await subscribe(pro, 'tier_pro_001');
      await subscribe(free, 'tier_free_001');
      const availability = async (query: string) =>
        (await request(t.baseUrl).get(`${API}/products/priority_queue/availability${query}`).set(INTERNAL).expect(200)).body;
      expect(await availability(`?user_id=${pro}`)).toMatchObject({ available: true });
      expect(await availability(`?user_id=${free}`)).toMatchObject({ available: false, reason: 'SUBSCRIPTION_REQUIRED' });
      expect(await availability('')).toMatchObject({ available: false, reason: 'SUBSCRIPTION_REQUIRED' });
      expect(
        (await request(t.baseUrl).get(`${API}/products/gpt-4/availability?user_id=${free}`).set('X-User-Id', free).expect(200)).body
          .available,
      ).toBe(true);
    });
  });

  describe('reads and statistics', () => {
    it('should list records newest first with filters and paging; users see only their own', async () => {
      const user = newUser();
      for (const [i, product_id] of ['gpt-4', 'gpt-4o', 'gpt-4', 'claude-3-5-sonnet'].entries()) {
        await record({ user_id: user, product_id, usage_amount: i + 1, usage_timestamp: `2026-11-2${i}T00:00:00Z` }).expect(200);
      }
      const page1 = await request(t.baseUrl).get(`${API}/usage/records?user_id=${user}&limit=3`).set(INTERNAL).expect(200);
      expect(page1.body.map((r: { usage_amount: string }) => r.usage_amount)).toEqual(['4', '3', '2']);
      const page2 = await request(t.baseUrl)
        .get(`${API}/usage/records?user_id=${user}&limit=3&cursor=${page1.headers['x-next-cursor']}`)
        .set(INTERNAL)
        .expect(200);
      expect(page2.body.map((r: { usage_amount: string }) => r.usage_amount)).toEqual(['1']);
      const filtered = await request(t.baseUrl)
        .get(`${API}/usage/records?user_id=${user}&product_id=gpt-4&start_date=2026-11-21&end_date=2026-11-23`)
        .set(INTERNAL)
        .expect(200);
      expect(filtered.body.map((r: { usage_amount: string }) => r.usage_amount)).toEqual(['3']);
      // bounds finer than a millisecond (Python's isoformat) compare as written: a record at 2026-11-22T00:00:00.000
      // is before an end a microsecond later, and before a start half a millisecond later
      const bounds = async (query: string) =>
        (await request(t.baseUrl).get(`${API}/usage/records?user_id=${user}&${query}`).set(INTERNAL).expect(200)).body.map(
          (r: { usage_amount: string }) => r.usage_amount,
        );
      expect(await bounds('start_date=2026-11-22T00:00:00&end_date=2026-11-22T00:00:00.000001')).toEqual(['3']);
      expect(await bounds('start_date=2026-11-22T00:00:00.0005&end_date=2026-11-23')).toEqual([]);
      const own = await request(t.baseUrl).get(`${API}/usage/records`).set({ 'X-User-Id': user }).expect(200);
      expect(own.body).toHaveLength(4);
      await request(t.baseUrl).get(`${API}/usage/records?user_id=${user}`).set({ 'X-User-Id': 'intruder' }).expect(403);
    });

    it('should list every field of a record as it is stored, after a partial void', async () => {
      const user = newUser();
      const sub = await subscribe(user, 'tier_pro_001');
      const res = await record({
        user_id: user,
        product_id: 'gpt-4o',
        usage_amount: 5000,
        subscription_id: sub.subscription_id,
        session_id: 'session-1',
        request_id: `req-${user}`,
        usage_details: { model: 'gpt-4o', tokens: { input: 3000, output: 2000 } },
      }).expect(200);
      const id = res.body.usage_record_id as string;
      await request(t.baseUrl)
        .post(`${API}/usage/records/${id}/void`)
        .set(INTERNAL)
        .send({ reason: 'test', usage_amount: 2000 })
        .expect(200);
      const stored = await db.query<Record<string, string | boolean | null>>(
        `SELECT unit_price::text AS unit_price, total_cost::text AS total_cost, credited_cost::text AS credited_cost,
                to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
                to_char(usage_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS usage_timestamp, is_free_tier
         FROM usage_records WHERE usage_record_id = $1`,
        [id],
      );
      const listed = await request(t.baseUrl).get(`${API}/usage/records?user_id=${user}`).set(INTERNAL).expect(200);
      expect(listed.body).toEqual([
        {
          usage_record_id: id,
          user_id: user,
          organization_id: null,
          subscription_id: sub.subscription_id,
          product_id: 'gpt-4o',
          usage_amount: '5000',
          unit_price: stored[0].unit_price,
          total_cost: stored[0].total_cost,
          currency: 'USD',
          is_free_tier: stored[0].is_free_tier,
          period_start: sub.current_period_start,
          period_end: sub.current_period_end,
          session_id: 'session-1',
          request_id: `req-${user}`,
          usage_details: { model: 'gpt-4o', tokens: { input: 3000, output: 2000 } },
          usage_timestamp: stored[0].usage_timestamp,
          created_at: stored[0].created_at,
          voided_amount: '2000',
          credited_cost: stored[0].credited_cost,
          over_quota: false,
        },
      ]);
      expect(Number(stored[0].credited_cost)).toBeGreaterThan(0);
    });

    it('should list each record as toUsageRecordView writes the stored row, the JSON written by the database', async () => {
      const user = newUser();
      const details: unknown[] = [
        { model: 'gpt-4o', price: 1.5, ratio: 1e-7, big: 12345678901234567000, list: [1, 'two', null, true, { deep: [[]] }] },
        { text: 'quote " backslash \\ slash / tab \t newline \n bell \u0007 é 中文 😀 \u2028', empty: '', obj: {} },
        null,
        { nested: { a: { b: { c: 'deep', n: 0.1 } } } },
      ];
      for (const [i, usage_details] of details.entries()) {
        await record({
          user_id: user,
          product_id: i % 2 ? 'gpt-4o' : 'gpt-4',
          usage_amount: `${i + 1}.25`,
          request_id: `json-${i}`,
          usage_details,
        }).expect(200);
      }
      // timestamps with microseconds and a time zone offset (a Date keeps milliseconds: both cut them the same way)
      await db.query(
        `UPDATE usage_records SET created_at = '2026-11-25 11:59:59.999999+02', usage_timestamp = '2026-11-25 09:00:00.000500+00'
         WHERE user_id = $1 AND request_id = 'json-1'`,
        [user],
      );
      const listed = await request(t.baseUrl).get(`${API}/usage/records?user_id=${user}`).set(INTERNAL).expect(200);
      expect(listed.headers['content-type']).toBe('application/json; charset=utf-8');
      const stored = await t.app.get(UnitOfWork).read((tx) =>
        t.app.get(UsageRepository).findByRequestIds(
          tx,
          details.map((_, i) => ({ userId: user, productId: i % 2 ? 'gpt-4o' : 'gpt-4', requestId: `json-${i}` })),
        ),
      );
      const expected = stored.sort((a, b) => Number(b.seq) - Number(a.seq)).map(toUsageRecordView);
      expect(listed.body).toEqual(JSON.parse(JSON.stringify(expected)));
      expect(listed.body[2]).toMatchObject({ created_at: '2026-11-25T09:59:59.999Z', usage_timestamp: '2026-11-25T09:00:00.000Z' });
      expect(listed.body.map((r: { usage_details: unknown }) => r.usage_details)).toEqual(
        [...details].reverse().map((d) => JSON.parse(JSON.stringify(d))),
      );
    });

    it('should aggregate usage statistics by product and UTC day', async () => {
      const user = newUser();
      await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 12, usage_timestamp: '2026-11-24T23:00:00' }).expect(200);
      await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 2, usage_timestamp: '2026-11-25T01:00:00+02:00' }).expect(
        200,
      );
      await record({ user_id: user, product_id: 'gpt-4', usage_amount: 1000 }).expect(200);
      const res = await request(t.baseUrl).get(`${API}/statistics/usage?user_id=${user}`).set(INTERNAL).expect(200);
      expect(res.body).toMatchObject({
        total_usage: '1014',
        total_cost: '2.03',
        usage_by_product: {
          advanced_agent: { usage_amount: '14', total_cost: '2', records: 2 },
          'gpt-4': { usage_amount: '1000', total_cost: '0.03', records: 1 },
        },
        usage_by_date: {
          '2026-11-24': { usage_amount: '14', total_cost: '2', records: 2 },
          '2026-11-25': { usage_amount: '1000', total_cost: '0.03', records: 1 },
        },
        period: { start_date: null, end_date: null },
      });
      const none = await request(t.baseUrl).get(`${API}/statistics/usage?user_id=${newUser()}`).set(INTERNAL).expect(200);
      expect(none.body).toMatchObject({ total_usage: '0', total_cost: '0', total_records: 0, usage_by_product: {}, usage_by_date: {} });
    });

    it('should report real service counts', async () => {
      const res = await request(t.baseUrl).get(`${API}/statistics/service`).set(INTERNAL).expect(200);
      const [{ records }] = await db.query<{ records: number }>(`SELECT count(*)::int AS records FROM usage_records`);
      const [{ subs }] = await db.query<{ subs: number }>(`SELECT count(*)::int AS subs FROM subscriptions WHERE status = 'active'`);
      expect(res.body).toMatchObject({
        total_products: 9,
        active_subscriptions: subs,
        usage_records_24h: records,
        usage_records_30d: records,
      });
      expect(res.body.subscriptions_by_status.trialing).toBeGreaterThan(0);
    });
  });
});
