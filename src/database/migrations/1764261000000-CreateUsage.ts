import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Metered usage. `usage_period_totals` is the running total of units per (user, product,
 * subscription or none, period): each record's [before, after) unit range comes from one atomic
 * `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, so concurrent records never share a unit.
 * `request_id` deduplicates per (user, product).
 */
export class CreateUsage1764261000000 implements MigrationInterface {
  name = 'CreateUsage1764261000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE usage_records (
        usage_record_id  uuid PRIMARY KEY,
        seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        user_id          text NOT NULL,
        organization_id  text,
        subscription_id  text,
        product_id       text NOT NULL REFERENCES products(product_id),
        usage_amount     numeric NOT NULL CHECK (usage_amount > 0),
        units_before     numeric NOT NULL,
        unit_price       numeric NOT NULL,
        total_cost       numeric NOT NULL CHECK (total_cost >= 0),
        currency         text NOT NULL,
        is_free_tier     boolean NOT NULL,
        period_start     timestamptz NOT NULL,
        period_end       timestamptz NOT NULL,
        session_id       text,
        request_id       text,
        usage_details    jsonb,
        usage_timestamp  timestamptz NOT NULL,
        created_at       timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE UNIQUE INDEX usage_records_request_id_uq ON usage_records (user_id, product_id, request_id)
        WHERE request_id IS NOT NULL`);
    await q.query(`CREATE INDEX usage_records_user_seq_idx ON usage_records (user_id, seq DESC)`);
    await q.query(`CREATE INDEX usage_records_product_seq_idx ON usage_records (product_id, seq DESC)`);
    await q.query(`CREATE INDEX usage_records_subscription_idx ON usage_records (subscription_id) WHERE subscription_id IS NOT NULL`);
    await q.query(`CREATE INDEX usage_records_org_idx ON usage_records (organization_id) WHERE organization_id IS NOT NULL`);
    await q.query(`CREATE INDEX usage_records_timestamp_idx ON usage_records (usage_timestamp)`);
    await q.query(`CREATE INDEX usage_records_created_idx ON usage_records (created_at)`);
    await q.query(`
      CREATE TABLE usage_period_totals (
        user_id          text NOT NULL,
        product_id       text NOT NULL REFERENCES products(product_id),
        subscription_key text NOT NULL DEFAULT '',
        period_start     timestamptz NOT NULL,
        period_end       timestamptz NOT NULL,
        units            numeric NOT NULL DEFAULT 0,
        updated_at       timestamptz NOT NULL,
        PRIMARY KEY (user_id, product_id, subscription_key, period_start)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE usage_period_totals`);
    await q.query(`DROP TABLE usage_records`);
  }
}
