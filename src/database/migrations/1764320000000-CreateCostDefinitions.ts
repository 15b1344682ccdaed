import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Provider cost definitions: what a unit costs the platform (beside what it is sold for), with
 * history: each version is a row with its validity [effective_from, effective_until); a rotation
 * closes the versions it replaces instead of changing them. `product_id` is not a foreign key: a
 * definition may be written before its product, and the catalog-alignment check reports the ones
 * whose product does not exist.
 */
export class CreateCostDefinitions1764320000000 implements MigrationInterface {
  name = 'CreateCostDefinitions1764320000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE cost_definitions (
        cost_id            text PRIMARY KEY,
        product_id         text,
        service_type       text NOT NULL,
        provider           text,
        model_name         text,
        operation_type     text,
        cost_per_unit      numeric NOT NULL CHECK (cost_per_unit >= 0),
        unit_type          text NOT NULL,
        unit_size          numeric NOT NULL DEFAULT 1 CHECK (unit_size > 0),
        currency           text NOT NULL DEFAULT 'USD',
        original_cost_usd  numeric CHECK (original_cost_usd >= 0),
        margin_percentage  numeric,
        effective_from     timestamptz NOT NULL,
        effective_until    timestamptz CHECK (effective_until IS NULL OR effective_until > effective_from),
        free_tier_limit    numeric CHECK (free_tier_limit >= 0),
        free_tier_period   text,
        is_active          boolean NOT NULL DEFAULT true,
        description        text,
        metadata           jsonb NOT NULL DEFAULT '{}',
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX cost_definitions_service_type_idx ON cost_definitions (service_type)`);
    await q.query(`CREATE INDEX cost_definitions_model_idx ON cost_definitions (model_name, effective_from DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE cost_definitions`);
  }
}
