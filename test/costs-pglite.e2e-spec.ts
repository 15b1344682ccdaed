import request from 'supertest';
import { DataSource } from 'typeorm';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/** Jest ignores the e2e project's testTimeout: hooks and tests that start apps say theirs. */
const SLOW = 120_000;

/**
 * Provider costs, the admin routes and the audit trail on embedded PGlite: the migrations (core SQL
 * only: gen_random_uuid, no extension), a rotation under the advisory lock, the lookup and the
 * provider cost of a usage record (no LISTEN/NOTIFY there: the writer's own reload), one tier row by
 * its uuid, and the audit entries.
 */
describe('provider costs, admin routes and audit on embedded PGlite', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ pglite: true });
  }, SLOW);
  afterAll(async () => {
    await t?.close();
  }, SLOW);

  it('should rotate, look up, price usage, update a tier row and audit it all', async () => {
    const definition = {
      service_type: 'agent_execution',
      product_id: 'advanced_agent',
      cost_per_unit: '0.20',
      unit_type: 'request',
      effective_from: '2026-01-01T00:00:00Z',
    };
    await request(t.baseUrl)
      .post(`${API}/admin/cost-definitions`)
      .set(INTERNAL)
      .send({ ...definition, cost_id: 'pg_v1' })
      .expect(201);
    const rotated = await request(t.baseUrl)
      .post(`${API}/admin/cost-definitions/rotate`)
      .set(INTERNAL)
      .send([{ ...definition, cost_id: 'pg_v2', cost_per_unit: '0.25', effective_from: '2026-02-01T00:00:00Z' }])
      .expect(200);
    expect(rotated.body).toEqual({ rotated: 1, details: [{ cost_id: 'pg_v2', replaced_cost_id: 'pg_v1' }] });
    const lookup = await request(t.baseUrl)
      .get('/api/v1/costs/lookup?service_type=agent_execution&product_id=advanced_agent')
      .set(INTERNAL)
      .expect(200);
    expect(lookup.body.cost_definition.cost_id).toBe('pg_v2');

    const usage = await request(t.baseUrl)
      .post(`${API}/usage/record`)
      .set(INTERNAL)
      .send({ user_id: 'pg_cost_user', product_id: 'advanced_agent', usage_amount: 4 })
      .expect(200);
    const ds = t.app.get(DataSource);
    const [stored] = await ds.query<{ p: string }[]>(`SELECT provider_cost::text AS p FROM usage_records WHERE usage_record_id = $1`, [
      usage.body.usage_record_id,
    ]);
    expect(stored.p).toBe('1');
    const stats = await request(t.baseUrl).get(`${API}/statistics/usage?user_id=pg_cost_user`).set(INTERNAL).expect(200);
    expect(stats.body).toMatchObject({ provider_cost: '1', margin: '-1' }); // 4 free units, 0.25 each to us

    const tiers = await ds.query<{ pricing_id: string }[]>(
      `SELECT pricing_id FROM product_price_tiers WHERE product_id = 'advanced_agent' ORDER BY tier_index`,
    );
    const tier = await request(t.baseUrl).get(`${API}/products/advanced_agent`).expect(200);
    const first = tier.body.pricing.tiers[0];
    await request(t.baseUrl)
      .put(`${API}/admin/pricing/${tiers[0].pricing_id}`)
      .set(INTERNAL)
      .send({ ...first, unit_price: '0.45' })
      .expect(200);
    expect((await request(t.baseUrl).get(`${API}/products/advanced_agent`).expect(200)).body.pricing.tiers[0].unit_price).toBe('0.45');

    const audit = await request(t.baseUrl).get(`${API}/admin/audit?limit=3`).set(INTERNAL).expect(200);
    expect(
      audit.body.map((e: { resource_type: string; resource_id: string; action: string }) => [e.resource_type, e.resource_id, e.action]),
    ).toEqual([
      ['product', 'advanced_agent', 'update_tier'],
      ['cost_definition', 'pg_v2', 'rotate'],
      ['cost_definition', 'pg_v1', 'rotate'],
    ]);
    const alignment = await request(t.baseUrl).get(`${API}/admin/health/catalog-alignment`).set(INTERNAL).expect(200);
    expect(alignment.body.aligned).toBe(true);
  }, 60_000);
});
