import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { CallContext } from '../../../common/auth/principal.js';
import { Clock } from '../../../common/clock/clock.js';
import { conflict, ErrorCode, notFound, unprocessable } from '../../../common/errors/domain-error.js';
import { DEFAULT_LIMIT, decodeCursor, type Page, pageOf } from '../../../common/pagination/page.js';
import { type Tx, UnitOfWork } from '../../../database/unit-of-work.js';
import { EventPublisher } from '../../../events/publishers/event.publisher.js';
import { validateTiers } from '../../pricing/pricing-engine.js';
import type { CreateProductDto, ListProductsQueryDto, PricingDto, UpdateProductDto } from '../dto/product.dto.js';
import { CategoryEntity } from '../entities/category.entity.js';
import type { PriceTierEntity } from '../entities/price-tier.entity.js';
import { ProductEntity } from '../entities/product.entity.js';
import { type ProductResponse, toProductResponse } from '../mappers/catalog.mappers.js';
import { isUniqueViolation } from '../../../database/pg-errors.js';
import { escapeLike, invalidTiers } from './catalog-errors.js';
import { CatalogRepository, type ProductInput } from './catalog.repository.js';
import { findProductsWithTiers } from './product-rows.js';

export interface ProductWithTiers {
  product: ProductEntity;
  tiers: PriceTierEntity[];
}

