import { Module } from '@nestjs/common';
import { CATALOG_CONTROLLERS, CATALOG_EXPORTS, CATALOG_PROVIDERS } from './catalog/catalog.providers.js';
import { PeriodUsageReader } from './catalog/period-usage.reader.js';
import { InfoController } from './info/info.controller.js';
import { LifecycleSweeper } from './lifecycle/lifecycle.sweeper.js';
import { EntitlementService } from './subscriptions/entitlement.service.js';
import { SubscriptionEffects } from './subscriptions/subscription-effects.js';
import { SubscriptionService } from './subscriptions/subscription.service.js';
import { SubscriptionsController } from './subscriptions/subscriptions.controller.js';
import { UsageController } from './usage/usage.controller.js';
import { UsageService } from './usage/usage.service.js';

/** Business logic: catalog, plans, subscriptions, usage, lifecycle sweeper. */
@Module({
  controllers: [InfoController, ...CATALOG_CONTROLLERS, SubscriptionsController, UsageController],
  providers: [
    ...CATALOG_PROVIDERS,
    // the real running totals replace the catalog's zero default (the later binding of a token wins)
    { provide: PeriodUsageReader, useExisting: UsageService },
    SubscriptionService,
    { provide: SubscriptionEffects, useExisting: SubscriptionService },
    UsageService,
    EntitlementService,
    LifecycleSweeper,
  ],
  exports: [...CATALOG_EXPORTS, SubscriptionEffects, SubscriptionService, UsageService, EntitlementService, LifecycleSweeper],
})
export class ProductModule {}
