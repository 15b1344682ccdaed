import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ClientsModule } from '../../clients/clients.module.js';
import { OutboxModule } from '../../events/outbox/outbox.module.js';
import { IdempotencyModule } from '../../idempotency/idempotency.module.js';
import { CatalogModule } from '../catalog/catalog.module.js';
import { EntitlementService } from './entitlement.service.js';
import { EntitlingSubscriptionsCache } from './entitling-subscriptions.cache.js';
import { LifecycleSweeper } from './lifecycle.sweeper.js';
import { Memberships } from './memberships.service.js';
import { SubscriptionCommands } from './subscription-commands.service.js';
import { SubscriptionEffectsService } from './subscription-effects.service.js';
import { SubscriptionLifecycle } from './subscription-lifecycle.service.js';
import { SubscriptionQueries } from './subscription-queries.service.js';
import { SubscriptionRepository } from './subscription.repository.js';
import { SubscriptionEntity } from './subscription.entity.js';
import { SubscriptionTransitions } from './subscription-transitions.service.js';
import { SubscriptionsController } from './subscriptions.controller.js';

/**
 * Who holds which plan: creation (with the account and organization checks of ClientsModule's
 * PlatformDirectory), the state machine and its REST commands, reads, the time-driven lifecycle
 * and its sweeper (which also prunes expired idempotency keys), the effects of consumed events,
 * and entitlements.
 */
@Module({
  imports: [TypeOrmModule.forFeature([SubscriptionEntity]), CatalogModule, ClientsModule, OutboxModule, IdempotencyModule],
  controllers: [SubscriptionsController],
  providers: [
    SubscriptionRepository,
    SubscriptionTransitions,
    SubscriptionCommands,
    SubscriptionQueries,
    SubscriptionLifecycle,
    LifecycleSweeper,
    SubscriptionEffectsService,
    EntitlementService,
    EntitlingSubscriptionsCache,
    Memberships,
  ],
  exports: [
    SubscriptionQueries,
    EntitlementService,
    EntitlingSubscriptionsCache,
    SubscriptionEffectsService,
    LifecycleSweeper,
    Memberships,
  ],
})
export class SubscriptionsModule {}
