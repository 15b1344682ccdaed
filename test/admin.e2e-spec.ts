import pg from 'pg';
import request from 'supertest';
import { ManualClock } from '../src/common/clock/clock.js';
import { CatalogStore } from '../src/product/catalog/catalog-store.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/** Jest ignores the e2e project's testTimeout: hooks and tests that start apps say theirs. */
const SLOW = 120_000;
const NOW = '2026-11-20T10:00:00.000Z';
const ADMIN = `${API}/admin`;
const USER = { 'X-User-Id': 'user_1' };

const tiers = () => [
  { tier_name: 'base', min_units: '0', max_units: '100', unit_price: '0.50' },
  { tier_name: 'bulk', min_units: '100', max_units: null, unit_price: '0.25' },
];
const pricing = (extra: Record<string, unknown> = {}) => ({
  pricing_type: 'usage_based',
  unit_type: 'token',
  currency: 'USD',
  free_tier_limit: '10',
  free_tier_period: 'monthly',
  tiers: tiers(),
  ...extra,
});
const product = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  product_id: id,
  name: `Product ${id}`,
  product_code: null,
  description: 'made by the admin test',
  category_id: 'ai_models',
  product_type: 'model_inference',
  provider: 'test',
  features: ['x'],
  quota_limits: {},
  metadata: { k: 'v' },
  requires_subscription: false,
  pricing: pricing(),
  ...extra,
});

interface AuditRow {
  audit_id: string;
  at: string;
  principal: { kind: string; id: string | null };
  action: string;
  resource_type: string;
  resource_id: string;
  before: Record<string, any> | null; // eslint-disable-line @typescript-eslint/no-explicit-any -- test assertions
  after: Record<string, any> | null; // eslint-disable-line @typescript-eslint/no-explicit-any -- test assertions
  request_id: string | null;
}

/**
 * The admin catalog routes (SPEC section 7) over the catalog's own rules, the catalog-alignment
 * check, and the audit trail of every catalog, admin and cost-definition write (written in the
 * write's transaction; listed newest first with filters and keyset paging).
 */
