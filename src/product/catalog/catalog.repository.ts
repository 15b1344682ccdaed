import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { QueryDeepPartialEntity } from 'typeorm';
import { formatDecimal } from '../../common/money/decimal.js';
import { isUniqueViolation } from '../../database/pg-errors.js';
import { managerOf, type Tx } from '../../database/transaction.js';
import type { SeedCategory, SeedPlan, SeedPricing, SeedProduct } from '../../database/seed/catalog-seed.types.js';
import { CategoryEntity } from './entities/category.entity.js';
import { PlanEntity } from './entities/plan.entity.js';
import { PriceTierEntity } from './entities/price-tier.entity.js';
import { ProductEntity } from './entities/product.entity.js';

/** Input of a category insert: the catalog.json shape plus the optional active flag. */
export type CategoryInput = SeedCategory & { is_active?: boolean };
/** Input of a product insert: the catalog.json shape (with its pricing) plus the optional active flag. */
export type ProductInput = SeedProduct & { is_active?: boolean };
/** Input of a plan insert: the catalog.json shape plus the optional active flag. */
export type PlanInput = SeedPlan & { is_active?: boolean };

/** Arbitrary constant: the transaction-scoped advisory lock replicas take while one of them seeds. */
const SEED_LOCK = 815_217;

/** A product's columns and, per tier (LEFT JOIN: null when it has none), the tier's own columns. */
interface ProductWithTierRow {
  product_id: string;
  name: string;
  product_code: string | null;
  description: string | null;
  category_id: string;
  product_type: string;
  provider: string | null;
  features: unknown[];
  quota_limits: Record<string, unknown>;
  metadata: Record<string, unknown>;
  requires_subscription: boolean;
  is_active: boolean;
  pricing_type: string;
  unit_type: string;
  currency: string;
  free_tier_limit: string;
  free_tier_period: string;
  created_at: Date;
  updated_at: Date;
  pricing_id: string | null;
  tier_index: number | null;
  tier_name: string | null;
  min_units: string | null;
  max_units: string | null;
  unit_price: string | null;
}

/** One entity, `tiers` set, from its rows (one per tier, or one with null tier columns). */
function productFromRows(rows: ProductWithTierRow[]): ProductEntity {
  const r = rows[0];
  const product = Object.assign(new ProductEntity(), {
    productId: r.product_id,
    name: r.name,
    productCode: r.product_code,
    description: r.description,
    categoryId: r.category_id,
    productType: r.product_type,
    provider: r.provider,
    features: r.features,
    quotaLimits: r.quota_limits,
    metadata: r.metadata,
    requiresSubscription: r.requires_subscription,
    isActive: r.is_active,
    pricingType: r.pricing_type,
    unitType: r.unit_type,
    currency: r.currency,
    freeTierLimit: r.free_tier_limit,
    freeTierPeriod: r.free_tier_period,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });
  const tiers: PriceTierEntity[] = [];
  for (const t of rows) {
    if (t.tier_index === null) continue;
    tiers.push(
      Object.assign(new PriceTierEntity(), {
        pricingId: t.pricing_id as string,
        productId: r.product_id,
        tierIndex: t.tier_index,
        tierName: t.tier_name as string,
        minUnits: t.min_units as string,
        maxUnits: t.max_units,
        unitPrice: t.unit_price as string,
      }),
    );
  }
  product.tiers = tiers;
  return product;
}

const PRODUCT_COLUMNS = `p.product_id, p.name, p.product_code, p.description, p.category_id, p.product_type, p.provider,
  p.features, p.quota_limits, p.metadata, p.requires_subscription, p.is_active, p.pricing_type, p.unit_type, p.currency,
  p.free_tier_limit, p.free_tier_period, p.created_at, p.updated_at,
  t.pricing_id, t.tier_index, t.tier_name, t.min_units, t.max_units, t.unit_price`;

/** Groups FIND rows (ordered by product) into entities with `tiers` set. */
function productsFromRows(rows: ProductWithTierRow[]): ProductEntity[] {
  const products: ProductEntity[] = [];
  let start = 0;
  for (let i = 1; i <= rows.length; i++) {
    if (i === rows.length || rows[i].product_id !== rows[start].product_id) {
      products.push(productFromRows(rows.slice(start, i)));
      start = i;
    }
  }
  return products;
}

/**
 * All catalog SQL: categories, products with their tier tables, plans. The write API and the
 * seeder insert through the same methods (so both write exactly the same rows); inserts use
 * `ON CONFLICT DO NOTHING` and return whether the row was new (the API turns `false` into 409, the
 * seeder ignores it: safe with replicas seeding together). Product reads are fixed statements
 * mapped by hand (one snapshot per statement: a concurrent pricing replacement is seen whole or
 * not at all).
 */
@Injectable()
export class CatalogRepository {
  // ------------------------------------------------------------------ categories

