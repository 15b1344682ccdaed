import { Injectable } from '@nestjs/common';
import { PlanService } from '../catalog/services/plan.service.js';
import { ProductService } from '../catalog/services/product.service.js';
import { CostDefinitionStore } from '../costs/cost-definition-store.js';

export interface CatalogAlignment {
  aligned: boolean;
  /** active products whose tier table is empty (nothing to price their usage with) */
  products_without_pricing: string[];
  /** active plans that include products the catalog does not have */
  plans_with_unknown_products: { plan_id: string; unknown_products: string[] }[];
  /** active cost definitions whose product_id names no product */
  cost_definitions_without_product: { cost_id: string; product_id: string }[];
}

/**
 * GET /admin/health/catalog-alignment: does the catalog hang together? Read from the in-memory
 * catalog and cost definitions (this replica's view: at most CATALOG_REFRESH_MS behind the database,
 * milliseconds while NOTIFY works), so the check costs no query. Every list is sorted by id.
 */
@Injectable()
export class CatalogAlignmentService {
  constructor(
    private readonly products: ProductService,
    private readonly plans: PlanService,
    private readonly costs: CostDefinitionStore,
  ) {}

  check(): CatalogAlignment {
    const products = this.products.all();
    const known = new Set(products.map((p) => p.productId));
    const productsWithoutPricing = products.filter((p) => p.isActive && (p.tiers ?? []).length === 0).map((p) => p.productId);
    const plansWithUnknownProducts = this.plans
      .all()
      .filter((plan) => plan.isActive)
      .map((plan) => ({
        plan_id: plan.planId,
        unknown_products: [...new Set((plan.includedProducts ?? []).map((i) => i.product_id))].filter((id) => !known.has(id)).sort(),
      }))
      .filter((p) => p.unknown_products.length > 0)
      .sort((a, b) => (a.plan_id < b.plan_id ? -1 : 1));
    const costsWithoutProduct = this.costs
      .active()
      .filter((d) => d.productId !== null && !known.has(d.productId))
      .map((d) => ({ cost_id: d.costId, product_id: d.productId as string }));
    return {
      aligned: productsWithoutPricing.length === 0 && plansWithUnknownProducts.length === 0 && costsWithoutProduct.length === 0,
      products_without_pricing: productsWithoutPricing,
      plans_with_unknown_products: plansWithUnknownProducts,
      cost_definitions_without_product: costsWithoutProduct,
    };
  }
}
