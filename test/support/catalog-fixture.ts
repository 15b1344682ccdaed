import pg from 'pg';
import { CATALOG_SEED } from '../../src/database/seed/catalog-data.js';

/**
 * Test data straight into the database: the reference catalog (when the table is still empty, so a
 * service that seeds on start-up wins) and extra products / plans a test needs. The service serves
 * its catalog from memory: `catalogChanged` (e.g. the app's CatalogStore.refresh) runs after every
 * catalog row written here, as the replicas' LISTEN or periodic reload would.
 */
export class Db {
  private constructor(
    private readonly run: (sql: string, params: unknown[]) => Promise<unknown[]>,
    private readonly end: () => Promise<void>,
    private readonly catalogChanged: () => Promise<void>,
  ) {}

  static async connect(url: string, catalogChanged: () => Promise<void> = () => Promise.resolve()): Promise<Db> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return new Db(
      (sql, params) => client.query(sql, params).then((r) => r.rows as unknown[]),
      () => client.end(),
      catalogChanged,
    );
  }

  /** Through the app's own DataSource (embedded PGlite has no server to connect to). */
  static through(
    query: (sql: string, params: unknown[]) => Promise<unknown[]>,
    catalogChanged: () => Promise<void> = () => Promise.resolve(),
  ): Db {
    return new Db(query, () => Promise.resolve(), catalogChanged);
  }

  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.run(sql, params) as Promise<T[]>;
  }

  async close(): Promise<void> {
    await this.end();
  }

  /** Inserts the reference catalog unless products already exist (the service's own seeder ran). */
  async ensureCatalog(): Promise<void> {
    const [{ n }] = await this.query<{ n: number }>(`SELECT count(*)::int AS n FROM products`);
    if (n > 0) return;
    await this.insertReferenceCatalog();
    await this.catalogChanged();
  }

  private async insertReferenceCatalog(): Promise<void> {
    for (const c of CATALOG_SEED.categories) {
      await this.query(
        `INSERT INTO categories (category_id, name, description, display_order) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [c.category_id, c.name, c.description, c.display_order],
      );
    }
    for (const p of CATALOG_SEED.products) await this.insertProduct(p);
    for (const plan of CATALOG_SEED.plans) await this.insertPlan(plan);
  }

  async addProduct(p: (typeof CATALOG_SEED.products)[number] & { is_active?: boolean }): Promise<void> {
    await this.insertProduct(p);
    await this.catalogChanged();
  }

  private async insertProduct(p: (typeof CATALOG_SEED.products)[number] & { is_active?: boolean }): Promise<void> {
    await this.query(
      `INSERT INTO products (product_id, name, product_code, description, category_id, product_type, provider, features, quota_limits,
         metadata, requires_subscription, is_active, pricing_type, unit_type, currency, free_tier_limit, free_tier_period)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT DO NOTHING`,
      [
        p.product_id,
        p.name,
        p.product_code,
        p.description,
        p.category_id,
        p.product_type,
        p.provider,
        JSON.stringify(p.features),
        JSON.stringify(p.quota_limits),
        JSON.stringify(p.metadata),
        p.requires_subscription,
        p.is_active ?? true,
        p.pricing.pricing_type,
        p.pricing.unit_type,
        p.pricing.currency,
        p.pricing.free_tier_limit,
        p.pricing.free_tier_period,
      ],
    );
    for (const [i, t] of p.pricing.tiers.entries()) {
      await this.query(
        `INSERT INTO product_price_tiers (product_id, tier_index, tier_name, min_units, max_units, unit_price)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [p.product_id, i, t.tier_name, t.min_units, t.max_units, t.unit_price],
      );
    }
  }

  async addPlan(plan: (typeof CATALOG_SEED.plans)[number] & { is_active?: boolean }): Promise<void> {
    await this.insertPlan(plan);
    await this.catalogChanged();
  }

  private async insertPlan(plan: (typeof CATALOG_SEED.plans)[number] & { is_active?: boolean }): Promise<void> {
    await this.query(
      `INSERT INTO service_plans (plan_id, name, plan_tier, description, monthly_price, yearly_price, per_seat, currency, included_credits,
         credit_rollover, max_rollover_credits, target_audience, min_seats, max_seats, trial_days, features, usage_limits,
         included_products, support_level, is_public, is_active, display_order)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) ON CONFLICT DO NOTHING`,
      [
        plan.plan_id,
        plan.name,
        plan.plan_tier,
        plan.description,
        plan.monthly_price,
        plan.yearly_price,
        plan.per_seat,
        plan.currency,
        String(plan.included_credits),
        plan.credit_rollover,
        plan.max_rollover_credits === null ? null : String(plan.max_rollover_credits),
        plan.target_audience,
        plan.min_seats,
        plan.max_seats,
        plan.trial_days,
        JSON.stringify(plan.features),
        JSON.stringify(plan.usage_limits),
        JSON.stringify(plan.included_products),
        plan.support_level,
        plan.is_public,
        plan.is_active ?? true,
        plan.display_order,
      ],
    );
  }

  /** A copy of a seed product under a new id, with overrides. */
  async copyProduct(
    fromId: string,
    overrides: { product_id: string; is_active?: boolean; requires_subscription?: boolean },
  ): Promise<void> {
    const base = CATALOG_SEED.products.find((p) => p.product_id === fromId);
    if (!base) throw new Error(`no seed product ${fromId}`);
    await this.addProduct({ ...base, product_code: null, ...overrides });
  }

  /** A copy of a seed plan under a new id, with overrides. */
  async copyPlan(
    fromId: string,
    overrides: Partial<(typeof CATALOG_SEED.plans)[number]> & { plan_id: string; is_active?: boolean },
  ): Promise<void> {
    const base = CATALOG_SEED.plans.find((p) => p.plan_id === fromId);
    if (!base) throw new Error(`no seed plan ${fromId}`);
    await this.addPlan({ ...base, ...overrides });
  }

  /** Outbox events of a type (optionally for one aggregate), oldest first. */
  async outbox(
    type: string,
    aggregateId?: string,
  ): Promise<{ type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }[]> {
    const rows = await this.query<{ type: string; envelope: { data: Record<string, unknown>; metadata: Record<string, unknown> } }>(
      `SELECT type, envelope FROM outbox_events WHERE type = $1 AND ($2::text IS NULL OR aggregate_id = $2) ORDER BY seq`,
      [type, aggregateId ?? null],
    );
    return rows.map((r) => ({ type: r.type, data: r.envelope.data, metadata: r.envelope.metadata }));
  }
}
