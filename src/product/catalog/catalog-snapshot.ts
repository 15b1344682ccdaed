import { createHash } from 'node:crypto';
import type { JsonView } from '../../common/http/json-view.js';
import type { CategoryEntity } from './entities/category.entity.js';
import type { PlanEntity } from './entities/plan.entity.js';
import type { ProductEntity } from './entities/product.entity.js';

/** Serialized views kept per snapshot (product pages, lists by query...): bounded, oldest out first. */
const MAX_VIEWS = 512;

/** The rows a snapshot is built from (everything, active or not, as the repository loads it). */
export interface CatalogRows {
  categories: CategoryEntity[];
  /** with `tiers` set, in tier order */
  products: ProductEntity[];
  plans: PlanEntity[];
}

/**
 * The whole catalog at one instant, immutable, held in memory and replaced as a whole (copy on
 * write) when the catalog changes. Readers take `CatalogStore.current` once per request and see
 * one consistent version. `version` is a hash of the content: a reload that finds nothing changed
 * keeps the snapshot (and its ETags). Serialized answers are memoised per snapshot (`view`).
 */
export class CatalogSnapshot {
  readonly version: string;
  /** by (display_order, category_id) */
  readonly categories: readonly CategoryEntity[];
  /** by product_id */
  readonly products: readonly ProductEntity[];
  /** by (display_order, plan_id) */
  readonly plans: readonly PlanEntity[];
  private readonly productById: ReadonlyMap<string, ProductEntity>;
  private readonly planById: ReadonlyMap<string, PlanEntity>;
  private readonly views = new Map<string, JsonView>();

  constructor(
    rows: CatalogRows,
    readonly loadedAt: Date,
  ) {
    this.categories = [...rows.categories].sort(
      byOrderThen(
        (c) => c.displayOrder,
        (c) => c.categoryId,
      ),
    );
    this.products = [...rows.products].sort((a, b) => compare(a.productId, b.productId));
    this.plans = [...rows.plans].sort(
      byOrderThen(
        (p) => p.displayOrder,
        (p) => p.planId,
      ),
    );
    this.productById = new Map(this.products.map((p) => [p.productId, p]));
    this.planById = new Map(this.plans.map((p) => [p.planId, p]));
    this.version = contentVersion(rows);
  }

  product(productId: string): ProductEntity | undefined {
    return this.productById.get(productId);
  }

  plan(planId: string): PlanEntity | undefined {
    return this.planById.get(planId);
  }

  /** The view memoised under `key` in this snapshot, built on first use. */
  view(key: string, build: () => JsonView): JsonView {
    let view = this.views.get(key);
    if (!view) {
      view = build();
      if (this.views.size >= MAX_VIEWS) this.views.delete(this.views.keys().next().value as string);
      this.views.set(key, view);
    }
    return view;
  }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function byOrderThen<T>(order: (t: T) => number, id: (t: T) => string): (a: T, b: T) => number {
  return (a, b) => order(a) - order(b) || compare(id(a), id(b));
}

/** A hash of every row (dates as instants): equal catalogs give equal versions. */
function contentVersion(rows: CatalogRows): string {
  const hash = createHash('sha1');
  hash.update(JSON.stringify(rows, (_key, value: unknown) => (value instanceof Date ? value.toISOString() : value)));
  return hash.digest('base64url').slice(0, 16);
}
