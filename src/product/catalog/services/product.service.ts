import { Injectable } from '@nestjs/common';
import { AuditTrail } from '../../../audit/audit-trail.service.js';
import type { CallContext } from '../../../common/auth/principal.js';
import { invalidField } from '../../../common/errors/domain-error.js';
import { Clock } from '../../../common/clock/clock.js';
import { type JsonView, jsonView } from '../../../common/http/json-view.js';
import { DEFAULT_LIMIT, decodeCursor, pageHeaders, pageOf } from '../../../common/pagination/page.js';
import type { Tx } from '../../../database/unit-of-work.js';
import { EventPublisher } from '../../../events/publishers/event.publisher.js';
import { CatalogErrors } from '../catalog.errors.js';
import { CatalogRepository, type ProductInput } from '../catalog.repository.js';
import type {
  CreateProductDto,
  ListProductsQueryDto,
  PricingDto,
  ReplaceProductDto,
  TierDto,
  UpdateProductDto,
} from '../dto/product.dto.js';
import type { PriceTierEntity } from '../entities/price-tier.entity.js';
import type { ProductEntity } from '../entities/product.entity.js';
import { type ProductResponse, toProductResponse } from '../mappers/catalog.mappers.js';
import { CatalogStore } from '../catalog-store.js';
import { type TierInput, validateTiers } from '../pricing-engine.js';
import { CatalogWrites } from './catalog-writes.js';
import { changes } from '../../../common/patch/changes.js';
import { definedEntries, samePricing, snakeToCamel } from './patch.js';

export interface ProductWithTiers {
  product: ProductEntity;
  tiers: PriceTierEntity[];
}

/**
 * Products and their pricing. Reads come from the in-memory catalog (CatalogStore): entities for
 * the other features, serialized views (JsonView, with their ETags) for the API. Writes are units
 * of work that also NOTIFY the other replicas, and answer once this replica's catalog has them.
 */
@Injectable()
export class ProductService {
  constructor(
    private readonly writes: CatalogWrites,
    private readonly repo: CatalogRepository,
    private readonly store: CatalogStore,
    private readonly events: EventPublisher,
    private readonly audit: AuditTrail,
    private readonly clock: Clock,
  ) {}

  /** GET /products: filters and keyset paging by product_id over the in-memory catalog, memoised per request URL. */
  listView(query: ListProductsQueryDto, requestUrl: string): JsonView {
    const snapshot = this.store.current;
    return snapshot.view(`products ${requestUrl}`, () => {
      const limit = query.limit ?? DEFAULT_LIMIT;
      const after = decodeCursor(query.cursor, ['string'])?.[0] as string | undefined;
      const isActive = query.is_active ?? true;
      const q = query.q?.toLowerCase();
      const rows: ProductEntity[] = [];
      for (const p of snapshot.products) {
        if (p.isActive !== isActive || (after !== undefined && p.productId <= after)) continue;
        if (query.category_id !== undefined && p.categoryId !== query.category_id) continue;
        if (query.product_type !== undefined && p.productType !== query.product_type) continue;
        if (q !== undefined && !p.name.toLowerCase().includes(q)) continue;
        rows.push(p);
        if (rows.length > limit) break;
      }
      const page = pageOf(
        rows,
        limit,
        (p) => toProductResponse(p, p.tiers ?? []),
        (p) => [p.productId],
      );
      return jsonView(page.items, pageHeaders(requestUrl, page.nextCursor));
    });
  }

  /** GET /products/{id}; 404 PRODUCT_NOT_FOUND when unknown. */
  view(productId: string): JsonView {
    const snapshot = this.store.current;
    const product = snapshot.product(productId);
    if (!product) throw CatalogErrors.productNotFound(productId);
    return snapshot.view(`product ${productId}`, () => jsonView(toProductResponse(product, product.tiers ?? [])));
  }

  /**
   * A view derived from the catalog alone (e.g. a product's list pricing), memoised in the current
   * snapshot under `key`: built once per catalog version.
   */
  catalogView(key: string, build: () => JsonView): JsonView {
    return this.store.current.view(key, build);
  }

  /** Every product, active or not, with `tiers` set (in memory, by product_id). */
  all(): readonly ProductEntity[] {
    return this.store.current.products;
  }

