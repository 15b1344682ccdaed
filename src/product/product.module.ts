import { Module } from '@nestjs/common';
import { AdminModule } from './admin/admin.module.js';
import { CatalogModule } from './catalog/catalog.module.js';
import { CostsModule } from './costs/costs.module.js';
import { InfoController } from './info.controller.js';
import { PricingModule } from './pricing/pricing.module.js';
import { ServiceStatisticsController } from './statistics/service-statistics.controller.js';
import { ServiceStatistics } from './statistics/service-statistics.service.js';
import { SubscriptionEffects } from './subscriptions/subscription-effects.js';
import { SubscriptionEffectsService } from './subscriptions/subscription-effects.service.js';
import { SubscriptionsModule } from './subscriptions/subscriptions.module.js';
import { UsageModule } from './usage/usage.module.js';

/**
 * The business logic (design card: ProductModule), as features with explicit imports:
 *
 *   CatalogModule  ←  SubscriptionsModule  ←  UsageModule  ←  PricingModule
 *   CostsModule (provider cost definitions)  ←  UsageModule (provider cost of each record)
 *   CatalogModule, CostsModule  ←  AdminModule (admin catalog routes, catalog alignment)
 *
 * plus what spans them (`/info`, `/statistics/service`). Its one export is the port the event
 * handlers call: SubscriptionEffects (what payment.completed, wallet.insufficient_funds and
 * user.deleted do to subscriptions).
 */
@Module({
  imports: [CatalogModule, CostsModule, SubscriptionsModule, UsageModule, PricingModule, AdminModule],
  controllers: [InfoController, ServiceStatisticsController],
  providers: [ServiceStatistics, { provide: SubscriptionEffects, useExisting: SubscriptionEffectsService }],
  exports: [SubscriptionEffects],
})
export class ProductModule {}