  async insertCategory(tx: Tx, input: CategoryInput, now: Date): Promise<boolean> {
    const rows: unknown[] = await managerOf(tx).query(
      `INSERT INTO categories (category_id, name, description, display_order, is_active, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING RETURNING category_id`,
      [input.category_id, input.name, input.description ?? null, input.display_order ?? 0, input.is_active ?? true, now],
    );
    return rows.length === 1;
  }

  findCategory(tx: Tx, categoryId: string): Promise<CategoryEntity | null> {
    return managerOf(tx).findOneBy(CategoryEntity, { categoryId });
  }

  categoryExists(tx: Tx, categoryId: string): Promise<boolean> {
    return managerOf(tx).existsBy(CategoryEntity, { categoryId });
  }

  // ------------------------------------------------------------------ products

  async insertProduct(tx: Tx, input: ProductInput, now: Date): Promise<boolean> {
    const p = input.pricing;
    const rows: unknown[] = await managerOf(tx).query(
      `INSERT INTO products (product_id, name, product_code, description, category_id, product_type, provider, features,
         quota_limits, metadata, requires_subscription, is_active, pricing_type, unit_type, currency, free_tier_limit,
         free_tier_period, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10::jsonb, $11, $12, $13, $14, $15, $16, $17, $18, $18)
       ON CONFLICT DO NOTHING RETURNING product_id`,
      [
        input.product_id,
        input.name,
        input.product_code ?? null,
        input.description ?? null,
        input.category_id,
        input.product_type,
        input.provider ?? null,
        JSON.stringify(input.features ?? []),
        JSON.stringify(input.quota_limits ?? {}),
        JSON.stringify(input.metadata ?? {}),
        input.requires_subscription ?? false,
        input.is_active ?? true,
        p.pricing_type,
        p.unit_type,
        p.currency,
        p.free_tier_limit ?? '0',
        p.free_tier_period ?? 'monthly',
        now,
      ],
    );
    if (rows.length !== 1) return false;
    await this.insertTiers(tx, input.product_id, p.tiers);
    return true;
  }

  /** Products with their tiers (`product.tiers`, in tier order), in product id order; unknown ids are absent. */
  async findProductsWithTiers(tx: Tx, productIds: readonly string[]): Promise<ProductEntity[]> {
    if (productIds.length === 0) return [];
    const rows = await managerOf(tx).query<ProductWithTierRow[]>(
      `SELECT ${PRODUCT_COLUMNS}
       FROM products p LEFT JOIN product_price_tiers t ON t.product_id = p.product_id
       WHERE p.product_id = ANY($1::text[])
       ORDER BY p.product_id ASC, t.tier_index ASC`,
      [productIds],
    );
    return productsFromRows(rows);
  }

  /** The product row locked FOR UPDATE (writers lock it before touching its tiers), with its tiers. */
  async lockProduct(tx: Tx, productId: string): Promise<ProductEntity | undefined> {
    const manager = managerOf(tx);
    const product = await manager
      .createQueryBuilder(ProductEntity, 'p')
      .where('p.product_id = :productId', { productId })
      .setLock('pessimistic_write')
      .getOne();
    if (!product) return undefined;
    product.tiers = await manager.find(PriceTierEntity, { where: { productId }, order: { tierIndex: 'ASC' } });
    return product;
  }

  productCodeTaken(tx: Tx, productCode: string): Promise<boolean> {
    return managerOf(tx).existsBy(ProductEntity, { productCode });
  }

