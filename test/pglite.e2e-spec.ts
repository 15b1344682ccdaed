import request from 'supertest';
import { CATALOG_SEED } from '../src/database/seed/catalog-data.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/** Jest ignores the e2e project's testTimeout: hooks and tests that start apps say theirs. */
const SLOW = 120_000;

/** The default database: embedded PGlite (in memory) with migrations, seed, reads and a write. */
describe('catalog on embedded PGlite', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ pglite: true });
  }, SLOW);
  afterAll(async () => {
    await t?.close();
  }, SLOW);

  it('should apply the migrations and report ready', async () => {
    const res = await request(t.baseUrl).get('/health/ready').expect(200);
    expect(res.body.status).toBe('ok');
  });

  it('should seed the reference catalog', async () => {
    const products = await request(t.baseUrl).get(`${API}/products?limit=200`).expect(200);
    expect(products.body).toHaveLength(CATALOG_SEED.products.length);
    const plans = await request(t.baseUrl).get(`${API}/plans`).set(INTERNAL).expect(200);
    expect(plans.body).toHaveLength(CATALOG_SEED.plans.length);
    const categories = await request(t.baseUrl).get(`${API}/categories`).expect(200);
    expect(categories.body).toHaveLength(CATALOG_SEED.categories.length);
  });

  it('should page, search and price like on PostgreSQL', async () => {
    const first = await request(t.baseUrl).get(`${API}/products?limit=4`).expect(200);
    expect(first.body).toHaveLength(4);
    const next = await request(t.baseUrl).get(`${API}/products?limit=4&cursor=${first.headers['x-next-cursor']}`).expect(200);
    expect(next.body[0].product_id > first.body[3].product_id).toBe(true);
    const search = await request(t.baseUrl).get(`${API}/products?q=MINIO`).expect(200);
    expect(search.body.map((p: { product_id: string }) => p.product_id)).toEqual(['minio_storage']);
    const pricing = await request(t.baseUrl).get(`${API}/products/minio_storage/pricing`).expect(200);
    expect(pricing.body.pricing_model).toMatchObject({
      base_unit_price: '0.000000000023',
      free_tier_limit: '1073741824',
      tier_mode: 'graduated',
    });
  });

  it('should create a product and retire it', async () => {
    const body = {
      product_id: 'pglite_product',
      name: 'PGlite product',
      category_id: 'storage',
      product_type: 'storage_minio',
      pricing: {
        pricing_type: 'usage_based',
        unit_type: 'byte',
        currency: 'USD',
        tiers: [{ tier_name: 'base', min_units: '0', max_units: null, unit_price: '0.1' }],
      },
    };
    const created = await request(t.baseUrl).post(`${API}/products`).set(INTERNAL).send(body).expect(201);
    expect(created.body).toMatchObject({ product_id: 'pglite_product', product_code: null, features: [], is_active: true });
    await request(t.baseUrl).post(`${API}/products`).set(INTERNAL).send(body).expect(409);
    const retired = await request(t.baseUrl).patch(`${API}/products/pglite_product`).set(INTERNAL).send({ is_active: false }).expect(200);
    expect(retired.body.is_active).toBe(false);
    const availability = await request(t.baseUrl).get(`${API}/products/pglite_product/availability`).expect(200);
    expect(availability.body).toMatchObject({ available: false, reason: 'PRODUCT_INACTIVE' });
  });
});

describe('SEED_CATALOG=false on embedded PGlite', () => {
  it(
    'should start with an empty catalog',
    async () => {
      const t = await startTestApp({ pglite: true, env: { SEED_CATALOG: 'false' } });
      try {
        const products = await request(t.baseUrl).get(`${API}/products`).expect(200);
        expect(products.body).toEqual([]);
        const plans = await request(t.baseUrl).get(`${API}/plans`).set(INTERNAL).expect(200);
        expect(plans.body).toEqual([]);
      } finally {
        await t.close();
      }
    },
    SLOW,
  );
});
