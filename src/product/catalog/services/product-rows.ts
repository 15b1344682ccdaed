import type { EntityManager } from 'typeorm';
import { PriceTierEntity } from '../entities/price-tier.entity.js';
import { ProductEntity } from '../entities/product.entity.js';

/** The product's columns and, per tier (LEFT JOIN: null when it has none), the tier's own columns. */
const FIND_PRODUCTS_SQL = `SELECT p.product_id, p.name, p.product_code, p.description, p.category_id, p.product_type, p.provider,
  p.features, p.quota_limits, p.metadata, p.requires_subscription, p.is_active, p.pricing_type, p.unit_type, p.currency,
  p.free_tier_limit, p.free_tier_period, p.created_at, p.updated_at,
  t.tier_index, t.tier_name, t.min_units, t.max_units, t.unit_price
FROM products p LEFT JOIN product_price_tiers t ON t.product_id = p.product_id
WHERE p.product_id = ANY($1::text[])
ORDER BY p.product_id ASC, t.tier_index ASC`;

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
  tier_index: number | null;
  tier_name: string | null;
  min_units: string | null;
  max_units: string | null;
  unit_price: string | null;
}

/** One entity, `tiers` set, from its rows of FIND_PRODUCTS_SQL (one per tier, or one with null tier columns). */
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

/**
 * Products with their tiers (`product.tiers`, in tier order), in product id order; unknown ids are
 * absent. One fixed statement, one snapshot, mapped to the entities by hand: on the hottest reads
 * (product by id, usage recording) building the query and hydrating through TypeORM cost more CPU
 * than the database round trip.
 */
export async function findProductsWithTiers(manager: EntityManager, productIds: string[]): Promise<ProductEntity[]> {
  if (productIds.length === 0) return [];
  const rows = await manager.query<ProductWithTierRow[]>(FIND_PRODUCTS_SQL, [productIds]);
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
