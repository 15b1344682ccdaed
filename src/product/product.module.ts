import { Module } from '@nestjs/common';
import { CATALOG_CONTROLLERS, CATALOG_EXPORTS, CATALOG_PROVIDERS } from './catalog/catalog.providers.js';
import { InfoController } from './info/info.controller.js';

/** Business logic: catalog, plans, subscriptions, usage, lifecycle sweeper. */
@Module({
  controllers: [InfoController, ...CATALOG_CONTROLLERS],
  providers: [...CATALOG_PROVIDERS],
  exports: [...CATALOG_EXPORTS],
})
export class ProductModule {}
