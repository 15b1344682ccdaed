import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { PriceTierEntity } from '../entities/price-tier.entity.js';
import { ProductEntity } from '../entities/product.entity.js';
import type { SeedCategory, SeedPlan, SeedPricing, SeedProduct } from '../../../database/seed/catalog-seed.types.js';
import { formatDecimal } from '../../../common/money/decimal.js';

/** Input of a category insert: the catalog.json shape plus the optional active flag. */
export type CategoryInput = SeedCategory & { is_active?: boolean };
/** Input of a product insert: the catalog.json shape (with its pricing) plus the optional active flag. */
export type ProductInput = SeedProduct & { is_active?: boolean };
/** Input of a plan insert: the catalog.json shape plus the optional active flag. */
export type PlanInput = SeedPlan & { is_active?: boolean };

/**
 * The one place catalog rows are inserted, shared by the write API and the seeder (so both write
 * exactly the same rows). Inserts use `ON CONFLICT DO NOTHING`: each returns whether the row was new,
 * the API turns `false` into 409 and the seeder ignores it (safe with replicas seeding together).
 */
@Injectable()
export class CatalogRepository {
  async insertCategory(manager: EntityManager, input: CategoryInput, now: Date): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO categories (category_id, name, description, display_order, is_active, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING RETURNING category_id`,
      [input.category_id, input.name, input.description ?? null, input.display_order ?? 0, input.is_active ?? true, now],
    );
    return rows.length === 1;
  }

  async insertProduct(manager: EntityManager, input: ProductInput, now: Date): Promise<boolean> {
    const p = input.pricing;
    const rows: unknown[] = await manager.query(
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
    await this.insertTiers(manager, input.product_id, p.tiers);
    return true;
  }

  /** Replaces a product's pricing columns and its whole tier table (caller holds the product row lock). */
  async replacePricing(manager: EntityManager, productId: string, pricing: SeedPricing, now: Date): Promise<void> {
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
    await this.insertTiers(manager, productId, pricing.tiers);
  }

  async insertPlan(manager: EntityManager, input: PlanInput, now: Date): Promise<boolean> {
    const rows: unknown[] = await manager.query(
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

  private async insertTiers(manager: EntityManager, productId: string, tiers: SeedPricing['tiers']): Promise<void> {
    if (tiers.length === 0) return;
    await manager.insert(
      PriceTierEntity,
      tiers.map((t, i) => ({
        productId,
        tierIndex: i,
        tierName: t.tier_name,
        minUnits: t.min_units,
        maxUnits: t.max_units ?? null,
        unitPrice: t.unit_price,
      })),
    );
  }

  /** Tiers of the given products, in tier order, grouped by product id. */
  async tiersOf(manager: EntityManager, productIds: string[]): Promise<Map<string, PriceTierEntity[]>> {
    const byProduct = new Map<string, PriceTierEntity[]>(productIds.map((id) => [id, []]));
    if (productIds.length === 0) return byProduct;
    const tiers = await manager
      .createQueryBuilder(PriceTierEntity, 't')
      .where('t.product_id IN (:...ids)', { ids: productIds })
      .orderBy('t.product_id')
      .addOrderBy('t.tier_index')
      .getMany();
    for (const tier of tiers) byProduct.get(tier.productId)?.push(tier);
    return byProduct;
  }

  /** Is the catalog empty (no category, product or plan)? */
  async isEmpty(manager: EntityManager): Promise<boolean> {
    const [row] = await manager.query<{ empty: boolean }[]>(
      `SELECT NOT (EXISTS (SELECT 1 FROM categories) OR EXISTS (SELECT 1 FROM products) OR EXISTS (SELECT 1 FROM service_plans)) AS empty`,
    );
    return row.empty;
  }
}