  /** Applies `patch` to the product row; false when it would duplicate a unique product_code. */
  async updateProduct(tx: Tx, productId: string, patch: Partial<ProductEntity>): Promise<boolean> {
    try {
      await managerOf(tx).update(ProductEntity, { productId }, patch as QueryDeepPartialEntity<ProductEntity>);
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** Replaces a product's pricing columns and its whole tier table (caller holds the product row lock). */
  async replacePricing(tx: Tx, productId: string, pricing: SeedPricing, now: Date): Promise<void> {
    const manager = managerOf(tx);
    await manager.update(
      ProductEntity,
      { productId },
      {
        pricingType: pricing.pricing_type,
        unitType: pricing.unit_type,
        currency: pricing.currency,
        freeTierLimit: pricing.free_tier_limit ?? '0',
        freeTierPeriod: pricing.free_tier_period ?? 'monthly',
        updatedAt: now,
      },
    );
    await manager.delete(PriceTierEntity, { productId });
    await this.insertTiers(tx, productId, pricing.tiers);
  }

  /** The product of a tier row, or undefined when no row has this pricing_id. */
  async productIdOfTier(tx: Tx, pricingId: string): Promise<string | undefined> {
    const rows = await managerOf(tx).query<{ product_id: string }[]>(`SELECT product_id FROM product_price_tiers WHERE pricing_id = $1`, [
      pricingId,
    ]);
    return rows[0]?.product_id;
  }

  /** Rewrites one tier row (caller holds its product's row lock and has checked the resulting table). */
  async updateTier(tx: Tx, pricingId: string, tier: SeedPricing['tiers'][number], productId: string, now: Date): Promise<void> {
    const manager = managerOf(tx);
    await manager.update(
      PriceTierEntity,
      { pricingId },
      { tierName: tier.tier_name, minUnits: tier.min_units, maxUnits: tier.max_units ?? null, unitPrice: tier.unit_price },
    );
    await manager.update(ProductEntity, { productId }, { updatedAt: now });
  }

  /** Which of `productIds` exist. */
  async existingProductIds(tx: Tx, productIds: readonly string[]): Promise<string[]> {
    if (productIds.length === 0) return [];
    const rows = await managerOf(tx).query<{ product_id: string }[]>(`SELECT product_id FROM products WHERE product_id = ANY($1::text[])`, [
      productIds,
    ]);
    return rows.map((r) => r.product_id);
  }

  private async insertTiers(tx: Tx, productId: string, tiers: SeedPricing['tiers']): Promise<void> {
    if (tiers.length === 0) return;
    await managerOf(tx).insert(
      PriceTierEntity,
      tiers.map((t, i) => ({
        pricingId: randomUUID(),
        productId,
        tierIndex: i,
        tierName: t.tier_name,
        minUnits: t.min_units,
        maxUnits: t.max_units ?? null,
        unitPrice: t.unit_price,
      })),
    );
  }

  // ------------------------------------------------------------------ plans

  async insertPlan(tx: Tx, input: PlanInput, now: Date): Promise<boolean> {
    const rows: unknown[] = await managerOf(tx).query(
      `INSERT INTO service_plans (plan_id, name, plan_tier, description, monthly_price, yearly_price, per_seat, currency,
         included_credits, credit_rollover, max_rollover_credits, target_audience, min_seats, max_seats, trial_days, features,
         usage_limits, included_products, support_level, is_public, is_active, display_order, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb, $17::jsonb, $18::jsonb, $19, $20,
         $21, $22, $23, $23)
       ON CONFLICT DO NOTHING RETURNING plan_id`,
      [
        input.plan_id,
        input.name,
        input.plan_tier,
        input.description ?? null,
        input.monthly_price,
        input.yearly_price,
        input.per_seat ?? false,
        input.currency ?? 'USD',
        formatDecimal(input.included_credits ?? 0),
        input.credit_rollover ?? false,
        input.max_rollover_credits === null || input.max_rollover_credits === undefined ? null : formatDecimal(input.max_rollover_credits),
        input.target_audience ?? null,
        input.min_seats ?? 1,
        input.max_seats ?? null,
        input.trial_days ?? 0,
        JSON.stringify(input.features ?? []),
        JSON.stringify(input.usage_limits ?? {}),
        JSON.stringify(input.included_products ?? []),
        input.support_level ?? null,
        input.is_public ?? true,
        input.is_active ?? true,
        input.display_order ?? 0,
        now,
      ],
    );
    return rows.length === 1;
  }

  findPlan(tx: Tx, planId: string): Promise<PlanEntity | null> {
    return managerOf(tx).findOneBy(PlanEntity, { planId });
  }

  lockPlan(tx: Tx, planId: string): Promise<PlanEntity | null> {
    return managerOf(tx).createQueryBuilder(PlanEntity, 'p').where('p.plan_id = :planId', { planId }).setLock('pessimistic_write').getOne();
  }

  async updatePlan(tx: Tx, planId: string, patch: Partial<PlanEntity>): Promise<void> {
    await managerOf(tx).update(PlanEntity, { planId }, patch as QueryDeepPartialEntity<PlanEntity>);
  }

  // ------------------------------------------------------------------ the whole catalog

  /** Every category, product (with tiers) and plan, active or not: what the in-memory catalog holds. */
  async loadAll(tx: Tx): Promise<{ categories: CategoryEntity[]; products: ProductEntity[]; plans: PlanEntity[] }> {
    const manager = managerOf(tx);
    const categories = await manager.find(CategoryEntity);
    const rows = await manager.query<ProductWithTierRow[]>(
      `SELECT ${PRODUCT_COLUMNS}
       FROM products p LEFT JOIN product_price_tiers t ON t.product_id = p.product_id
       ORDER BY p.product_id ASC, t.tier_index ASC`,
    );
    const plans = await manager.find(PlanEntity);
    return { categories, products: productsFromRows(rows), plans };
  }

  // ------------------------------------------------------------------ seeding

  /** Serialises seeding between replicas for the rest of this transaction. */
  async lockForSeeding(tx: Tx): Promise<void> {
    await managerOf(tx).query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK]);
  }

  /** Is the catalog empty (no category, product or plan)? */
  async isEmpty(tx: Tx): Promise<boolean> {
    const [row] = await managerOf(tx).query<{ empty: boolean }[]>(
      `SELECT NOT (EXISTS (SELECT 1 FROM categories) OR EXISTS (SELECT 1 FROM products) OR EXISTS (SELECT 1 FROM service_plans)) AS empty`,
    );
    return row.empty;
  }
}
