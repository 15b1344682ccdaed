import { CatalogSeeder } from './catalog.seeder.js';
import { CategoriesController } from './controllers/categories.controller.js';
import { PlansController } from './controllers/plans.controller.js';
import { ProductsController } from './controllers/products.controller.js';
import { PeriodUsageReader, ZeroPeriodUsageReader } from './period-usage.reader.js';
import { AvailabilityService } from './services/availability.service.js';
import { CatalogRepository } from './services/catalog.repository.js';
import { CategoryService } from './services/category.service.js';
import { PlanService } from './services/plan.service.js';
import { PricingService } from './services/pricing.service.js';
import { ProductService } from './services/product.service.js';

/** The catalog's controllers and providers, registered in ProductModule. */
export const CATALOG_CONTROLLERS = [CategoriesController, ProductsController, PlansController];

/** Services other product features may inject (ProductService, PlanService, AvailabilityService...). */
export const CATALOG_EXPORTS = [
  CatalogRepository,
  CategoryService,
  ProductService,
  PricingService,
  AvailabilityService,
  PlanService,
  PeriodUsageReader,
];

export const CATALOG_PROVIDERS = [
  CatalogRepository,
  CategoryService,
  ProductService,
  PricingService,
  AvailabilityService,
  PlanService,
  CatalogSeeder,
  // The usage feature rebinds this to its real reader.
  { provide: PeriodUsageReader, useClass: ZeroPeriodUsageReader },
];
