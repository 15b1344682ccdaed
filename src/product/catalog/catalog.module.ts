import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../../audit/audit.module.js';
import { OutboxModule } from '../../events/outbox/outbox.module.js';
import { IdempotencyModule } from '../../idempotency/idempotency.module.js';
import { CatalogCache } from './catalog-cache.js';
import { CatalogRepository } from './catalog.repository.js';
import { CatalogStore } from './catalog-store.js';
import { CatalogSeeder } from './catalog.seeder.js';
import { CategoriesController } from './controllers/categories.controller.js';
import { PlansController } from './controllers/plans.controller.js';
import { ProductsController } from './controllers/products.controller.js';
import { CategoryEntity } from './entities/category.entity.js';
import { PlanEntity } from './entities/plan.entity.js';
import { PriceTierEntity } from './entities/price-tier.entity.js';
import { ProductEntity } from './entities/product.entity.js';
import { CatalogWrites } from './services/catalog-writes.js';
import { CategoryService } from './services/category.service.js';
import { PlanService } from './services/plan.service.js';
import { ProductService } from './services/product.service.js';

/**
 * What is sold, at what list price: categories, products with their tier tables, service plans
 * (public reads served from memory by CatalogStore, with ETags; internal writes that publish
 * `product.catalog.changed` and NOTIFY the other replicas), the reference catalog seed, and the
 * pricing engine (`pricing-engine.ts`, pure) every other feature prices with.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([CategoryEntity, ProductEntity, PriceTierEntity, PlanEntity]),
    OutboxModule,
    IdempotencyModule,
    AuditModule,
  ],
  controllers: [CategoriesController, ProductsController, PlansController],
  providers: [CatalogRepository, CatalogStore, CatalogWrites, CatalogCache, CategoryService, ProductService, PlanService, CatalogSeeder],
  exports: [ProductService, PlanService, CatalogCache],
})
export class CatalogModule {}
