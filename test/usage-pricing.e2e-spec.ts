import fc from 'fast-check';
import pg from 'pg';
import request from 'supertest';
import { Decimal } from '../src/common/money/decimal.js';
import { priceRecord, type TierInput, toSchedule } from '../src/product/catalog/pricing-engine.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/**
 * A usage group is priced by its own statement in the database (UsageRepository.recordGroup), with
 * the pricing engine's arithmetic; `pricing-engine.ts` is the reference. Generated schedules (free
 * tier, 1-4 graduated tiers, fractional bounds and prices, a bounded last tier) and generated
 * records: every stored record, its answer and its event carry exactly what `priceRecord` says for
 * the units it took, in arrival order. On PostgreSQL and on embedded PGlite.
 */

const decimal = (maxInt: number, maxScale: number) =>
  fc
    .tuple(fc.integer({ min: 0, max: maxInt }), fc.integer({ min: 0, max: 10 ** maxScale - 1 }), fc.integer({ min: 0, max: maxScale }))
    .map(([int, frac, scale]) =>
      scale === 0 ? `${int}` : new Decimal(`${int}.${String(frac).padStart(maxScale, '0').slice(0, scale)}`).toFixed(),
    );

/** A contiguous tier table from 0; the last tier bounded or not. */
const tiersArb = fc
  .tuple(
    fc.array(
      fc.tuple(
        decimal(500, 2).filter((w) => new Decimal(w).gt(0)),
        decimal(3, 12),
      ),
      { minLength: 1, maxLength: 4 },
    ),
    fc.boolean(),
  )
  .map(([widths, lastBounded]) => {
    let min = new Decimal(0);
    return widths.map(([width, price], i): TierInput => {
      const max = i === widths.length - 1 && !lastBounded ? null : min.plus(width);
      const tier = { tier_name: `t${i}`, min_units: min.toFixed(), max_units: max === null ? null : max.toFixed(), unit_price: price };
      if (max !== null) min = max;
      return tier;
    });
  });

const caseArb = fc.record({
  free: fc.oneof(fc.constant('0'), decimal(800, 1)),
  tiers: tiersArb,
  // JSON numbers as a caller sends them: integers and short fractions
  amounts: fc.array(
    fc.oneof(
      fc.integer({ min: 1, max: 400 }),
      fc.integer({ min: 1, max: 4000 }).map((n) => n / 8),
    ),
    { minLength: 1, maxLength: 12 },
  ),
});

function describePricing(name: string, pglite: boolean): void {
  describe(`usage pricing in the group statement agrees with the pricing engine (${name})`, () => {
    let t: TestApp;
    let db: pg.Client | undefined;
    let n = 0;

    beforeAll(async () => {
      t = await startTestApp({ pglite, env: { USAGE_GROUP_MAX_WAIT_MS: '2' } });
      if (t.databaseUrl) {
        db = new pg.Client({ connectionString: t.databaseUrl });
        await db.connect();
      }
    }, 60_000);
    afterAll(async () => {
      await db?.end();
      await t?.close();
    });

    it('should store, answer and publish exactly the engine price of each record, in arrival order', async () => {
      await fc.assert(
        fc.asyncProperty(caseArb, async ({ free, tiers, amounts }) => {
          const productId = `price_prop_${name}_${n++}`;
          await request(t.baseUrl)
            .post(`${API}/products`)
            .set(INTERNAL)
            .send({
              product_id: productId,
              name: productId,
              category_id: 'ai_models',
              product_type: 'model_inference',
              pricing: { pricing_type: 'usage_based', unit_type: 'token', currency: 'USD', free_tier_limit: free, tiers },
            })
            .expect(201);
          // one batch: its records take their units in the order given
          const batch = await request(t.baseUrl)
            .post(`${API}/usage/records/batch`)
            .set(INTERNAL)
            .send({ records: amounts.map((usage_amount) => ({ user_id: 'prop_user', product_id: productId, usage_amount })) })
            .expect(200);
          // then one more record alone, after all of them
          const single = await request(t.baseUrl)
            .post(`${API}/usage/record`)
            .set(INTERNAL)
            .send({ user_id: 'prop_user', product_id: productId, usage_amount: amounts[0] })
            .expect(200);
          const ids = [...(batch.body.results as { usage_record_id: string }[]).map((r) => r.usage_record_id), single.body.usage_record_id];
          const schedule = toSchedule(free, tiers);
          let before = new Decimal(0);
          const stored = await records(ids);
          for (const [i, amount] of [...amounts, amounts[0]].entries()) {
            const price = priceRecord(schedule, before, new Decimal(amount));
            const expected = {
              units_before: before.toFixed(),
              unit_price: price.unitPrice.toFixed(),
              total_cost: price.cost.toFixed(),
              is_free_tier: price.isFreeTier,
            };
            expect({ ...stored[i].row, index: i }).toEqual({ ...expected, index: i });
            expect(stored[i].event).toMatchObject({
              unit_price: expected.unit_price,
              total_cost: expected.total_cost,
              is_free_tier: expected.is_free_tier,
            });
            before = before.plus(amount);
          }
          expect(single.body).toMatchObject({
            unit_price: stored[amounts.length].row.unit_price,
            total_cost: stored[amounts.length].row.total_cost,
            is_free_tier: stored[amounts.length].row.is_free_tier,
          });
        }),
        { numRuns: 60 },
      );
    }, 120_000);

    /** Each record's stored units and price, and its event's data (NATS is off: the events wait in the outbox). */
    async function records(ids: string[]): Promise<{ row: Record<string, unknown>; event: Record<string, unknown> }[]> {
      const sql = `SELECT r.usage_record_id::text AS id, r.units_before::text AS units_before, r.unit_price::text AS unit_price,
                          r.total_cost::text AS total_cost, r.is_free_tier, o.envelope::text AS envelope
                   FROM usage_records r JOIN outbox_events o ON o.aggregate_id = r.usage_record_id::text
                   WHERE r.usage_record_id = ANY($1::uuid[])`;
      const rows: { id: string; units_before: string; unit_price: string; total_cost: string; is_free_tier: boolean; envelope: string }[] =
        db ? (await db.query(sql, [ids])).rows : await queryPglite(sql, [ids]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => {
        const { envelope, id: _id, ...row } = byId.get(id)!;
        return { row, event: (JSON.parse(envelope) as { data: Record<string, unknown> }).data };
      });
    }

    async function queryPglite<T>(sql: string, params: unknown[]): Promise<T[]> {
      const { DataSource } = await import('typeorm');
      return t.app.get(DataSource).query<T[]>(sql, params);
    }
  });
}

describePricing('PostgreSQL', false);
describePricing('PGlite', true);
