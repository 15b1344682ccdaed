import pg from 'pg';
import request from 'supertest';
import { ManualClock } from '../src/common/clock/clock.js';
import { CATALOG_SEED } from '../src/database/seed/catalog-data.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

const USER = { 'X-User-Id': 'user_1' };
/** Jest ignores the e2e project's testTimeout: hooks and tests that start apps say theirs. */
const SLOW = 120_000;

/** a tier row's pricing_id */
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const newProduct = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  product_id: id,
  name: `Product ${id}`,
  product_code: null,
  description: 'made by a test',
  category_id: 'ai_models',
  product_type: 'model_inference',
  provider: 'test',
  features: ['x'],
  quota_limits: {},
  metadata: { k: 'v' },
  requires_subscription: false,
  pricing: {
    pricing_type: 'usage_based',
    unit_type: 'token',
    currency: 'USD',
    free_tier_limit: '10',
    free_tier_period: 'monthly',
    tiers: [
      { tier_name: 'base', min_units: '0', max_units: '100', unit_price: '0.50' },
      { tier_name: 'bulk', min_units: '100', max_units: null, unit_price: '0.25' },
    ],
  },
  ...extra,
});

describe('catalog (PostgreSQL)', () => {
  let t: TestApp;
  let db: pg.Client;
  const clock = new ManualClock('2026-11-20T10:00:00.000Z');

  const outbox = async (): Promise<{ type: string; aggregate_id: string; data: Record<string, unknown>; request_id?: string }[]> => {
    const res = await db.query<{
      type: string;
      aggregate_id: string;
      envelope: { data: Record<string, unknown>; metadata: { request_id?: string } };
    }>('SELECT type, aggregate_id, envelope FROM outbox_events ORDER BY seq');
    return res.rows.map((r) => ({
      type: r.type,
      aggregate_id: r.aggregate_id,
      data: r.envelope.data,
      request_id: r.envelope.metadata.request_id,
    }));
  };

  beforeAll(async () => {
    t = await startTestApp({ clock });
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  }, SLOW);
  afterAll(async () => {
    await db?.end();
    await t?.close();
  }, SLOW);

  describe('seeded reads', () => {
    it('should list active categories by display_order', async () => {
      const res = await request(t.baseUrl).get(`${API}/categories`).expect(200);
      expect(res.body.map((c: { category_id: string }) => c.category_id)).toEqual(['ai_models', 'ai_agents', 'storage', 'infrastructure']);
      expect(res.body[0]).toMatchObject({ name: 'AI Models', display_order: 0, is_active: true });
      expect(res.body[0].created_at).toBe('2026-11-20T10:00:00.000Z');
    });

    it('should list every seeded product ordered by product_id with its pricing', async () => {
      const res = await request(t.baseUrl).get(`${API}/products`).expect(200);
      const ids = CATALOG_SEED.products.map((p) => p.product_id).sort();
      expect(res.body.map((p: { product_id: string }) => p.product_id)).toEqual(ids);
      expect(res.headers['x-next-cursor']).toBeUndefined();
      const mini = res.body.find((p: { product_id: string }) => p.product_id === 'gpt-4o-mini');
      const seed = CATALOG_SEED.products.find((p) => p.product_id === 'gpt-4o-mini')!;
      expect(mini).toMatchObject({ ...seed, is_active: true });
      expect(mini.pricing).toEqual(seed.pricing);
    });

    it('should keep the catalog notation of decimals', async () => {
      const res = await request(t.baseUrl).get(`${API}/products/advanced_agent`).expect(200);
      expect(res.body.pricing.tiers[0].unit_price).toBe('0.50');
      const minio = await request(t.baseUrl).get(`${API}/products/minio_storage`).expect(200);
      expect(minio.body.pricing.tiers[1].unit_price).toBe('0.000000000020');
    });

    it('should filter by category_id and product_type', async () => {
      const byCategory = await request(t.baseUrl).get(`${API}/products?category_id=infrastructure`).expect(200);
      expect(byCategory.body.map((p: { product_id: string }) => p.product_id)).toEqual(['api_gateway', 'priority_queue']);
      const byType = await request(t.baseUrl).get(`${API}/products?product_type=agent_execution`).expect(200);
      expect(byType.body.map((p: { product_id: string }) => p.product_id)).toEqual(['advanced_agent']);
      const none = await request(t.baseUrl).get(`${API}/products?category_id=nope`).expect(200);
      expect(none.body).toEqual([]);
    });

    it('should search names case-insensitively with q and treat LIKE wildcards literally', async () => {
      const res = await request(t.baseUrl).get(`${API}/products?q=GPT-4O`).expect(200);
      expect(res.body.map((p: { product_id: string }) => p.product_id)).toEqual(['gpt-4o', 'gpt-4o-mini']);
      const percent = await request(t.baseUrl).get(`${API}/products?q=%25`).expect(200);
      expect(percent.body).toEqual([]);
      const underscore = await request(t.baseUrl).get(`${API}/products?q=_`).expect(200);
      expect(underscore.body).toEqual([]);
    });

    it('should page with Link and X-Next-Cursor across pages without gaps or repeats', async () => {
      const seen: string[] = [];
      let url: string | undefined = `${API}/products?limit=2&category_id=ai_models`;
      let pages = 0;
      while (url) {
        const res = await request(t.baseUrl).get(url).expect(200);
        pages += 1;
        seen.push(...res.body.map((p: { product_id: string }) => p.product_id));
        const link = res.headers.link as string | undefined;
        if (link) {
          expect(res.headers['x-next-cursor']).toBeDefined();
          expect(link).toMatch(/rel="next"/);
          expect(link).toContain(`cursor=${res.headers['x-next-cursor']}`);
          expect(res.body).toHaveLength(2);
          url = /<([^>]+)>/.exec(link)![1];
        } else {
          url = undefined;
        }
      }
      expect(pages).toBe(3);
      expect(seen).toEqual(['claude-3-5-sonnet', 'gpt-4', 'gpt-4o', 'gpt-4o-mini', 'prod_ai_tokens']);
    });

    it('should answer 404 PRODUCT_NOT_FOUND for an unknown product', async () => {
      const res = await request(t.baseUrl).get(`${API}/products/nope`).expect(404);
      expect(res.body.error.code).toBe('PRODUCT_NOT_FOUND');
      expect(res.body.detail).toBe(res.body.error.message);
    });

    it('should list public plans by display_order and all active plans to internal callers', async () => {
      const pub = await request(t.baseUrl).get(`${API}/plans`).expect(200);
      expect(pub.body.map((p: { plan_id: string }) => p.plan_id)).toEqual([
        'tier_free_001',
        'tier_pro_001',
        'tier_max_001',
        'tier_team_001',
      ]);
      const internal = await request(t.baseUrl).get(`${API}/plans`).set(INTERNAL).expect(200);
      expect(internal.body.map((p: { plan_id: string }) => p.plan_id)).toContain('tier_enterprise_001');
      const pro = pub.body[1];
      expect(pro).toMatchObject({
        monthly_price: '20',
        yearly_price: '192',
        included_credits: '30000000',
        max_rollover_credits: '15000000',
        included_products: [
          { product_id: 'gpt-4o-mini', included_amount: '5000000' },
          { product_id: 'priority_queue', included_amount: null },
        ],
        is_active: true,
      });
    });

    it('should hide a non-public plan from non-internal callers', async () => {
      const res = await request(t.baseUrl).get(`${API}/plans/tier_enterprise_001`).expect(404);
      expect(res.body.error.code).toBe('PLAN_NOT_FOUND');
      await request(t.baseUrl).get(`${API}/plans/tier_enterprise_001`).set(USER).expect(404);
      const internal = await request(t.baseUrl).get(`${API}/plans/tier_enterprise_001`).set(INTERNAL).expect(200);
      expect(internal.body).toMatchObject({ plan_id: 'tier_enterprise_001', is_public: false, max_seats: null });
      await request(t.baseUrl).get(`${API}/plans/nope`).expect(404);
    });
  });

  describe('pricing', () => {
    it('should give the full SPEC pricing shape for minio_storage', async () => {
      const res = await request(t.baseUrl).get(`${API}/products/minio_storage/pricing`).expect(200);
      const tiers = [
        {
          pricing_id: expect.stringMatching(UUID_PATTERN) as string,
          tier_name: 'base',
          min_units: '0',
          max_units: '107374182400',
          unit_price: '0.000000000023',
        },
        {
          pricing_id: expect.stringMatching(UUID_PATTERN) as string,
          tier_name: 'tier2',
          min_units: '107374182400',
          max_units: null,
          unit_price: '0.000000000020',
        },
      ];
      expect(res.body).toEqual({
        product_id: 'minio_storage',
        product_name: 'MinIO Storage',
        currency: 'USD',
        pricing_type: 'usage_based',
        unit_type: 'byte',
        unit_price: '0.000000000023',
        base_unit_price: '0.000000000023',
        tiers,
        pricing_model: {
          pricing_type: 'usage_based',
          unit_type: 'byte',
          currency: 'USD',
          base_unit_price: '0.000000000023',
          free_tier_limit: '1073741824',
          free_tier_period: 'monthly',
          tier_mode: 'graduated',
          tiers,
        },
        effective_pricing: {
          base_unit_price: '0.000000000023',
          period_start: '2026-11-01T00:00:00.000Z',
          period_end: '2026-12-01T00:00:00.000Z',
          period_usage: '0',
          free_tier_remaining: '1073741824',
          current_tier: 'base',
        },
      });
    });

    it('should give effective pricing for the caller: the marginal price of the next unit (free tier)', async () => {
      const res = await request(t.baseUrl).get(`${API}/products/gpt-4o-mini/pricing?user_id=user_1`).set(USER).expect(200);
      expect(res.body.unit_price).toBe('0');
      expect(res.body.base_unit_price).toBe('0.0000003');
      expect(res.body.pricing_model).toMatchObject({
        base_unit_price: '0.0000003',
        currency: 'USD',
        free_tier_limit: '100000',
        tier_mode: 'graduated',
      });
      expect(res.body.effective_pricing).toEqual({
        base_unit_price: '0.0000003',
        period_start: '2026-11-01T00:00:00.000Z',
        period_end: '2026-12-01T00:00:00.000Z',
        period_usage: '0',
        free_tier_remaining: '100000',
        current_tier: 'base',
      });
      const noFree = await request(t.baseUrl)
        .get(`${API}/products/gpt-4/pricing?user_id=user_1&subscription_id=sub_1`)
        .set(USER)
        .expect(200);
      expect(noFree.body.unit_price).toBe('0.00003');
    });

    it("should refuse a user's request for another user's effective pricing with 403", async () => {
      const res = await request(t.baseUrl).get(`${API}/products/gpt-4o-mini/pricing?user_id=user_2`).set(USER).expect(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
      await request(t.baseUrl).get(`${API}/products/gpt-4o-mini/pricing?user_id=user_2`).set(INTERNAL).expect(200);
      await request(t.baseUrl).get(`${API}/products/gpt-4o-mini/pricing?user_id=user_2`).expect(401);
    });

    it('should answer 404 for the pricing of an unknown product', async () => {
      const res = await request(t.baseUrl).get(`${API}/products/nope/pricing`).expect(404);
      expect(res.body.error.code).toBe('PRODUCT_NOT_FOUND');
    });
  });

  describe('availability', () => {
    it('should say a known active product is available', async () => {
      const res = await request(t.baseUrl)
        .get(`${API}/products/gpt-4/availability?user_id=user_1&organization_id=org_1`)
        .set('X-User-Id', 'user_1')
        .expect(200);
      expect(res.body.available).toBe(true);
      expect(res.body.product.product_id).toBe('gpt-4');
    });

    it("should answer a user's availability to that user and internal callers only (401 without credentials, 403 for another user)", async () => {
      const path = `${API}/products/gpt-4/availability?user_id=user_1`;
      expect((await request(t.baseUrl).get(path).expect(401)).body.error.code).toBe('UNAUTHORIZED');
      expect((await request(t.baseUrl).get(path).set('X-User-Id', 'user_2').expect(403)).body.error.code).toBe('FORBIDDEN');
      await request(t.baseUrl).get(path).set(INTERNAL).expect(200);
      // without a user it stays public
      await request(t.baseUrl).get(`${API}/products/gpt-4/availability`).expect(200);
    });

    it('should answer 200 with PRODUCT_NOT_FOUND for an unknown product', async () => {
      const res = await request(t.baseUrl).get(`${API}/products/nope/availability`).expect(200);
      expect(res.body).toEqual({ available: false, reason: 'PRODUCT_NOT_FOUND' });
    });
  });

  describe('writes', () => {
    it('should refuse writes without internal credentials (401) and from users (403)', async () => {
      const anon = await request(t.baseUrl).post(`${API}/products`).send(newProduct('w0')).expect(401);
      expect(anon.body.error.code).toBe('UNAUTHORIZED');
      const user = await request(t.baseUrl).post(`${API}/products`).set(USER).send(newProduct('w0')).expect(403);
      expect(user.body.error.code).toBe('FORBIDDEN');
      await request(t.baseUrl)
        .post(`${API}/products`)
        .set({ 'X-Internal-Service': 'true', 'X-Internal-Service-Secret': 'wrong' })
        .send(newProduct('w0'))
        .expect(401);
      await request(t.baseUrl).patch(`${API}/products/gpt-4`).set(USER).send({ name: 'x' }).expect(403);
      await request(t.baseUrl)
        .put(`${API}/products/gpt-4/pricing`)
        .send(newProduct('x').pricing as object)
        .expect(401);
      await request(t.baseUrl).post(`${API}/categories`).set(USER).send({ category_id: 'c', name: 'C' }).expect(403);
      await request(t.baseUrl).post(`${API}/plans`).send({}).expect(401);
      await request(t.baseUrl).patch(`${API}/plans/tier_free_001`).set(USER).send({ name: 'x' }).expect(403);
      await request(t.baseUrl).get(`${API}/products/w0`).expect(404);
    });

    it('should create a product with its pricing, publish product.catalog.changed and refuse a duplicate with 409', async () => {
      const before = (await outbox()).length;
      const res = await request(t.baseUrl)
        .post(`${API}/products`)
        .set(INTERNAL)
        .set('X-Request-Id', 'create-w1')
        .send(newProduct('w1'))
        .expect(201);
      expect(res.body).toMatchObject({ ...newProduct('w1'), is_active: true, created_at: '2026-11-20T10:00:00.000Z' });
      const got = await request(t.baseUrl).get(`${API}/products/w1`).expect(200);
      expect(got.body).toEqual(res.body);
      const events = (await outbox()).slice(before);
      expect(events).toEqual([
        {
          type: 'product.catalog.changed',
          aggregate_id: 'product:w1',
          data: { entity: 'product', id: 'w1', change: 'created' },
          request_id: 'create-w1',
        },
      ]);
      const dup = await request(t.baseUrl).post(`${API}/products`).set(INTERNAL).send(newProduct('w1')).expect(409);
      expect(dup.body.error.code).toBe('PRODUCT_EXISTS');
      const dupCode = await request(t.baseUrl)
        .post(`${API}/products`)
        .set(INTERNAL)
        .send(newProduct('w1b', { product_code: 'GPT4O-MINI' }))
        .expect(409);
      expect(dupCode.body.error.code).toBe('PRODUCT_EXISTS');
      expect((await outbox()).length).toBe(before + 1);
    });

    it('should create a product exactly once when the same create arrives concurrently', async () => {
      const before = (await outbox()).length;
      const results = await Promise.all(
        [0, 1, 2, 3, 4].map(() => request(t.baseUrl).post(`${API}/products`).set(INTERNAL).send(newProduct('race1'))),
      );
      expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
      expect((await outbox()).slice(before).map((e) => e.data)).toEqual([{ entity: 'product', id: 'race1', change: 'created' }]);
    });

    it('should leave one whole tier table after concurrent pricing replacements', async () => {
      const table = (n: number): Record<string, unknown> => ({
        pricing_type: 'usage_based',
        unit_type: 'token',
        currency: 'USD',
        tiers: Array.from({ length: n }, (_, i) => ({
          tier_name: `v${n}-${i}`,
          min_units: String(i * 10),
          max_units: i === n - 1 ? null : String((i + 1) * 10),
          unit_price: String(n),
        })),
      });
      const results = await Promise.all(
        [1, 2, 3, 4, 5].map((n) => request(t.baseUrl).put(`${API}/products/race1/pricing`).set(INTERNAL).send(table(n))),
      );
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      const final = await request(t.baseUrl).get(`${API}/products/race1`).expect(200);
      const n = final.body.pricing.tiers.length as number;
      expect(final.body.pricing.tiers).toEqual((table(n) as { tiers: unknown[] }).tiers);
    });

    it('should refuse an unknown category with 422 CATEGORY_NOT_FOUND and change nothing', async () => {
      const res = await request(t.baseUrl)
        .post(`${API}/products`)
        .set(INTERNAL)
        .send(newProduct('w2', { category_id: 'nope' }))
        .expect(422);
      expect(res.body.error.code).toBe('CATEGORY_NOT_FOUND');
      await request(t.baseUrl).get(`${API}/products/w2`).expect(404);
    });

    it('should refuse a tier table that is not contiguous from 0 with 400 naming each bad field', async () => {
      const bad = newProduct('w3');
      (bad.pricing as { tiers: unknown[] }).tiers = [
        { tier_name: 'a', min_units: '5', max_units: '100', unit_price: '1' },
        { tier_name: 'b', min_units: '200', max_units: null, unit_price: '1' },
      ];
      const res = await request(t.baseUrl).post(`${API}/products`).set(INTERNAL).send(bad).expect(400);
      expect(res.body.error.code).toBe('INVALID_TIERS');
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toEqual([
        'pricing.tiers[0].min_units',
        'pricing.tiers[1].min_units',
      ]);
      await request(t.baseUrl).get(`${API}/products/w3`).expect(404);

      const put = await request(t.baseUrl)
        .put(`${API}/products/gpt-4/pricing`)
        .set(INTERNAL)
        .send({
          pricing_type: 'usage_based',
          unit_type: 'token',
          currency: 'USD',
          tiers: [
            { tier_name: 'a', min_units: '0', max_units: null, unit_price: '1' },
            { tier_name: 'b', min_units: '10', max_units: '5', unit_price: '-1' },
          ],
        })
        .expect(400);
      expect(put.body.error.details.map((d: { field: string }) => d.field)).toEqual(expect.arrayContaining(['tiers[1].unit_price']));
      const unchanged = await request(t.baseUrl).get(`${API}/products/gpt-4`).expect(200);
      expect(unchanged.body.pricing.tiers).toEqual(CATALOG_SEED.products[0].pricing.tiers);
    });

    it('should replace pricing and tiers atomically and publish a pricing change', async () => {
      const before = (await outbox()).length;
      const pricing = {
        pricing_type: 'usage_based',
        unit_type: 'token',
        currency: 'USD',
        free_tier_limit: null,
        tiers: [
          { tier_name: 't1', min_units: '0', max_units: '1000', unit_price: '0.002' },
          { tier_name: 't2', min_units: '1000', max_units: '5000', unit_price: '0.001' },
          { tier_name: 't3', min_units: '5000', max_units: null, unit_price: '0.0005' },
        ],
      };
      clock.advance(60_000);
      const res = await request(t.baseUrl).put(`${API}/products/w1/pricing`).set(INTERNAL).send(pricing).expect(200);
      expect(res.body.pricing).toEqual({ ...pricing, free_tier_limit: '0', free_tier_period: 'monthly' });
      expect(res.body.updated_at).toBe('2026-11-20T10:01:00.000Z');
      const priced = await request(t.baseUrl).get(`${API}/products/w1/pricing`).expect(200);
      expect(priced.body.unit_price).toBe('0.002');
      expect(priced.body.tiers).toHaveLength(3);
      expect((await outbox()).slice(before)).toEqual([
        expect.objectContaining({ type: 'product.catalog.changed', data: { entity: 'pricing', id: 'w1', change: 'updated' } }),
      ]);
      await request(t.baseUrl).put(`${API}/products/nope/pricing`).set(INTERNAL).send(pricing).expect(404);

      // the same pricing again (bounds written another way): nothing changes, nothing is published, the tier rows keep their ids
      const tierIds = async () =>
        (
          await db.query<{ pricing_id: string }>(`SELECT pricing_id FROM product_price_tiers WHERE product_id = 'w1' ORDER BY tier_index`)
        ).rows.map((r) => r.pricing_id);
      const ids = await tierIds();
      const again = {
        ...pricing,
        free_tier_limit: '0.0',
        tiers: pricing.tiers.map((tier) => ({ ...tier, unit_price: `${tier.unit_price}0` })),
      };
      const same = await request(t.baseUrl).put(`${API}/products/w1/pricing`).set(INTERNAL).send(again).expect(200);
      expect(same.body.updated_at).toBe('2026-11-20T10:01:00.000Z');
      expect((await outbox()).slice(before)).toHaveLength(1);
      expect(await tierIds()).toEqual(ids);
      // and a PATCH of fields to the values they have
      await request(t.baseUrl)
        .patch(`${API}/products/w1`)
        .set(INTERNAL)
        .send({ name: same.body.name, metadata: same.body.metadata })
        .expect(200);
      expect((await outbox()).slice(before)).toHaveLength(1);
    });

    it('should patch fields, retire with is_active false and hide retired products from the default list', async () => {
      const before = (await outbox()).length;
      const renamed = await request(t.baseUrl)
        .patch(`${API}/products/w1`)
        .set(INTERNAL)
        .send({ name: 'Renamed', description: null })
        .expect(200);
      expect(renamed.body).toMatchObject({ name: 'Renamed', description: 'made by a test', is_active: true });
      const json = await request(t.baseUrl)
        .patch(`${API}/products/w1`)
        .set(INTERNAL)
        .send({ features: ['a', { b: 1 }], metadata: { nested: { list: [1, '2'] } }, quota_limits: {}, requires_subscription: true })
        .expect(200);
      expect(json.body).toMatchObject({
        features: ['a', { b: 1 }],
        metadata: { nested: { list: [1, '2'] } },
        quota_limits: {},
        requires_subscription: true,
      });
      const retired = await request(t.baseUrl).patch(`${API}/products/w1`).set(INTERNAL).send({ is_active: false }).expect(200);
      expect(retired.body.is_active).toBe(false);
      expect((await outbox()).slice(before).map((e) => e.data)).toEqual([
        { entity: 'product', id: 'w1', change: 'updated' },
        { entity: 'product', id: 'w1', change: 'updated' },
        { entity: 'product', id: 'w1', change: 'retired' },
      ]);
      const active = await request(t.baseUrl).get(`${API}/products?q=renamed`).expect(200);
      expect(active.body).toEqual([]);
      const inactive = await request(t.baseUrl).get(`${API}/products?q=renamed&is_active=false`).expect(200);
      expect(inactive.body.map((p: { product_id: string }) => p.product_id)).toEqual(['w1']);
      const availability = await request(t.baseUrl).get(`${API}/products/w1/availability`).expect(200);
      expect(availability.body).toMatchObject({ available: false, reason: 'PRODUCT_INACTIVE', product: { product_id: 'w1' } });
      await request(t.baseUrl).get(`${API}/products/w1`).expect(200);
      const badCategory = await request(t.baseUrl).patch(`${API}/products/w1`).set(INTERNAL).send({ category_id: 'nope' }).expect(422);
      expect(badCategory.body.error.code).toBe('CATEGORY_NOT_FOUND');
      const dupCode = await request(t.baseUrl).patch(`${API}/products/w1`).set(INTERNAL).send({ product_code: 'GPT4-MODEL' }).expect(409);
      expect(dupCode.body.error.code).toBe('PRODUCT_EXISTS');
      await request(t.baseUrl).patch(`${API}/products/nope`).set(INTERNAL).send({ name: 'x' }).expect(404);
      const unknownField = await request(t.baseUrl).patch(`${API}/products/w1`).set(INTERNAL).send({ pricing: {} }).expect(400);
      expect(unknownField.body.error.details).toEqual([{ field: 'pricing', message: 'pricing is not an allowed field' }]);
    });

    it('should create a category (409 on duplicate) and publish the change', async () => {
      const before = (await outbox()).length;
      const res = await request(t.baseUrl)
        .post(`${API}/categories`)
        .set(INTERNAL)
        .send({ category_id: 'zz_new', name: 'New', display_order: 9 })
        .expect(201);
      expect(res.body).toMatchObject({ category_id: 'zz_new', name: 'New', description: null, display_order: 9, is_active: true });
      const list = await request(t.baseUrl).get(`${API}/categories`).expect(200);
      expect(list.body.at(-1).category_id).toBe('zz_new');
      const dup = await request(t.baseUrl)
        .post(`${API}/categories`)
        .set(INTERNAL)
        .send({ category_id: 'zz_new', name: 'Again' })
        .expect(409);
      expect(dup.body.error.code).toBe('CATEGORY_EXISTS');
      expect((await outbox()).slice(before).map((e) => e.data)).toEqual([{ entity: 'category', id: 'zz_new', change: 'created' }]);
    });

    it('should create and patch plans, with decimals as strings, and publish each change', async () => {
      const before = (await outbox()).length;
      const plan = {
        plan_id: 'tier_test_001',
        name: 'Test',
        plan_tier: 'test',
        monthly_price: '9.99',
        yearly_price: '99.90',
        included_credits: 5000,
        included_products: [{ product_id: 'gpt-4o-mini', included_amount: '1000' }],
        is_public: false,
        display_order: 7,
      };
      const created = await request(t.baseUrl).post(`${API}/plans`).set(INTERNAL).send(plan).expect(201);
      expect(created.body).toMatchObject({
        ...plan,
        included_credits: '5000',
        max_rollover_credits: null,
        min_seats: 1,
        max_seats: null,
        currency: 'USD',
      });
      await request(t.baseUrl).post(`${API}/plans`).set(INTERNAL).send(plan).expect(409);
      const unknownProduct = await request(t.baseUrl)
        .post(`${API}/plans`)
        .set(INTERNAL)
        .send({ ...plan, plan_id: 'tier_test_002', included_products: [{ product_id: 'nope', included_amount: null }] })
        .expect(422);
      expect(unknownProduct.body.error.code).toBe('PRODUCT_NOT_FOUND');
      const seats = await request(t.baseUrl)
        .post(`${API}/plans`)
        .set(INTERNAL)
        .send({ ...plan, plan_id: 'tier_test_003', min_seats: 5, max_seats: 2 })
        .expect(400);
      expect(seats.body.error.details[0].field).toBe('max_seats');
      // plan limits the quotas could not read (they had been stored, and meant "no limit"): 400 naming the limit
      const limits = await request(t.baseUrl)
        .post(`${API}/plans`)
        .set(INTERNAL)
        .send({ ...plan, plan_id: 'tier_test_004', usage_limits: { 'gpt-4o': { daily_requests: '0x10', period_units: '1e5' } } })
        .expect(400);
      expect(limits.body.error.details).toEqual([
        {
          field: 'usage_limits',
          message: 'usage_limits.gpt-4o.daily_requests must be -1 (unlimited) or an integer from 0 to 9007199254740991',
        },
      ]);
      await request(t.baseUrl)
        .patch(`${API}/plans/tier_test_001`)
        .set(INTERNAL)
        .send({ usage_limits: { model_inference: { thresholds: [-5] } } })
        .expect(400);
      const patched = await request(t.baseUrl)
        .patch(`${API}/plans/tier_test_001`)
        .set(INTERNAL)
        .send({
          monthly_price: '12',
          is_public: true,
          max_rollover_credits: 100,
          // an amount written with leading zeros is kept as PostgreSQL keeps included_credits: "007.50" → "7.50"
          included_products: [
            { product_id: 'priority_queue', included_amount: null },
            { product_id: 'gpt-4o-mini', included_amount: '007.50' },
          ],
          usage_limits: { storage_gb: 1 },
        })
        .expect(200);
      expect(patched.body).toMatchObject({
        monthly_price: '12',
        yearly_price: '99.90',
        is_public: true,
        max_rollover_credits: '100',
        included_products: [
          { product_id: 'priority_queue', included_amount: null },
          { product_id: 'gpt-4o-mini', included_amount: '7.50' },
        ],
        usage_limits: { storage_gb: 1 },
      });
      const publicView = await request(t.baseUrl).get(`${API}/plans/tier_test_001`).expect(200);
      expect(publicView.body.monthly_price).toBe('12');
      await request(t.baseUrl).patch(`${API}/plans/tier_test_001`).set(INTERNAL).send({ is_active: false }).expect(200);
      const list = await request(t.baseUrl).get(`${API}/plans`).expect(200);
      expect(list.body.map((p: { plan_id: string }) => p.plan_id)).not.toContain('tier_test_001');
      await request(t.baseUrl).patch(`${API}/plans/nope`).set(INTERNAL).send({ name: 'x' }).expect(404);
      expect((await outbox()).slice(before).map((e) => e.data)).toEqual([
        { entity: 'plan', id: 'tier_test_001', change: 'created' },
        { entity: 'plan', id: 'tier_test_001', change: 'updated' },
        { entity: 'plan', id: 'tier_test_001', change: 'retired' },
      ]);
    });
  });

  describe('wire rules', () => {
    const expectErrorBody = (res: request.Response, status: number, code: string): void => {
      expect(res.status).toBe(status);
      expect(res.headers['x-request-id']).toBeDefined();
      expect(res.body.error).toMatchObject({ code, request_id: res.headers['x-request-id'] });
      expect(typeof res.body.error.message).toBe('string');
      expect(res.body.detail).toBe(res.body.error.message);
    };
    const post = (path: string): request.Test => request(t.baseUrl).post(`${API}${path}`).set(INTERNAL);

    it('should answer invalid JSON with 400 INVALID_JSON', async () => {
      const res = await post('/products').set('Content-Type', 'application/json').send('{"product_id": ');
      expectErrorBody(res, 400, 'INVALID_JSON');
      // valid JSON the parser refuses (prototype poisoning): a validation error naming the key, not "not valid JSON"
      const poisoned = await post('/categories').set('Content-Type', 'application/json').send('{"__proto__": {"x": 1}}');
      expectErrorBody(poisoned, 400, 'VALIDATION_ERROR');
      expect(poisoned.body.error.details).toEqual([{ field: '__proto__', message: '__proto__: the key "__proto__" is not allowed' }]);
      const nested = await post('/categories')
        .set('Content-Type', 'application/json')
        .send('{"category_id": "c", "name": "C", "metadata": {"constructor": {"prototype": {"x": 1}}}}');
      expectErrorBody(nested, 400, 'VALIDATION_ERROR');
      expect(nested.body.error.details).toEqual([
        { field: 'metadata.constructor', message: 'metadata.constructor: the key "constructor" holding a "prototype" is not allowed' },
      ]);
      const empty = await post('/categories').set('Content-Type', 'application/json').send('');
      expectErrorBody(empty, 400, 'VALIDATION_ERROR');
    });

    it('should answer a body over 1 MiB with 413', async () => {
      const res = await post('/products')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10) }));
      expectErrorBody(res, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('should answer a non-JSON content type with 415', async () => {
      const text = await post('/products').set('Content-Type', 'text/plain').send('hello');
      expectErrorBody(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
      const xml = await post('/categories').set('Content-Type', 'application/xml').send('<a/>');
      expectErrorBody(xml, 415, 'UNSUPPORTED_MEDIA_TYPE');
      // a compressed body: the service decompresses nothing (it had read the bytes as JSON text)
      const body = JSON.stringify(newProduct('gz1'));
      const gzip = await post('/products').set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').send(body);
      expectErrorBody(gzip, 415, 'UNSUPPORTED_MEDIA_TYPE');
      expect(gzip.body.error.message).toBe('Request body must not be compressed (Content-Encoding: identity, or none)');
      await post('/products').set('Content-Type', 'application/json').set('Content-Encoding', 'Identity').send(body).expect(201);
      // JSON is UTF-8 (RFC 8259): another declared charset is refused, as Express's body-parser does
      const latin1 = await post('/products').set('Content-Type', 'application/json; charset=iso-8859-1').send(body);
      expectErrorBody(latin1, 415, 'UNSUPPORTED_MEDIA_TYPE');
      expect(latin1.body.error.message).toBe('Request body must be UTF-8 JSON (charset=utf-8)');
      const utf8 = JSON.stringify(newProduct('gz2'));
      await post('/products').set('Content-Type', 'application/json; Charset="UTF-8"').send(utf8).expect(201);
    });

    it('should reject unknown fields with per-field details, also nested ones', async () => {
      const res = await post('/products').send({
        ...newProduct('u1'),
        colour: 'red',
        pricing: { ...(newProduct('u1').pricing as object), extra: 1 },
      });
      expectErrorBody(res, 400, 'VALIDATION_ERROR');
      expect(res.body.error.details).toEqual(
        expect.arrayContaining([
          { field: 'colour', message: 'colour is not an allowed field' },
          { field: 'pricing.extra', message: 'pricing.extra is not an allowed field' },
        ]),
      );
      await request(t.baseUrl).get(`${API}/products/u1`).expect(404);
    });

    it('should refuse identifiers with control characters or over 255 characters, in bodies, queries and paths', async () => {
      expectErrorBody(await post('/products').send(newProduct('a\u0000b')), 400, 'VALIDATION_ERROR');
      expectErrorBody(await post('/products').send(newProduct('x'.repeat(256))), 400, 'VALIDATION_ERROR');
      expectErrorBody(await post('/categories').send({ category_id: 'tab\there', name: 'x' }), 400, 'VALIDATION_ERROR');
      expectErrorBody(await request(t.baseUrl).get(`${API}/products/a%00b`), 400, 'VALIDATION_ERROR');
      expectErrorBody(await request(t.baseUrl).get(`${API}/products/a%0Ab/pricing`), 400, 'VALIDATION_ERROR');
      expectErrorBody(await request(t.baseUrl).get(`${API}/products/${'x'.repeat(256)}`), 400, 'VALIDATION_ERROR');
      expectErrorBody(await request(t.baseUrl).get(`${API}/plans/${'x'.repeat(300)}`), 400, 'VALIDATION_ERROR');
      expectErrorBody(await request(t.baseUrl).get(`${API}/products/${'x'.repeat(255)}`), 404, 'PRODUCT_NOT_FOUND');
      expectErrorBody(await request(t.baseUrl).get(`${API}/products?category_id=a%00b`), 400, 'VALIDATION_ERROR');
      expectErrorBody(
        await request(t.baseUrl)
          .get(`${API}/products/gpt-4/pricing?user_id=${'u'.repeat(256)}`)
          .set(INTERNAL),
        400,
        'VALIDATION_ERROR',
      );
      // an empty value means "not given" (SPEC section 7), not an empty identifier
      expect((await request(t.baseUrl).get(`${API}/products/gpt-4/availability?user_id=`).expect(200)).body).toMatchObject({
        available: true,
      });
    });

    it('should never answer 500 to garbage', async () => {
      const garbage: [string, string, unknown][] = [
        ['post', '/products', [1, 2, 3]],
        ['post', '/products', 'just a string'],
        ['post', '/products', 42],
        ['post', '/products', null],
        ['post', '/products', { product_id: 5, name: ['x'], category_id: {}, product_type: true, pricing: 'cheap' }],
        ['post', '/products', { ...newProduct('g1'), pricing: { ...(newProduct('g1').pricing as object), tiers: 'many' } }],
        ['post', '/products', { ...newProduct('g2'), pricing: { ...(newProduct('g2').pricing as object), tiers: [null, 1, 'x'] } }],
        ['post', '/products', { ...newProduct('g3'), pricing: { ...(newProduct('g3').pricing as object), tiers: [] } }],
        ['post', '/products', { ...newProduct('g4'), features: 'nope', metadata: [1] }],
        ['post', '/products', { __proto__: { polluted: true }, constructor: { prototype: { x: 1 } } }],
        ['post', '/categories', { category_id: 'c1', name: 'C', display_order: 1.5 }],
        ['post', '/categories', { category_id: 'c1', name: 'C', display_order: 1e308 }],
        ['post', '/plans', { plan_id: 'p', name: 'P', plan_tier: 't', monthly_price: 10, yearly_price: '-1' }],
        ['post', '/plans', { plan_id: 'p', name: 'P', plan_tier: 't', monthly_price: '1', yearly_price: '1', included_credits: 'NaN' }],
        ['post', '/plans', { plan_id: 'p', name: 'P', plan_tier: 't', monthly_price: '1e5', yearly_price: '1', min_seats: '2' }],
        ['post', '/products', newProduct('g5', { description: 'nul\u0000inside' })],
        ['post', '/products', newProduct('g6', { metadata: { nested: ['x\u0000'] } })],
        ['post', '/products', newProduct('g7', { metadata: { ['key\u0000']: 1 } })],
        // unpaired surrogates (JSON "\ud800"): jsonb refused them, a 500 until 2026-12-07
        ['post', '/products', newProduct('g9', { metadata: { model: '\ud800' } })],
        ['post', '/products', newProduct('g10', { features: ['ok', 'x\udc00'] })],
        ['patch', '/products/gpt-4', []],
        ['patch', '/products/gpt-4', { is_active: 'no' }],
        ['patch', '/plans/tier_free_001', { max_seats: 0 }],
        [
          'put',
          '/products/gpt-4/pricing',
          {
            pricing_type: 'usage_based',
            unit_type: 'x',
            currency: 'USD',
            tiers: [{ tier_name: 'a', min_units: '0', max_units: null, unit_price: '1'.repeat(100) }],
          },
        ],
        ['put', '/products/gpt-4/pricing', [{}]],
      ];
      for (const [method, path, body] of garbage) {
        const res = await (request(t.baseUrl) as unknown as Record<string, (url: string) => request.Test>)
          [method](`${API}${path}`)
          .set(INTERNAL)
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        expect([method, path, res.status]).toEqual([method, path, 400]);
        expect(res.body.error.request_id).toBe(res.headers['x-request-id']);
      }
      const deep = JSON.stringify(newProduct('g8', { metadata: { a: 1 } })).replace('{"a":1}', '['.repeat(200_000) + ']'.repeat(200_000));
      const deepRes = await post('/products').set('Content-Type', 'application/json').send(deep);
      expectErrorBody(deepRes, 400, 'VALIDATION_ERROR');
      const queries = [
        '/products?limit=100000',
        '/products?limit=0',
        '/products?limit=abc',
        '/products?limit=1.5',
        '/products?cursor=not-a-cursor',
        `/products?cursor=${Buffer.from('[1,2]').toString('base64url')}`,
        `/products?cursor=${'A'.repeat(5000)}`,
        '/products?is_active=maybe',
        '/products?category_id=a&category_id=b',
        '/categories?limit=-1',
        '/plans?cursor=%00',
        `/products?q=${'q'.repeat(300)}`,
        // cursors the database cannot take (500s until 2026-12-08): a seq past bigint, a NUL
        `/usage/records?user_id=u&cursor=${Buffer.from('["9223372036854775808"]').toString('base64url')}`,
        `/subscriptions?cursor=${Buffer.from('["9999999999999999999"]').toString('base64url')}`,
        `/admin/cost-definitions?cursor=${Buffer.from('["\\u0000"]').toString('base64url')}`,
        `/products?cursor=${Buffer.from('["a\\u0000"]').toString('base64url')}`,
      ];
      for (const q of queries) {
        const res = await request(t.baseUrl).get(`${API}${q}`).set(INTERNAL);
        expect([q, res.status]).toEqual([q, 400]);
        expect(res.body.error.code).toBe('VALIDATION_ERROR');
      }
      // one detail per message: limit's three rules share theirs
      const limit = await request(t.baseUrl).get(`${API}/products?limit=abc`).expect(400);
      expect(limit.body.error.details).toEqual([{ field: 'limit', message: 'limit must be an integer between 1 and 200' }]);
      const ok = await request(t.baseUrl)
        .get(`${API}/products?q=${encodeURIComponent("'; DROP TABLE products; --")}&unknown=1`)
        .expect(200);
      expect(ok.body).toEqual([]);
    });

    it('should answer an unknown route and a wrong method with the SPEC body', async () => {
      expectErrorBody(await request(t.baseUrl).delete(`${API}/products/gpt-4`).set(INTERNAL), 404, 'NOT_FOUND');
      expectErrorBody(await request(t.baseUrl).get(`${API}/productz`), 404, 'NOT_FOUND');
    });
  });

  describe('seeding', () => {
    it(
      'should not seed again on a restart against the same database',
      async () => {
        const count = async (): Promise<number[]> => {
          const res = await db.query<{ c: string; p: string; t: string; s: string; e: string }>(
            `SELECT (SELECT count(*) FROM categories) c, (SELECT count(*) FROM products) p, (SELECT count(*) FROM product_price_tiers) t,
                  (SELECT count(*) FROM service_plans) s, (SELECT count(*) FROM outbox_events) e`,
          );
          return Object.values(res.rows[0]).map(Number);
        };
        const before = await count();
        const [second, third] = await Promise.all([
          startTestApp({ databaseUrl: t.databaseUrl }),
          startTestApp({ databaseUrl: t.databaseUrl }),
        ]);
        try {
          expect(await count()).toEqual(before);
          const res = await request(second.baseUrl).get(`${API}/products/w1`).expect(200);
          expect(res.body.name).toBe('Renamed');
        } finally {
          await second.close();
          await third.close();
        }
      },
      SLOW,
    );

    it(
      'should seed each entry exactly once when several replicas start on an empty database together',
      async () => {
        const { createTestDatabase } = await import('./support/database.js');
        const fresh = await createTestDatabase();
        try {
          const apps = await Promise.all([0, 1, 2].map(() => startTestApp({ databaseUrl: fresh.url })));
          const client = new pg.Client({ connectionString: fresh.url });
          await client.connect();
          try {
            const res = await client.query<{ p: string; s: string; e: string }>(
              'SELECT (SELECT count(*) FROM products) p, (SELECT count(*) FROM service_plans) s, (SELECT count(*) FROM outbox_events) e',
            );
            expect(res.rows[0]).toEqual({ p: String(CATALOG_SEED.products.length), s: String(CATALOG_SEED.plans.length), e: '0' });
          } finally {
            await client.end();
            await Promise.all(apps.map((a) => a.close()));
          }
        } finally {
          await fresh.drop();
        }
      },
      SLOW,
    );
  });
});
