import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateCatalog1764250000000 implements MigrationInterface {
  name = 'CreateCatalog1764250000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE categories (
        category_id   text PRIMARY KEY,
        name          text NOT NULL,
        description   text,
        display_order int NOT NULL DEFAULT 0,
        is_active     boolean NOT NULL DEFAULT true,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE products (
        product_id            text PRIMARY KEY,
        name                  text NOT NULL,
        product_code          text UNIQUE,
        description           text,
        category_id           text NOT NULL REFERENCES categories(category_id),
        product_type          text NOT NULL,
        provider              text,
        features              jsonb NOT NULL DEFAULT '[]',
        quota_limits          jsonb NOT NULL DEFAULT '{}',
        metadata              jsonb NOT NULL DEFAULT '{}',
        requires_subscription boolean NOT NULL DEFAULT false,
        is_active             boolean NOT NULL DEFAULT true,
        pricing_type          text NOT NULL,
        unit_type             text NOT NULL,
        currency              text NOT NULL,
        free_tier_limit       numeric NOT NULL DEFAULT 0 CHECK (free_tier_limit >= 0),
        free_tier_period      text NOT NULL DEFAULT 'monthly',
        created_at            timestamptz NOT NULL DEFAULT now(),
        updated_at            timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX products_category_idx ON products (category_id)`);
    await q.query(`CREATE INDEX products_type_idx ON products (product_type)`);
    await q.query(`
      CREATE TABLE product_price_tiers (
        product_id  text NOT NULL REFERENCES products(product_id) ON DELETE CASCADE,
        tier_index  int NOT NULL,
        tier_name   text NOT NULL,
        min_units   numeric NOT NULL CHECK (min_units >= 0),
        max_units   numeric CHECK (max_units IS NULL OR max_units > min_units),
        unit_price  numeric NOT NULL CHECK (unit_price >= 0),
        PRIMARY KEY (product_id, tier_index)
      )`);
    await q.query(`
      CREATE TABLE service_plans (
        plan_id              text PRIMARY KEY,
        name                 text NOT NULL,
        plan_tier            text NOT NULL,
        description          text,
        monthly_price        numeric NOT NULL CHECK (monthly_price >= 0),
        yearly_price         numeric NOT NULL CHECK (yearly_price >= 0),
        per_seat             boolean NOT NULL DEFAULT false,
        currency             text NOT NULL DEFAULT 'USD',
        included_credits     numeric NOT NULL DEFAULT 0,
        credit_rollover      boolean NOT NULL DEFAULT false,
        max_rollover_credits numeric,
        target_audience      text,
        min_seats            int NOT NULL DEFAULT 1 CHECK (min_seats >= 1),
        max_seats            int CHECK (max_seats IS NULL OR max_seats >= min_seats),
        trial_days           int NOT NULL DEFAULT 0 CHECK (trial_days >= 0),
        features             jsonb NOT NULL DEFAULT '[]',
        usage_limits         jsonb NOT NULL DEFAULT '{}',
        included_products    jsonb NOT NULL DEFAULT '[]',
        support_level        text,
        is_public            boolean NOT NULL DEFAULT true,
        is_active            boolean NOT NULL DEFAULT true,
        display_order        int NOT NULL DEFAULT 0,
        created_at           timestamptz NOT NULL DEFAULT now(),
        updated_at           timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE service_plans`);
    await q.query(`DROP TABLE product_price_tiers`);
    await q.query(`DROP TABLE products`);
    await q.query(`DROP TABLE categories`);
  }
}
