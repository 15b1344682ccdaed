import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each tier row gets its own identifier, `pricing_id` (uuid), which becomes the primary key of
 * `product_price_tiers`: the admin API addresses one tier by it (`PUT /admin/pricing/{pricing_id}`)
 * and the pricing response carries it. `(product_id, tier_index)` stays unique (the order of a
 * product's table). Existing rows get an id here; new rows get one from the service (the column
 * default covers rows written by hand). `gen_random_uuid()` is core PostgreSQL (13+) and in PGlite.
 */
export class PriceTierPricingId1764300000000 implements MigrationInterface {
  name = 'PriceTierPricingId1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE product_price_tiers ADD COLUMN pricing_id uuid NOT NULL DEFAULT gen_random_uuid()`);
    await q.query(`ALTER TABLE product_price_tiers DROP CONSTRAINT product_price_tiers_pkey`);
    await q.query(`ALTER TABLE product_price_tiers ADD CONSTRAINT product_price_tiers_pkey PRIMARY KEY (pricing_id)`);
    await q.query(`ALTER TABLE product_price_tiers ADD CONSTRAINT product_price_tiers_product_tier_key UNIQUE (product_id, tier_index)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE product_price_tiers DROP CONSTRAINT product_price_tiers_product_tier_key`);
    await q.query(`ALTER TABLE product_price_tiers DROP CONSTRAINT product_price_tiers_pkey`);
    await q.query(`ALTER TABLE product_price_tiers ADD CONSTRAINT product_price_tiers_pkey PRIMARY KEY (product_id, tier_index)`);
    await q.query(`ALTER TABLE product_price_tiers DROP COLUMN pricing_id`);
  }
}