  /** A product with its tiers, or undefined. */
  find(productId: string): ProductWithTiers | undefined {
    const product = this.store.current.product(productId);
    return product ? { product, tiers: product.tiers ?? [] } : undefined;
  }

  /** Products with their tiers (unknown ids absent). */
  findMany(productIds: readonly string[]): ProductWithTiers[] {
    const snapshot = this.store.current;
    const found: ProductWithTiers[] = [];
    for (const id of productIds) {
      const product = snapshot.product(id);
      if (product) found.push({ product, tiers: product.tiers ?? [] });
    }
    return found;
  }

  /** A product with its tiers; 404 PRODUCT_NOT_FOUND when unknown. */
  get(productId: string): ProductWithTiers {
    const found = this.find(productId);
    if (!found) throw CatalogErrors.productNotFound(productId);
    return found;
  }

  countActive(): number {
    return this.store.current.products.filter((p) => p.isActive).length;
  }

  /** The ids of `productIds` that do not exist (422 checks of plans). */
  async missing(tx: Tx, productIds: readonly string[]): Promise<string[]> {
    const found = new Set(await this.repo.existingProductIds(tx, productIds));
    return productIds.filter((id) => !found.has(id));
  }

  async create(dto: CreateProductDto, ctx: CallContext): Promise<ProductResponse> {
    const problems = validateTiers(dto.pricing.tiers, 'pricing.tiers');
    if (problems.length > 0) throw CatalogErrors.invalidTiers(problems);
    return this.writes.run(async (tx) => {
      await this.requireCategory(tx, dto.category_id);
      const inserted = await this.repo.insertProduct(tx, toProductInput(dto), this.clock.now());
      if (!inserted) throw CatalogErrors.productExists(dto.product_id, dto.product_code);
      await this.events.publishCatalogChanged(tx, { entity: 'product', id: dto.product_id, change: 'created' }, ctx);
      const after = await this.responseIn(tx, dto.product_id);
      await this.audited(tx, 'create', null, after, ctx);
      return after;
    });
  }

  /** PATCH /products/{id}: the given fields change; `{"is_active": false}` retires. */
  async update(productId: string, dto: UpdateProductDto, ctx: CallContext): Promise<ProductResponse> {
    const given = definedEntries(dto);
    return this.writes.run(async (tx) => {
      const product = await this.lockOrThrow(tx, productId);
      const patch: Record<string, unknown> = { updatedAt: this.clock.now() };
      for (const [key, value] of given) patch[snakeToCamel(key)] = value;
      // nothing given, or every given field as it is: nothing written, nothing published
      if (!changes(product, patch)) return this.responseIn(tx, productId);
      return this.applyPatch(tx, product, patch, ctx, 'update');
    });
  }

  /**
   * PUT /admin/products/{id}: the whole product. Absent optional fields take their defaults (as in
   * a create), except `is_active` (absent: unchanged; retiring is DELETE or `false`); a given
   * `pricing` replaces the pricing too (absent: unchanged). A `product_id` in the body must be the
   * path's.
   */
  async replace(productId: string, dto: ReplaceProductDto, ctx: CallContext): Promise<ProductResponse> {
    if (dto.product_id !== undefined && dto.product_id !== null && dto.product_id !== productId) {
      throw invalidField('product_id', `product_id must be the one in the path (${productId}) or absent`);
    }
    if (dto.pricing) {
      const problems = validateTiers(dto.pricing.tiers, 'pricing.tiers');
      if (problems.length > 0) throw CatalogErrors.invalidTiers(problems);
    }
    return this.writes.run(async (tx) => {
      const product = await this.lockOrThrow(tx, productId);
      const now = this.clock.now();
      const patch: Record<string, unknown> = {
        name: dto.name,
        productCode: dto.product_code ?? null,
        description: dto.description ?? null,
        categoryId: dto.category_id,
        productType: dto.product_type,
        provider: dto.provider ?? null,
        features: dto.features ?? [],
        quotaLimits: dto.quota_limits ?? {},
        metadata: dto.metadata ?? {},
        requiresSubscription: dto.requires_subscription ?? false,
        updatedAt: now,
      };
      if (dto.is_active !== undefined && dto.is_active !== null) patch.isActive = dto.is_active;
      // what is as it was is not written again and publishes nothing: the pricing, the product's fields
      // absent or null: the pricing stays (SPEC 1: null means "not given"; null had reached samePricing: a 500)
      const pricing = dto.pricing ? toPricingInput(dto.pricing) : undefined;
      const pricingChanged = pricing !== undefined && !samePricing(product, sortedTiers(product), pricing);
      if (pricingChanged) {
        await this.repo.replacePricing(tx, productId, pricing, now);
        await this.events.publishCatalogChanged(tx, { entity: 'pricing', id: productId, change: 'updated' }, ctx);
      }
      if (!changes(product, patch)) {
        const after = await this.responseIn(tx, productId);
        if (pricingChanged) await this.audited(tx, 'replace', toProductResponse(product, product.tiers ?? []), after, ctx);
        return after;
      }
      return this.applyPatch(tx, product, patch, ctx, 'replace');
    });
  }