/** Products and their pricing: reads, creation, partial updates, retirement, pricing replacement. */
@Injectable()
export class ProductService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: CatalogRepository,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
  ) {}

  async list(query: ListProductsQueryDto): Promise<Page<ProductResponse>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const after = decodeCursor(query.cursor, ['string']);
    // The page's ids in a subquery and the products with their tiers in the same statement: one snapshot,
    // so a concurrent pricing replacement is seen whole or not at all.
    const rows = await this.uow.read(({ manager }) => this.listRows(manager, query, limit, after));
    return pageOf(
      rows,
      limit,
      (p) => toProductResponse(p, p.tiers ?? []),
      (p) => [p.productId],
    );
  }

  private listRows(
    manager: EntityManager,
    query: ListProductsQueryDto,
    limit: number,
    after: (string | number)[] | undefined,
  ): Promise<ProductEntity[]> {
    const ids = manager
      .createQueryBuilder(ProductEntity, 'f')
      .select('f.productId')
      .where('f.is_active = :active', { active: query.is_active ?? true });
    if (query.category_id !== undefined) ids.andWhere('f.category_id = :category', { category: query.category_id });
    if (query.product_type !== undefined) ids.andWhere('f.product_type = :type', { type: query.product_type });
    if (query.q !== undefined) ids.andWhere(`f.name ILIKE :q ESCAPE '\\'`, { q: `%${escapeLike(query.q)}%` });
    if (after) ids.andWhere('f.product_id > :after', { after: after[0] });
    ids.orderBy('f.product_id', 'ASC').limit(limit + 1);
    return manager
      .createQueryBuilder(ProductEntity, 'p')
      .leftJoinAndSelect('p.tiers', 't')
      .where(`p.product_id IN (${ids.getQuery()})`)
      .setParameters(ids.getParameters())
      .orderBy('p.product_id', 'ASC')
      .addOrderBy('t.tier_index', 'ASC')
      .getMany();
  }

  /** A product with its tiers, or undefined. With `lock`, the product row is locked FOR UPDATE. */
  async find(productId: string, manager?: EntityManager, lock = false): Promise<ProductWithTiers | undefined> {
    if (!manager) return this.uow.read((tx) => this.find(productId, tx.manager, lock));
    if (!lock) {
      // one statement, one snapshot (see list); fixed SQL instead of the query builder (the hottest read:
      // building the query and hydrating through TypeORM cost more CPU than the database round trip)
      const [product] = await findProductsWithTiers(manager, [productId]);
      return product ? { product, tiers: product.tiers ?? [] } : undefined;
    }
    // Writers lock the product row before touching its tiers, so under the lock two reads agree.
    const product = await manager
      .createQueryBuilder(ProductEntity, 'p')
      .where('p.product_id = :productId', { productId })
      .setLock('pessimistic_write')
      .getOne();
    if (!product) return undefined;
    const tiers = (await this.repo.tiersOf(manager, [productId])).get(productId) ?? [];
    return { product, tiers };
  }

  /** A product with its tiers; 404 PRODUCT_NOT_FOUND when unknown. */
  async get(productId: string, manager?: EntityManager, lock = false): Promise<ProductWithTiers> {
    const found = await this.find(productId, manager, lock);
    if (!found) throw notFound(ErrorCode.PRODUCT_NOT_FOUND, `Product ${productId} not found`);
    return found;
  }

  async getResponse(productId: string): Promise<ProductResponse> {
    const { product, tiers } = await this.get(productId);
    return toProductResponse(product, tiers);
  }

  async create(dto: CreateProductDto, ctx: CallContext): Promise<ProductResponse> {
    const problems = validateTiers(dto.pricing.tiers, 'pricing.tiers');
    if (problems.length > 0) throw invalidTiers(problems);
    return this.uow.run(async (tx) => {
      await this.requireCategory(tx.manager, dto.category_id);
      const inserted = await this.repo.insertProduct(tx.manager, toProductInput(dto), this.clock.now());
      if (!inserted) {
        throw conflict(
          ErrorCode.PRODUCT_EXISTS,
          `A product with id ${dto.product_id} or product_code ${dto.product_code ?? '-'} already exists`,
        );
      }
      await this.events.publishCatalogChanged(tx, { entity: 'product', id: dto.product_id, change: 'created' }, ctx);
      return this.responseIn(tx, dto.product_id);
    });
  }

  async update(productId: string, dto: UpdateProductDto, ctx: CallContext): Promise<ProductResponse> {
    const changes = definedEntries(dto);
    return this.uow.run(async (tx) => {
      const { product } = await this.get(productId, tx.manager, true);
      if (changes.length === 0) return this.responseIn(tx, productId);
      if (dto.category_id !== undefined && dto.category_id !== null) await this.requireCategory(tx.manager, dto.category_id);
      if (dto.product_code !== undefined && dto.product_code !== null && dto.product_code !== product.productCode) {
        const taken = await tx.manager.existsBy(ProductEntity, { productCode: dto.product_code });
        if (taken) throw conflict(ErrorCode.PRODUCT_EXISTS, `product_code ${dto.product_code} is already used`);
      }
      const patch: Record<string, unknown> = { updatedAt: this.clock.now() };
      for (const [key, value] of changes) patch[camel(key)] = value;
      try {
        await tx.manager.update(ProductEntity, { productId }, patch);
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(ErrorCode.PRODUCT_EXISTS, `product_code ${dto.product_code} is already used`);
        throw err;
      }
      const retired = product.isActive && dto.is_active === false;
      await this.events.publishCatalogChanged(tx, { entity: 'product', id: productId, change: retired ? 'retired' : 'updated' }, ctx);
      return this.responseIn(tx, productId);
    });
  }

  async replacePricing(productId: string, dto: PricingDto, ctx: CallContext): Promise<ProductResponse> {
    const problems = validateTiers(dto.tiers, 'tiers');
    if (problems.length > 0) throw invalidTiers(problems);
    return this.uow.run(async (tx) => {
      await this.get(productId, tx.manager, true);
      await this.repo.replacePricing(tx.manager, productId, toPricingInput(dto), this.clock.now());
      await this.events.publishCatalogChanged(tx, { entity: 'pricing', id: productId, change: 'updated' }, ctx);
      return this.responseIn(tx, productId);
    });
  }

  private async responseIn(tx: Tx, productId: string): Promise<ProductResponse> {
    const { product, tiers } = await this.get(productId, tx.manager);
    return toProductResponse(product, tiers);
  }

  private async requireCategory(manager: EntityManager, categoryId: string): Promise<void> {
    const exists = await manager.existsBy(CategoryEntity, { categoryId });
    if (!exists) throw unprocessable(ErrorCode.CATEGORY_NOT_FOUND, `Category ${categoryId} does not exist`);
  }
}

const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The body's fields that were given (absent and null both mean "not given"). */
export function definedEntries(dto: object): [string, unknown][] {
  return Object.entries(dto).filter(([, v]) => v !== undefined && v !== null);
}

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
