import request from 'supertest';
import { ManualClock } from '../src/common/clock/clock.js';
import { CatalogStore } from '../src/product/catalog/catalog-store.js';
import { Db } from './support/catalog-fixture.js';
import { startFakePlatform } from './support/fake-platform.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

const NOW = '2026-11-25T10:00:00.000Z';
const QUOTE = '/api/v1/pricing/calculate';
const SPEC_PRODUCT_TYPES = [
  'model_inference',
  'model',
  'agent_execution',
  'agent',
  'agent_runtime',
  'storage_minio',
  'storage',
  'api_gateway',
  'api_service',
  'mcp_tool',
  'mcp_service',
  'notification',
  'computation',
  'data_processing',
  'integration',
  'other',
];

/**
 * SPEC section 7: what the platform's Python callers send, sent as they send it: `?x=` for None
 * (httpx), `True` for booleans (requests), naive timestamps (`isoformat()`), the billing service's
 * pricing/calculate call; and the small shapes their tests read.
 */
describe('platform compatibility (PostgreSQL + fake account/organization services)', () => {
  const clock = new ManualClock(NOW);
  let t: TestApp;
  let platform: Awaited<ReturnType<typeof startFakePlatform>>;
  let db: Db;
  let n = 0;
  const newUser = (): string => {
    const id = `compat_user_${++n}`;
    platform.accounts.addUser(id);
    return id;
  };
  const asUser = (userId: string) => ({ 'X-User-Id': userId });
  const get = (path: string, headers: Record<string, string> = INTERNAL) => request(t.baseUrl).get(path).set(headers);
  const record = (body: Record<string, unknown>) => request(t.baseUrl).post(`${API}/usage/record`).set(INTERNAL).send(body);
  const quote = (body: unknown, headers: Record<string, string> = INTERNAL) =>
    request(t.baseUrl).post(QUOTE).set(headers).set('Content-Type', 'application/json').send(JSON.stringify(body));
  const expectError = (res: request.Response, status: number, code: string, field?: string): void => {
    expect([res.status, res.body.error?.code]).toEqual([status, code]);
    expect(res.body.error.request_id).toBe(res.headers['x-request-id']);
    expect(res.body.detail).toBe(res.body.error.message);
    if (field) expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  };

  beforeAll(async () => {
    platform = await startFakePlatform();
    t = await startTestApp({ env: platform.env, clock });
    db = await Db.connect(t.databaseUrl as string, () => t.app.get(CatalogStore).refresh());
    await db.ensureCatalog();
    await db.copyProduct('advanced_agent', { product_id: 'retired_agent', is_active: false });
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await t?.close();
    await platform?.stop();
  }, 60_000);
  beforeEach(() => clock.set(NOW));

  describe('empty query parameters mean "not given"', () => {
    it('should answer the billing service’s pricing fallback (?user_id=…&subscription_id=) with effective pricing', async () => {
      const user = newUser();
      await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 4 }).expect(200);
      const res = await get(`${API}/products/advanced_agent/pricing?user_id=${user}&subscription_id=`).expect(200);
      expect(res.body.effective_pricing).toMatchObject({ period_usage: '4', free_tier_remaining: '6' });
      expect(res.body.unit_price).toBe('0');
      // and with no user either: the list pricing
      const list = await get(`${API}/products/advanced_agent/pricing?user_id=&subscription_id=`).expect(200);
      expect(list.body.effective_pricing.period_usage).toBe('0');
    });

    it('should treat every optional parameter of every list route as absent when empty', async () => {
      const user = newUser();
      await record({ user_id: user, product_id: 'gpt-4o', usage_amount: 10 }).expect(200);
      const sub = (
        await request(t.baseUrl).post(`${API}/subscriptions`).set(INTERNAL).send({ user_id: user, plan_id: 'tier_free_001' }).expect(200)
      ).body;
      const same: [string, string][] = [
        [`${API}/products`, `${API}/products?category_id=&product_type=&is_active=&q=&limit=&cursor=`],
        [`${API}/categories`, `${API}/categories?limit=&cursor=`],
        [`${API}/plans`, `${API}/plans?limit=&cursor=`],
        [`${API}/products/gpt-4o/availability`, `${API}/products/gpt-4o/availability?user_id=&organization_id=`],
        [
          `${API}/usage/records?user_id=${user}`,
          `${API}/usage/records?user_id=${user}&organization_id=&subscription_id=&product_id=&start_date=&end_date=&limit=&cursor=`,
        ],
        [
          `${API}/statistics/usage?user_id=${user}`,
          `${API}/statistics/usage?user_id=${user}&organization_id=&subscription_id=&product_id=&start_date=&end_date=`,
        ],
        [`${API}/subscriptions?user_id=${user}`, `${API}/subscriptions?user_id=${user}&organization_id=&plan_id=&status=&limit=&cursor=`],
        [`${API}/subscriptions/user/${user}`, `${API}/subscriptions/user/${user}?status=&limit=&cursor=`],
      ];
      for (const [plain, empties] of same) {
        const expected = await get(plain).expect(200);
        const res = await get(empties);
        expect([empties, res.status]).toEqual([empties, 200]);
        expect(res.body).toEqual(expected.body);
      }
      const records = (await get(`${API}/usage/records?user_id=${user}&subscription_id=`).expect(200)).body;
      expect(records).toHaveLength(1);
      expect((await get(`${API}/subscriptions/user/${user}?status=`).expect(200)).body[0].subscription_id).toBe(sub.subscription_id);
    });

    it('should still validate parameters that are given', async () => {
      expectError(await get(`${API}/usage/records?subscription_id=&limit=0`), 400, 'VALIDATION_ERROR', 'limit');
      expectError(await get(`${API}/subscriptions?status=&user_id=%00`), 400, 'VALIDATION_ERROR', 'user_id');
    });
  });

  describe('query booleans and product types', () => {
    it('should accept true/false/1/0 in any letter case for is_active, as Python writes them', async () => {
      const active = (await get(`${API}/products`).expect(200)).body.map((p: { product_id: string }) => p.product_id);
      const retired = (await get(`${API}/products?is_active=false`).expect(200)).body.map((p: { product_id: string }) => p.product_id);
      expect(retired).toEqual(['retired_agent']);
      for (const value of ['true', 'True', 'TRUE', 'tRuE', '1']) {
        const res = await get(`${API}/products?is_active=${value}`).expect(200);
        expect([value, res.body.map((p: { product_id: string }) => p.product_id)]).toEqual([value, active]);
      }
      for (const value of ['false', 'False', 'FALSE', '0']) {
        const res = await get(`${API}/products?is_active=${value}`).expect(200);
        expect([value, res.body.map((p: { product_id: string }) => p.product_id)]).toEqual([value, retired]);
      }
      for (const value of ['yes', 'T', 'no', 'truee', '2', 'on', ' true']) {
        expectError(await get(`${API}/products?is_active=${encodeURIComponent(value)}`), 400, 'VALIDATION_ERROR', 'is_active');
      }
    });

    it('should refuse an unknown product_type filter with 400 naming it; an unknown category matches nothing', async () => {
      expectError(await get(`${API}/products?product_type=bogus`), 400, 'VALIDATION_ERROR', 'product_type');
      expect((await get(`${API}/products?category_id=no_such_category`).expect(200)).body).toEqual([]);
      expect((await get(`${API}/products?product_type=agent_runtime`).expect(200)).body).toEqual([]);
      const storage = (await get(`${API}/products?product_type=storage_minio`).expect(200)).body;
      expect(storage.map((p: { product_id: string }) => p.product_id)).toEqual(['minio_storage']);
    });

    it('should create products of every platform type and list them everywhere types are listed', async () => {
      for (const type of ['model', 'storage', 'agent', 'agent_runtime', 'mcp_service']) {
        const res = await request(t.baseUrl)
          .post(`${API}/products`)
          .set(INTERNAL)
          .send({
            product_id: `compat_${type}`,
            name: `A ${type}`,
            category_id: 'ai_models',
            product_type: type,
            pricing: {
              pricing_type: 'usage_based',
              unit_type: 'request',
              currency: 'USD',
              tiers: [{ tier_name: 'base', min_units: '0', max_units: null, unit_price: '0.01' }],
            },
          });
        expect([type, res.status]).toEqual([type, 201]);
        const listed = (await get(`${API}/products?product_type=${type}`).expect(200)).body;
        expect(listed.map((p: { product_id: string }) => p.product_id)).toEqual([`compat_${type}`]);
      }
      const bad = await request(t.baseUrl)
        .post(`${API}/products`)
        .set(INTERNAL)
        .send({ product_id: 'x', name: 'x', category_id: 'ai_models', product_type: 'bogus', pricing: {} });
      expectError(bad, 400, 'VALIDATION_ERROR', 'product_type');

      const info = (await get(`${API}/info`, {}).expect(200)).body;
      expect(info.supported_product_types).toEqual(SPEC_PRODUCT_TYPES);
      expect(info.capabilities).toContain('product_catalog');
      const doc = (await get('/docs-json', {}).expect(200)).body;
      expect(doc.components.schemas.CreateProductDto.properties.product_type.enum).toEqual(SPEC_PRODUCT_TYPES);
      const filter = doc.paths[`${API}/products`].get.parameters.find((p: { name: string }) => p.name === 'product_type');
      expect(filter.schema.enum).toEqual(SPEC_PRODUCT_TYPES);
    });
  });

  describe('naive timestamps', () => {
    it('should read a timestamp without an offset as UTC, in bodies and in query filters', async () => {
      const user = newUser();
      const res = await record({ user_id: user, product_id: 'gpt-4o', usage_amount: 3, usage_timestamp: '2026-11-25T09:30:00' }).expect(
        200,
      );
      expect(res.body.timestamp).toBe('2026-11-25T09:30:00.000Z');
      const inside = await get(
        `${API}/usage/records?user_id=${user}&start_date=2026-11-25T09:00:00&end_date=2026-11-25T10:00:00&subscription_id=`,
      );
      expect(inside.status).toBe(200);
      expect(inside.body.map((r: { usage_record_id: string }) => r.usage_record_id)).toEqual([res.body.usage_record_id]);
      const after = await get(`${API}/usage/records?user_id=${user}&start_date=2026-11-25T09:31:00`).expect(200);
      expect(after.body).toEqual([]);
    });
  });

  describe('POST /api/v1/pricing/calculate', () => {
    it('should answer the billing service’s call with the list price over the paid tiers', async () => {
      const res = await quote({ product_id: 'gpt-4o-mini', quantity: 1500, unit_type: 'token', tier_code: 'standard' }).expect(200);
      expect(res.body).toEqual({
        success: true,
        product_id: 'gpt-4o-mini',
        quantity: '1500',
        unit_type: 'token',
        unit_price: '0.0000003',
        total_price: '0.00045',
        total_cost: '0.00045',
        currency: 'USD',
        pricing_found: true,
        pricing_model_id: 'gpt-4o-mini',
        tier_name: 'base',
        tier_breakdown: [
          {
            tier_name: 'base',
            min_quantity: '0',
            max_quantity: '10000000',
            unit_price: '0.0000003',
            currency: 'USD',
            units: '1500',
            cost: '0.00045',
          },
        ],
        plan_discount_applied: false,
        plan_discount_amount: '0',
        metadata: { tier_code: 'standard', billing_interval: 'monthly', product_type: 'model_inference', free_tier_applied: false },
      });
      // public, like the pricing read; nulls mean "not given"
      const anonymous = await quote({ product_id: 'minio_storage', quantity: '1073741824', unit_type: null, user_id: null }, {}).expect(
        200,
      );
      expect(anonymous.body).toMatchObject({ total_price: '0.024696061952', unit_price: '0.000000000023', tier_name: 'base' });
      expect(anonymous.body.metadata.tier_code).toBeNull();
    });

    it('should quote across tiers exactly, with each tier touched in the breakdown', async () => {
      const res = await quote({ product_id: 'advanced_agent', quantity: '1010.5' }).expect(200);
      expect(res.body.tier_breakdown.map((r: Record<string, unknown>) => [r.tier_name, r.units, r.cost])).toEqual([
        ['base', '1000', '500'],
        ['bulk', '10.5', '4.725'],
      ]);
      expect(res.body).toMatchObject({ total_price: '504.725', total_cost: '504.725', unit_price: '0.49948045522', tier_name: 'bulk' });
    });

    it('should quote the next units after the user’s usage this period: what recording them then charges', async () => {
      const user = newUser();
      await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 8 }).expect(200);
      const q = await quote({ product_id: 'advanced_agent', quantity: 5, user_id: user, subscription_id: null }).expect(200);
      expect(q.body.tier_breakdown).toEqual([
        { tier_name: 'free_tier', min_quantity: '0', max_quantity: '10', unit_price: '0', currency: 'USD', units: '2', cost: '0' },
        { tier_name: 'base', min_quantity: '0', max_quantity: '1000', unit_price: '0.5', currency: 'USD', units: '3', cost: '1.5' },
      ]);
      expect(q.body).toMatchObject({ total_price: '1.5', unit_price: '0.3', tier_name: 'base', metadata: { free_tier_applied: true } });
      const recorded = await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 5 }).expect(200);
      expect(recorded.body.total_cost).toBe(q.body.total_price);
      // the same quote now starts after those units
      const next = await quote({ product_id: 'advanced_agent', quantity: 5, user_id: user }).expect(200);
      expect(next.body).toMatchObject({ total_price: '2.5', metadata: { free_tier_applied: false } });
      // the SPEC minio example for a new user
      const fresh = newUser();
      const minio = await quote({ product_id: 'minio_storage', quantity: 2147483648, unit_type: 'byte', user_id: fresh }).expect(200);
      expect(minio.body).toMatchObject({ total_price: '0.024696061952', unit_price: '0.000000000012', tier_name: 'base' });
      expect(minio.body.tier_breakdown.map((r: { tier_name: string; units: string }) => [r.tier_name, r.units])).toEqual([
        ['free_tier', '1073741824'],
        ['base', '1073741824'],
      ]);
    });

    it("should count the subscription's period when a subscription is given, the calendar month otherwise", async () => {
      const user = newUser();
      const sub = (
        await request(t.baseUrl).post(`${API}/subscriptions`).set(INTERNAL).send({ user_id: user, plan_id: 'tier_free_001' }).expect(200)
      ).body;
      await record({ user_id: user, product_id: 'advanced_agent', usage_amount: 10, subscription_id: sub.subscription_id }).expect(200);
      const inSub = await quote({ product_id: 'advanced_agent', quantity: 2, user_id: user, subscription_id: sub.subscription_id }).expect(
        200,
      );
      expect(inSub.body).toMatchObject({ total_price: '1', metadata: { free_tier_applied: false, billing_interval: 'monthly' } });
      // httpx's None for the subscription: the calendar month, where this user has used nothing
      const noSub = await quote({ product_id: 'advanced_agent', quantity: 2, user_id: user, subscription_id: null }).expect(200);
      expect(noSub.body).toMatchObject({ total_price: '0', tier_name: 'free_tier', metadata: { free_tier_applied: true } });
    });

    it('should let users quote only for themselves and internal callers for anyone', async () => {
      const user = newUser();
      await quote({ product_id: 'gpt-4o', quantity: 1, user_id: user }, asUser(user)).expect(200);
      expectError(await quote({ product_id: 'gpt-4o', quantity: 1, user_id: 'someone_else' }, asUser(user)), 403, 'FORBIDDEN');
      expectError(await quote({ product_id: 'gpt-4o', quantity: 1, user_id: user }, {}), 401, 'UNAUTHORIZED');
      await quote({ product_id: 'gpt-4o', quantity: 1, user_id: 'someone_else' }).expect(200);
      await quote({ product_id: 'gpt-4o', quantity: 1 }, asUser(user)).expect(200);
    });

    it('should refuse bad input with 400 naming the field, and unknown or retired products with 404', async () => {
      expectError(await quote({ product_id: 'gpt-4o', quantity: 1, unit_type: 'request' }), 400, 'VALIDATION_ERROR', 'unit_type');
      expectError(await quote({ product_id: 'nope', quantity: 1 }), 404, 'PRODUCT_NOT_FOUND');
      expectError(await quote({ product_id: 'retired_agent', quantity: 1 }), 404, 'PRODUCT_NOT_FOUND');
      for (const quantity of [-1, '-1', '1e3', 'abc', '', null, true, [1], { n: 1 }, 1e300, '1.5.5']) {
        expectError(await quote({ product_id: 'gpt-4o', quantity }), 400, 'VALIDATION_ERROR', 'quantity');
      }
      expectError(await quote({ product_id: 'gpt-4o' }), 400, 'VALIDATION_ERROR', 'quantity');
      expectError(await quote({ product_id: 'gpt-4o', quantity: 1, price: 2 }), 400, 'VALIDATION_ERROR', 'price');
      expectError(await quote({ product_id: 'gpt-4o', quantity: 1, subscription_id: 'sub_1' }), 400, 'VALIDATION_ERROR', 'subscription_id');
      expectError(await quote({ product_id: 'gpt-4o', quantity: 1, user_id: 'a\u0000b' }), 400, 'VALIDATION_ERROR', 'user_id');
      expectError(await quote([1, 2]), 400, 'VALIDATION_ERROR');
      const zero = await quote({ product_id: 'gpt-4o', quantity: 0 }).expect(200);
      expect(zero.body).toMatchObject({ quantity: '0', total_price: '0', unit_price: '0', tier_breakdown: [], tier_name: 'base' });
      // served at the platform's path only
      await request(t.baseUrl).post(`${API}/pricing/calculate`).set(INTERNAL).send({ product_id: 'gpt-4o', quantity: 1 }).expect(404);
    });
  });

  describe('shapes the platform’s tests read', () => {
    it('should give /health its port, and answer the same at /api/v1/products/health and /api/v1/product/health', async () => {
      const port = Number(new URL(t.baseUrl).port);
      const health = (await request(t.baseUrl).get('/health').expect(200)).body;
      expect(health).toMatchObject({ service: 'product_service', port, status: expect.stringMatching(/^(healthy|degraded)$/) });
      for (const alias of ['/api/v1/products/health', '/api/v1/product/health']) {
        const res = await request(t.baseUrl).get(alias).expect(200);
        expect(Object.keys(res.body)).toEqual(Object.keys(health));
        expect(res.body).toMatchObject({ service: 'product_service', port, dependencies: { database: { status: 'healthy' } } });
      }
    });

    it('should carry service, timestamp and the counts nested under statistics in /statistics/service', async () => {
      const res = await get(`${API}/statistics/service`).expect(200);
      expect(res.body).toMatchObject({ service: 'product_service', timestamp: NOW });
      const counts = [
        'total_products',
        'active_subscriptions',
        'total_subscriptions',
        'subscriptions_by_status',
        'usage_records_24h',
        'usage_records_7d',
        'usage_records_30d',
      ];
      expect(Object.keys(res.body.statistics)).toEqual(counts);
      for (const key of counts) expect([key, res.body.statistics[key]]).toEqual([key, res.body[key]]);
      expect(res.body.statistics.usage_records_24h).toBeGreaterThan(0);
    });

    it('should put plan_tier in subscription.activated', async () => {
      const user = newUser();
      const sub = (
        await request(t.baseUrl)
          .post(`${API}/subscriptions`)
          .set(INTERNAL)
          .send({ user_id: user, plan_id: 'tier_pro_001', trial: false })
          .expect(200)
      ).body;
      expect(sub.status).toBe('incomplete');
      await request(t.baseUrl)
        .put(`${API}/subscriptions/${sub.subscription_id}/status`)
        .set(INTERNAL)
        .send({ status: 'active', reason: 'payment_completed' })
        .expect(200);
      const [activated] = await db.outbox('subscription.activated', sub.subscription_id);
      expect(activated.data).toMatchObject({
        subscription_id: sub.subscription_id,
        plan_id: 'tier_pro_001',
        plan_tier: 'pro',
        new_status: 'active',
      });
      const [changed] = await db.outbox('subscription.status_changed', sub.subscription_id);
      expect(changed.data).not.toHaveProperty('plan_tier');
      const asyncapi = (await request(t.baseUrl).get('/docs/asyncapi.json').expect(200)).body;
      expect(asyncapi.components.schemas.SubscriptionActivatedEvent.properties.plan_tier).toMatchObject({ type: 'string' });
      expect(asyncapi.components.schemas.SubscriptionActivatedEvent.required).toContain('plan_tier');
      expect(asyncapi.components.schemas.SubscriptionStatusChangedEvent.properties).not.toHaveProperty('plan_tier');
    });
  });
});