  /**
   * DELETE /admin/products/{id}: retires (is_active false; never a hard delete: usage and
   * subscriptions refer to it). Retiring a retired product changes nothing.
   */
  async retire(productId: string, ctx: CallContext): Promise<void> {
    await this.writes.run(async (tx) => {
      const product = await this.lockOrThrow(tx, productId);
      if (!product.isActive) return;
      await this.applyPatch(tx, product, { isActive: false, updatedAt: this.clock.now() }, ctx, 'update');
    });
  }

  /** PUT /products/{id}/pricing, POST /admin/products/{id}/pricing: the pricing and its whole tier table. */
  async replacePricing(productId: string, dto: PricingDto, ctx: CallContext): Promise<ProductResponse> {
    const problems = validateTiers(dto.tiers, 'tiers');
    if (problems.length > 0) throw CatalogErrors.invalidTiers(problems);
    return this.writes.run(async (tx) => {
      const product = await this.lockOrThrow(tx, productId);
      const before = toProductResponse(product, product.tiers ?? []);
      const pricing = toPricingInput(dto);
      // the same pricing again: nothing written (the tier rows keep their ids), nothing published
      if (samePricing(product, sortedTiers(product), pricing)) return before;
      await this.repo.replacePricing(tx, productId, pricing, this.clock.now());
      await this.events.publishCatalogChanged(tx, { entity: 'pricing', id: productId, change: 'updated' }, ctx);
      const after = await this.responseIn(tx, productId);
      await this.audited(tx, 'replace_pricing', before, after, ctx);
      return after;
    });
  }

  /**
   * PUT /admin/pricing/{pricing_id}: one tier row, given whole, by its id (404 PRICING_NOT_FOUND);
   * the product's table must stay contiguous from 0 and ordered (else 400 INVALID_TIERS naming the
   * rows of the resulting table, `tiers[i]...`).
   */
  async updateTier(givenId: string, dto: TierDto, ctx: CallContext): Promise<ProductResponse> {
    if (!UUID.test(givenId)) throw CatalogErrors.pricingNotFound(givenId);
    // a uuid in any letter case names the same row (the responses write it in lower case)
    const pricingId = givenId.toLowerCase();
    return this.writes.run(async (tx) => {
      const productId = await this.repo.productIdOfTier(tx, pricingId);
      if (productId === undefined) throw CatalogErrors.pricingNotFound(pricingId);
      const product = await this.lockOrThrow(tx, productId);
      const tiers = product.tiers ?? [];
      // the row may have been replaced between the lookup and the lock
      if (!tiers.some((t) => t.pricingId === pricingId)) throw CatalogErrors.pricingNotFound(pricingId);
      const tier: TierInput = {
        tier_name: dto.tier_name,
        min_units: dto.min_units,
        max_units: dto.max_units ?? null,
        unit_price: dto.unit_price,
      };
      const table = tiers.map((t) => (t.pricingId === pricingId ? tier : toTierInput(t)));
      const problems = validateTiers(table, 'tiers');
      if (problems.length > 0) throw CatalogErrors.invalidTiers(problems);
      const before = toProductResponse(product, tiers);
      if (samePricing(product, sortedTiers(product), { ...toPricingOf(product), tiers: table })) return before; // the row as it is
      await this.repo.updateTier(tx, pricingId, tier, productId, this.clock.now());
      await this.events.publishCatalogChanged(tx, { entity: 'pricing', id: productId, change: 'updated' }, ctx);
      const after = await this.responseIn(tx, productId);
      await this.audited(tx, 'update_tier', before, after, ctx);
      return after;
    });
  }