describe('admin routes and the audit trail (PostgreSQL)', () => {
  const clock = new ManualClock(NOW);
  let t: TestApp;
  let db: pg.Client;

  const count = async (sql: string, params: unknown[] = []): Promise<number> => (await db.query(sql, params)).rows[0].n as number;
  const auditCount = () => count('SELECT count(*)::int AS n FROM audit_log');
  const outboxCount = () => count('SELECT count(*)::int AS n FROM outbox_events');
  const audit = async (query: string): Promise<AuditRow[]> =>
    (await request(t.baseUrl).get(`${ADMIN}/audit?${query}`).set(INTERNAL).expect(200)).body as AuditRow[];
  const tierIds = async (productId: string): Promise<string[]> =>
    (await db.query('SELECT pricing_id FROM product_price_tiers WHERE product_id = $1 ORDER BY tier_index', [productId])).rows.map(
      (r) => r.pricing_id as string,
    );
  const createProduct = (id: string, extra: Record<string, unknown> = {}) =>
    request(t.baseUrl).post(`${ADMIN}/products`).set(INTERNAL).send(product(id, extra)).expect(201);

  beforeAll(async () => {
    t = await startTestApp({ clock });
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  }, SLOW);
  afterAll(async () => {
    await db?.end();
    await t?.close();
  }, SLOW);
  beforeEach(() => clock.set(NOW));

  it('should refuse every admin route to callers without internal credentials (401) and to users (403)', async () => {
    const routes = [
      ['post', `${ADMIN}/products`],
      ['put', `${ADMIN}/products/gpt-4o`],
      ['delete', `${ADMIN}/products/gpt-4o`],
      ['post', `${ADMIN}/products/gpt-4o/pricing`],
      ['put', `${ADMIN}/pricing/00000000-0000-4000-8000-000000000000`],
      ['get', `${ADMIN}/health/catalog-alignment`],
      ['get', `${ADMIN}/audit`],
    ] as const;
    for (const [method, path] of routes) {
      const anonymous = await request(t.baseUrl)[method](path);
      expect([method, path, anonymous.status, anonymous.body.error?.code]).toEqual([method, path, 401, 'UNAUTHORIZED']);
      const user = await request(t.baseUrl)[method](path).set(USER);
      expect([method, path, user.status, user.body.error?.code]).toEqual([method, path, 403, 'FORBIDDEN']);
    }
    // nothing was written by the refused calls
    expect((await request(t.baseUrl).get(`${API}/products/gpt-4o`).expect(200)).body.is_active).toBe(true);
  });

  describe('products', () => {
    it('should create with POST /admin/products (201) by the catalog rules: duplicates 409, broken tier tables 400', async () => {
      const res = await createProduct('a1');
      expect(res.body).toMatchObject({ ...product('a1'), is_active: true, created_at: NOW });
      expect((await request(t.baseUrl).get(`${API}/products/a1`).expect(200)).body).toEqual(res.body);
      expect((await request(t.baseUrl).post(`${ADMIN}/products`).set(INTERNAL).send(product('a1')).expect(409)).body.error.code).toBe(
        'PRODUCT_EXISTS',
      );
      const broken = product('a2', { pricing: pricing({ tiers: [{ tier_name: 'x', min_units: '5', max_units: null, unit_price: '1' }] }) });
      const bad = await request(t.baseUrl).post(`${ADMIN}/products`).set(INTERNAL).send(broken).expect(400);
      expect(bad.body.error).toMatchObject({ code: 'INVALID_TIERS', details: [{ field: 'pricing.tiers[0].min_units' }] });
      await request(t.baseUrl)
        .post(`${ADMIN}/products`)
        .set(INTERNAL)
        .send({ ...product('a3'), bogus: 1 })
        .expect(400);
    });

    it('should replace the whole product with PUT: absent fields take their defaults, a given pricing replaces the tiers', async () => {
      await createProduct('a4', { product_code: 'A4', description: 'old' });
      clock.set('2026-11-20T11:00:00.000Z');
      const { product_id: _id, pricing: _p, ...body } = product('a4');
      const res = await request(t.baseUrl)
        .put(`${ADMIN}/products/a4`)
        .set(INTERNAL)
        .send({ ...body, name: 'Renamed', description: undefined, product_code: undefined })
        .expect(200);
      expect(res.body).toMatchObject({
        product_id: 'a4',
        name: 'Renamed',
        description: null,
        product_code: null,
        updated_at: '2026-11-20T11:00:00.000Z',
      });
      expect(res.body.pricing.tiers).toEqual(tiers());
      const newTiers = [{ tier_name: 'flat', min_units: '0', max_units: null, unit_price: '0.10' }];
      const repriced = await request(t.baseUrl)
        .put(`${ADMIN}/products/a4`)
        .set(INTERNAL)
        .send({ ...product('a4'), pricing: pricing({ tiers: newTiers }) })
        .expect(200);
      expect(repriced.body.pricing.tiers).toEqual(newTiers);
      expect((await request(t.baseUrl).get(`${API}/products/a4`).expect(200)).body.pricing.tiers).toEqual(newTiers);
      // only the name differs from what is stored: one product event, no pricing event (the pricing is as it is)
      const seen = (await db.query(`SELECT 1 FROM outbox_events WHERE aggregate_id IN ('product:a4', 'pricing:a4')`)).rows;
      await request(t.baseUrl)
        .put(`${ADMIN}/products/a4`)
        .set(INTERNAL)
        .send({ ...product('a4'), name: 'Renamed again', pricing: pricing({ tiers: newTiers }) })
        .expect(200);
      const events = (
        await db.query(`SELECT envelope->'data' AS data FROM outbox_events WHERE aggregate_id IN ('product:a4', 'pricing:a4') ORDER BY seq`)
      ).rows;
      expect(events.slice(seen.length).map((e: { data: unknown }) => e.data)).toEqual([{ entity: 'product', id: 'a4', change: 'updated' }]);
      // the same whole product again: nothing
      await request(t.baseUrl)
        .put(`${ADMIN}/products/a4`)
        .set(INTERNAL)
        .send({ ...product('a4'), name: 'Renamed again', pricing: pricing({ tiers: newTiers }) })
        .expect(200);
      expect((await db.query(`SELECT 1 FROM outbox_events WHERE aggregate_id IN ('product:a4', 'pricing:a4')`)).rows).toHaveLength(
        seen.length + 1,
      );
      // pricing: null is "not given" (SPEC 1): the pricing stays (it had been a 500)
      const { pricing: _given, ...withoutPricing } = product('a4');
      const kept = await request(t.baseUrl)
        .put(`${ADMIN}/products/a4`)
        .set(INTERNAL)
        .send({ ...withoutPricing, name: 'Renamed again', pricing: null })
        .expect(200);
      expect(kept.body.pricing.tiers).toEqual(newTiers);
      const mismatch = await request(t.baseUrl).put(`${ADMIN}/products/a4`).set(INTERNAL).send(product('other')).expect(400);
      expect(mismatch.body.error.details[0].field).toBe('product_id');
      await request(t.baseUrl).put(`${ADMIN}/products/nope`).set(INTERNAL).send(product('nope')).expect(404);
      await request(t.baseUrl).put(`${ADMIN}/products/a4`).set(INTERNAL).send({ name: 'only a name' }).expect(400);
    });

    it('should roll a whole PUT back when it fails after replacing the pricing: tiers, events and audit untouched', async () => {
      await createProduct('a5');
      const tiersBefore = await tierIds('a5');
      const [outboxBefore, auditBefore] = [await outboxCount(), await auditCount()];
      const res = await request(t.baseUrl)
        .put(`${ADMIN}/products/a5`)
        .set(INTERNAL)
        .send({
          ...product('a5'),
          category_id: 'no_such_category',
          pricing: pricing({ tiers: [{ tier_name: 'f', min_units: '0', max_units: null, unit_price: '9' }] }),
        })
        .expect(422);
      expect(res.body.error.code).toBe('CATEGORY_NOT_FOUND');
      expect(await tierIds('a5')).toEqual(tiersBefore);
      expect([await outboxCount(), await auditCount()]).toEqual([outboxBefore, auditBefore]);
    });

    it('should retire with DELETE (200 {success, product_id}), never hard-delete, and answer a repeat the same without a second change', async () => {
      await createProduct('a6');
      // a body with fields is refused as every body with unknown fields is (it had been ignored, and the product retired)
      const refused = await request(t.baseUrl).delete(`${ADMIN}/products/a6`).set(INTERNAL).send({ bogus: 1 }).expect(400);
      expect(refused.body.error.details).toEqual([{ field: 'bogus', message: 'bogus is not an allowed field' }]);
      await request(t.baseUrl).delete(`${ADMIN}/products/a6`).set(INTERNAL).send([1, 2]).expect(400);
      expect((await request(t.baseUrl).get(`${API}/products/a6`).expect(200)).body.is_active).toBe(true);
      await request(t.baseUrl).delete(`${ADMIN}/products/a6`).set(INTERNAL).send({}).expect(200);
      const res = await request(t.baseUrl).delete(`${ADMIN}/products/a6`).set(INTERNAL).expect(200);
      expect(res.body).toEqual({ success: true, product_id: 'a6' });
      expect((await request(t.baseUrl).get(`${API}/products/a6`).expect(200)).body.is_active).toBe(false);
      const retired = await request(t.baseUrl).get(`${API}/products?is_active=false`).expect(200);
      expect(retired.body.map((p: { product_id: string }) => p.product_id)).toContain('a6');
      expect(await count(`SELECT count(*)::int AS n FROM products WHERE product_id = 'a6'`)).toBe(1);
      const events = await db.query(`SELECT envelope->'data' AS data FROM outbox_events WHERE aggregate_id = 'product:a6' ORDER BY seq`);
      expect(events.rows.map((r) => r.data)).toEqual([
        { entity: 'product', id: 'a6', change: 'created' },
        { entity: 'product', id: 'a6', change: 'retired' },
      ]);
      const [outboxBefore, auditBefore] = [await outboxCount(), await auditCount()];
      expect((await request(t.baseUrl).delete(`${ADMIN}/products/a6`).set(INTERNAL).expect(200)).body).toEqual({
        success: true,
        product_id: 'a6',
      });
      expect([await outboxCount(), await auditCount()]).toEqual([outboxBefore, auditBefore]);
      // a retired product takes no usage
      const usage = await request(t.baseUrl)
        .post(`${API}/usage/record`)
        .set(INTERNAL)
        .send({ user_id: 'u1', product_id: 'a6', usage_amount: 1 });
      expect([usage.status, usage.body.error.code]).toEqual([422, 'PRODUCT_INACTIVE']);
      expect((await request(t.baseUrl).delete(`${ADMIN}/products/nope`).set(INTERNAL).expect(404)).body.error.code).toBe(
        'PRODUCT_NOT_FOUND',
      );
      // a PUT without is_active leaves it retired; is_active true brings it back
      await request(t.baseUrl).put(`${ADMIN}/products/a6`).set(INTERNAL).send(product('a6')).expect(200);
      expect((await request(t.baseUrl).get(`${API}/products/a6`).expect(200)).body.is_active).toBe(false);
      await request(t.baseUrl)
        .put(`${ADMIN}/products/a6`)
        .set(INTERNAL)
        .send(product('a6', { is_active: true }))
        .expect(200);
      expect((await request(t.baseUrl).get(`${API}/products/a6`).expect(200)).body.is_active).toBe(true);
    });
  });

  describe('pricing', () => {
    it('should replace the tier table with POST /admin/products/{id}/pricing (201), with new pricing ids', async () => {
      await createProduct('p1');
      const before = await tierIds('p1');
      const table = [
        { tier_name: 't0', min_units: '0', max_units: '10', unit_price: '1' },
        { tier_name: 't1', min_units: '10', max_units: '20', unit_price: '0.9' },
        { tier_name: 't2', min_units: '20', max_units: null, unit_price: '0.8' },
      ];
      const res = await request(t.baseUrl)
        .post(`${ADMIN}/products/p1/pricing`)
        .set(INTERNAL)
        .send(pricing({ tiers: table }))
        .expect(201);
      expect(res.body.pricing.tiers).toEqual(table);
      const after = await tierIds('p1');
      expect(after).toHaveLength(3);
      expect(after.filter((id) => before.includes(id))).toEqual([]);
      await request(t.baseUrl)
        .post(`${ADMIN}/products/p1/pricing`)
        .set(INTERNAL)
        .send(pricing({ tiers: [table[1]] }))
        .expect(400);
      await request(t.baseUrl).post(`${ADMIN}/products/nope/pricing`).set(INTERNAL).send(pricing()).expect(404);
    });

    it('should replace one tier row by its pricing_id with PUT /admin/pricing/{pricing_id}, keeping its id', async () => {
      await createProduct('p2');
      const [base, bulk] = await tierIds('p2');
      const res = await request(t.baseUrl)
        .put(`${ADMIN}/pricing/${base}`)
        .set(INTERNAL)
        .send({ tier_name: 'starter', min_units: '0', max_units: '100', unit_price: '0.45' })
        .expect(200);
      expect(res.body.pricing.tiers[0]).toEqual({ tier_name: 'starter', min_units: '0', max_units: '100', unit_price: '0.45' });
      expect(res.body.pricing.tiers[1]).toEqual(tiers()[1]);
      expect(await tierIds('p2')).toEqual([base, bulk]);
      expect((await request(t.baseUrl).get(`${API}/products/p2/pricing`).expect(200)).body.unit_price).toBe('0.45');
      const events = await db.query(`SELECT envelope->'data' AS data FROM outbox_events WHERE aggregate_id = 'pricing:p2' ORDER BY seq`);
      expect(events.rows.map((r) => r.data)).toEqual([{ entity: 'pricing', id: 'p2', change: 'updated' }]);
      // the last tier may move its start together with the previous tier's end only: one row alone breaks the table
      // the id in upper case names the same row (a uuid's letter case says nothing; it had been a 404)
      await request(t.baseUrl)
        .put(`${ADMIN}/pricing/${bulk.toUpperCase()}`)
        .set(INTERNAL)
        .send({ tier_name: 'bulk', min_units: '100', max_units: null, unit_price: '0.20' })
        .expect(200);
    });

    it('should refuse a tier row that breaks the table’s contiguity (400 INVALID_TIERS), changing nothing and auditing nothing', async () => {
      await createProduct('p3');
      const [base, bulk] = await tierIds('p3');
      const [outboxBefore, auditBefore] = [await outboxCount(), await auditCount()];
      const gap = await request(t.baseUrl)
        .put(`${ADMIN}/pricing/${base}`)
        .set(INTERNAL)
        .send({ tier_name: 'base', min_units: '0', max_units: '50', unit_price: '0.50' })
        .expect(400);
      expect(gap.body.error).toMatchObject({
        code: 'INVALID_TIERS',
        details: [{ field: 'tiers[1].min_units', message: "must equal the previous tier's max_units (50)" }],
      });
      const unbounded = await request(t.baseUrl)
        .put(`${ADMIN}/pricing/${base}`)
        .set(INTERNAL)
        .send({ tier_name: 'base', min_units: '0', max_units: null, unit_price: '0.50' })
        .expect(400);
      expect(unbounded.body.error.code).toBe('INVALID_TIERS');
      const shifted = await request(t.baseUrl)
        .put(`${ADMIN}/pricing/${bulk}`)
        .set(INTERNAL)
        .send({ tier_name: 'bulk', min_units: '90', max_units: null, unit_price: '0.25' })
        .expect(400);
      expect(shifted.body.error.details[0].field).toBe('tiers[1].min_units');
      expect((await request(t.baseUrl).get(`${API}/products/p3`).expect(200)).body.pricing.tiers).toEqual(tiers());
      expect([await outboxCount(), await auditCount()]).toEqual([outboxBefore, auditBefore]);
      // unknown, malformed and incomplete
      const unknown = await request(t.baseUrl)
        .put(`${ADMIN}/pricing/00000000-0000-4000-8000-000000000000`)
        .set(INTERNAL)
        .send(tiers()[0])
        .expect(404);
      expect(unknown.body.error.code).toBe('PRICING_NOT_FOUND');
      await request(t.baseUrl).put(`${ADMIN}/pricing/not-a-uuid`).set(INTERNAL).send(tiers()[0]).expect(404);
      await request(t.baseUrl).put(`${ADMIN}/pricing/${base}`).set(INTERNAL).send({ unit_price: '0.1' }).expect(400);
      await request(t.baseUrl)
        .put(`${ADMIN}/pricing/${base}`)
        .set(INTERNAL)
        .send({ ...tiers()[0], unit_price: 0.1 })
        .expect(400);
    });
  });

  describe('catalog alignment', () => {
    it('should report products without pricing, plans with unknown products and cost definitions without a product', async () => {
      const first = await request(t.baseUrl).get(`${ADMIN}/health/catalog-alignment`).set(INTERNAL).expect(200);
      expect(first.body).toEqual({
        aligned: true,
        products_without_pricing: [],
        plans_with_unknown_products: [],
        cost_definitions_without_product: [],
      });
      // what the API refuses to write, done by hand; then what the API allows
      await createProduct('al_bare');
      await db.query(`DELETE FROM product_price_tiers WHERE product_id = 'al_bare'`);
      await db.query(
        `UPDATE service_plans SET included_products = included_products || '[{"product_id": "ghost_1", "included_amount": null}]'::jsonb
         WHERE plan_id = 'tier_pro_001'`,
      );
      await t.app.get(CatalogStore).refresh();
      const cost = { service_type: 'model_inference', cost_per_unit: '1', unit_type: 'token' };
      await request(t.baseUrl)
        .post(`${ADMIN}/cost-definitions`)
        .set(INTERNAL)
        .send({ ...cost, cost_id: 'al_ghost', product_id: 'ghost_2' })
        .expect(201);
      await request(t.baseUrl)
        .post(`${ADMIN}/cost-definitions`)
        .set(INTERNAL)
        .send({ ...cost, cost_id: 'al_real', product_id: 'gpt-4o' })
        .expect(201);
      await request(t.baseUrl)
        .post(`${ADMIN}/cost-definitions`)
        .set(INTERNAL)
        .send({ ...cost, cost_id: 'al_retired', product_id: 'ghost_3', is_active: false })
        .expect(201);
      const res = await request(t.baseUrl).get(`${ADMIN}/health/catalog-alignment`).set(INTERNAL).expect(200);
      expect(res.body).toEqual({
        aligned: false,
        products_without_pricing: ['al_bare'],
        plans_with_unknown_products: [{ plan_id: 'tier_pro_001', unknown_products: ['ghost_1'] }],
        cost_definitions_without_product: [{ cost_id: 'al_ghost', product_id: 'ghost_2' }],
      });
      // retiring the bare product takes it out of the report
      await request(t.baseUrl).delete(`${ADMIN}/products/al_bare`).set(INTERNAL).expect(200);
      const after = await request(t.baseUrl).get(`${ADMIN}/health/catalog-alignment`).set(INTERNAL).expect(200);
      expect(after.body.products_without_pricing).toEqual([]);
    });
  });

  describe('audit trail', () => {
    it('should record every catalog, admin and cost-definition write with who, when, what, before, after and the request id', async () => {
      const stamp = (at: string) => clock.set(at);
      stamp('2026-11-21T09:00:00.000Z');
      await request(t.baseUrl).post(`${ADMIN}/products`).set(INTERNAL).set('X-Request-Id', 'req-au-1').send(product('au1')).expect(201);
      stamp('2026-11-21T09:01:00.000Z');
      await request(t.baseUrl)
        .patch(`${API}/products/au1`)
        .set(INTERNAL)
        .set('X-Request-Id', 'req-au-2')
        .send({ name: 'Au one' })
        .expect(200);
      stamp('2026-11-21T09:02:00.000Z');
      await request(t.baseUrl)
        .put(`${API}/products/au1/pricing`)
        .set(INTERNAL)
        .send(pricing({ free_tier_limit: '0' }))
        .expect(200);
      stamp('2026-11-21T09:03:00.000Z');
      const [base] = await tierIds('au1');
      await request(t.baseUrl)
        .put(`${ADMIN}/pricing/${base}`)
        .set(INTERNAL)
        .send({ tier_name: 'base', min_units: '0', max_units: '100', unit_price: '0.55' })
        .expect(200);
      stamp('2026-11-21T09:04:00.000Z');
      await request(t.baseUrl)
        .put(`${ADMIN}/products/au1`)
        .set(INTERNAL)
        .send(product('au1', { name: 'Au 1' }))
        .expect(200);
      stamp('2026-11-21T09:05:00.000Z');
      await request(t.baseUrl).delete(`${ADMIN}/products/au1`).set(INTERNAL).set('X-Request-Id', 'req-au-6').expect(200);

      const entries = await audit('resource_type=product&resource_id=au1');
      expect(entries.map((e) => [e.action, e.at])).toEqual([
        ['retire', '2026-11-21T09:05:00.000Z'],
        ['replace', '2026-11-21T09:04:00.000Z'],
        ['update_tier', '2026-11-21T09:03:00.000Z'],
        ['replace_pricing', '2026-11-21T09:02:00.000Z'],
        ['update', '2026-11-21T09:01:00.000Z'],
        ['create', '2026-11-21T09:00:00.000Z'],
      ]);
      for (const e of entries)
        expect(e).toMatchObject({ principal: { kind: 'internal', id: null }, resource_type: 'product', resource_id: 'au1' });
      const [retire, , tier, , update, create] = entries;
      expect(create).toMatchObject({
        before: null,
        after: { product_id: 'au1', name: 'Product au1', is_active: true },
        request_id: 'req-au-1',
      });
      expect(update).toMatchObject({ before: { name: 'Product au1' }, after: { name: 'Au one' }, request_id: 'req-au-2' });
      expect(tier.before!.pricing.tiers[0].unit_price).toBe('0.50');
      expect(tier.after!.pricing.tiers[0].unit_price).toBe('0.55');
      expect(retire).toMatchObject({ before: { is_active: true }, after: { is_active: false }, request_id: 'req-au-6' });
      expect(retire.audit_id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('should audit categories, plans and cost definitions too, and an idempotent replay once', async () => {
      clock.set('2026-11-22T09:00:00.000Z');
      await request(t.baseUrl).post(`${API}/categories`).set(INTERNAL).send({ category_id: 'au_cat', name: 'Audited' }).expect(201);
      await request(t.baseUrl).patch(`${API}/plans/tier_max_001`).set(INTERNAL).send({ is_active: false }).expect(200);
      await request(t.baseUrl).patch(`${API}/plans/tier_max_001`).set(INTERNAL).send({ is_active: true }).expect(200);
      const cost = { cost_id: 'au_cost', service_type: 'computation', cost_per_unit: '1', unit_type: 'second' };
      for (let i = 0; i < 2; i++) {
        await request(t.baseUrl).post(`${ADMIN}/cost-definitions`).set(INTERNAL).set('Idempotency-Key', 'au-cost').send(cost).expect(201);
      }
      await request(t.baseUrl).put(`${ADMIN}/cost-definitions/au_cost`).set(INTERNAL).send({ is_active: false }).expect(200);
      expect((await audit('resource_type=category&resource_id=au_cat')).map((e) => e.action)).toEqual(['create']);
      const plan = await audit('resource_type=plan&resource_id=tier_max_001');
      expect(plan.map((e) => e.action)).toEqual(['update', 'retire']);
      expect(plan[1]).toMatchObject({ before: { is_active: true }, after: { is_active: false } });
      const costs = await audit('resource_type=cost_definition&resource_id=au_cost');
      expect(costs.map((e) => [e.action, e.before?.is_active ?? null, e.after?.is_active])).toEqual([
        ['retire', true, false],
        ['create', null, true],
      ]);
    });

    it('should leave no audit row for refused writes', async () => {
      await createProduct('au2', { product_code: 'AU2' });
      const before = await auditCount();
      await request(t.baseUrl).post(`${ADMIN}/products`).set(INTERNAL).send(product('au2')).expect(409);
      await request(t.baseUrl).patch(`${API}/products/au2`).set(INTERNAL).send({ product_code: 'GPT4O-MINI' }).expect(409);
      await request(t.baseUrl).patch(`${API}/products/au2`).set(INTERNAL).send({ category_id: 'nope' }).expect(422);
      await request(t.baseUrl).post(`${API}/categories`).set(INTERNAL).send({ category_id: 'ai_models', name: 'dup' }).expect(409);
      await request(t.baseUrl).patch(`${API}/plans/nope`).set(INTERNAL).send({ name: 'x' }).expect(404);
      await request(t.baseUrl)
        .post(`${ADMIN}/cost-definitions/rotate`)
        .set(INTERNAL)
        .send([
          { cost_id: 'au_rot_1', service_type: 'computation', cost_per_unit: '1', unit_type: 'second' },
          { cost_id: 'au_rot_1', service_type: 'other', cost_per_unit: '1', unit_type: 'second' },
        ])
        .expect(409);
      expect(await auditCount()).toBe(before);
    });

    it('should filter by resource and time window and page newest first with Link and X-Next-Cursor', async () => {
      const times = ['2026-11-23T10:00:00.000Z', '2026-11-23T11:00:00.000Z', '2026-11-23T12:00:00.000Z', '2026-11-23T13:00:00.000Z'];
      for (const [i, at] of times.entries()) {
        clock.set(at);
        await request(t.baseUrl)
          .post(`${API}/categories`)
          .set(INTERNAL)
          .send({ category_id: `au_page_${i}`, name: `Page ${i}` })
          .expect(201);
      }
      const window = await audit('resource_type=category&start=2026-11-23T11:00:00&end=2026-11-23T13:00:00Z');
      expect(window.map((e) => e.resource_id)).toEqual(['au_page_2', 'au_page_1']);
      expect((await audit('start=2026-11-24')).length).toBe(0);
      const seen: string[] = [];
      let url: string | undefined = `${ADMIN}/audit?resource_type=category&start=2026-11-23&limit=3`;
      let pages = 0;
      while (url) {
        const res: request.Response = await request(t.baseUrl).get(url).set(INTERNAL).expect(200);
        pages++;
        seen.push(...res.body.map((e: AuditRow) => e.resource_id));
        url = res.headers['x-next-cursor'] ? /<([^>]+)>/.exec(res.headers.link)![1] : undefined;
      }
      expect([pages, seen]).toEqual([2, ['au_page_3', 'au_page_2', 'au_page_1', 'au_page_0']]);
      const all = await audit('limit=200');
      // newest first = most recently written (this test's clock jumps back and forth)
      const written = await db.query(`SELECT audit_id FROM audit_log ORDER BY seq DESC LIMIT 200`);
      expect(all.map((e) => e.audit_id)).toEqual(written.rows.map((r) => r.audit_id));
      for (const bad of ['resource_type=bogus', 'start=yesterday', 'limit=0', 'cursor=nope', 'resource_id=a%00b']) {
        const res = await request(t.baseUrl).get(`${ADMIN}/audit?${bad}`).set(INTERNAL);
        expect([bad, res.status]).toEqual([bad, 400]);
      }
    });
  });
});
