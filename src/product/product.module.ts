import { Module } from '@nestjs/common';
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
  controllers: [InfoController, SubscriptionsController, UsageController],
  providers: [
    SubscriptionService,
    { provide: SubscriptionEffects, useExisting: SubscriptionService },
    UsageService,
    EntitlementService,
    LifecycleSweeper,
  ],
  exports: [SubscriptionEffects, SubscriptionService, UsageService, EntitlementService, LifecycleSweeper],
})
export class ProductModule {}