  /**
   * The product-row part of PATCH and PUT (caller holds the row lock): category and product_code
   * rules, the update, `product.catalog.changed` (`retired` when is_active goes true → false) and
   * the audit entry.
   */
  private async applyPatch(
    tx: Tx,
    product: ProductEntity,
    patch: Record<string, unknown>,
    ctx: CallContext,
    action: 'update' | 'replace',
  ): Promise<ProductResponse> {
    const productId = product.productId;
    const before = toProductResponse(product, product.tiers ?? []);
    const categoryId = patch.categoryId as string | undefined;
    if (categoryId !== undefined && categoryId !== product.categoryId) await this.requireCategory(tx, categoryId);
    const productCode = patch.productCode as string | null | undefined;
    if (productCode !== undefined && productCode !== null && productCode !== product.productCode) {
      if (await this.repo.productCodeTaken(tx, productCode)) throw CatalogErrors.productCodeTaken(productCode);
    }
    if (!(await this.repo.updateProduct(tx, productId, patch))) throw CatalogErrors.productCodeTaken(String(productCode));
    const retired = product.isActive && patch.isActive === false;
    await this.events.publishCatalogChanged(tx, { entity: 'product', id: productId, change: retired ? 'retired' : 'updated' }, ctx);
    const after = await this.responseIn(tx, productId);
    await this.audited(tx, retired ? 'retire' : action, before, after, ctx);
    return after;
  }

  private audited(tx: Tx, action: string, before: ProductResponse | null, after: ProductResponse, ctx: CallContext): Promise<void> {
    return this.audit.record(tx, { action, resourceType: 'product', resourceId: after.product_id, before, after }, ctx);
  }

  private async lockOrThrow(tx: Tx, productId: string): Promise<ProductEntity> {
    const product = await this.repo.lockProduct(tx, productId);
    if (!product) throw CatalogErrors.productNotFound(productId);
    return product;
  }

  private async responseIn(tx: Tx, productId: string): Promise<ProductResponse> {
    const [product] = await this.repo.findProductsWithTiers(tx, [productId]);
    return toProductResponse(product, product.tiers ?? []);
  }

  private async requireCategory(tx: Tx, categoryId: string): Promise<void> {
    if (!(await this.repo.categoryExists(tx, categoryId))) throw CatalogErrors.categoryUnknown(categoryId);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A product's tier rows in table order. */
const sortedTiers = (product: ProductEntity): PriceTierEntity[] => [...(product.tiers ?? [])].sort((a, b) => a.tierIndex - b.tierIndex);

/** A product's pricing fields as a pricing input (its tiers aside). */
const toPricingOf = (p: ProductEntity): Omit<ProductInput['pricing'], 'tiers'> => ({
  pricing_type: p.pricingType,
  unit_type: p.unitType,
  currency: p.currency,
  free_tier_limit: p.freeTierLimit,
  free_tier_period: p.freeTierPeriod,
});

const toTierInput = (t: PriceTierEntity): TierInput => ({
  tier_name: t.tierName,
  min_units: t.minUnits,
  max_units: t.maxUnits,
  unit_price: t.unitPrice,
});

function toPricingInput(p: PricingDto): ProductInput['pricing'] {
  return {
    pricing_type: p.pricing_type,
    unit_type: p.unit_type,
    currency: p.currency,
    free_tier_limit: p.free_tier_limit ?? '0',
    free_tier_period: p.free_tier_period ?? 'monthly',
    tiers: p.tiers.map((t) => ({
      tier_name: t.tier_name,
      min_units: t.min_units,
      max_units: t.max_units ?? null,
      unit_price: t.unit_price,
    })),
  };
}

function toProductInput(dto: CreateProductDto): ProductInput {
  return {
    product_id: dto.product_id,
    name: dto.name,
    product_code: dto.product_code ?? null,
    description: dto.description ?? null,
    category_id: dto.category_id,
    product_type: dto.product_type,
    provider: dto.provider ?? null,
    features: dto.features ?? [],
    quota_limits: dto.quota_limits ?? {},
    metadata: dto.metadata ?? {},
    requires_subscription: dto.requires_subscription ?? false,
    is_active: dto.is_active ?? true,
    pricing: toPricingInput(dto.pricing),
  };
}
