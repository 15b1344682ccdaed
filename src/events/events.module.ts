import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Registry } from 'prom-client';
import type { AppConfig } from '../config/app-config.js';
import { ShutdownModule } from '../common/shutdown/shutdown.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { ProductModule } from '../product/product.ports.js';
import { AsyncApiController } from './asyncapi/asyncapi.controller.js';
import { ConsumerLagMetrics } from './consumer-lag.metrics.js';
import { EventsLifecycle } from './events.lifecycle.js';
import { EventsMetrics } from './events.metrics.js';
import { EventGroups } from './handlers/event-groups.js';
import { SubscriptionEventsController } from './handlers/subscription-events.controller.js';
import { EventBusHealth } from './transport/event-bus-health.js';
import { InboxEventEntity } from './inbox/inbox-event.entity.js';
import { InboxRetention } from './inbox/inbox-retention.js';
import { InboxRepository } from './inbox/inbox.repository.js';
import { OutboxModule } from './outbox/outbox.module.js';
import { OutboxRelay } from './outbox/outbox.relay.js';
import { EventBusConnection } from './transport/event-bus.connection.js';
import { JetStreamServer } from './transport/jetstream.server.js';

/**
 * The event bus (design card: EventsModule): event models, publishers (OutboxModule, which the
 * features import to write events in their transactions), the relay that publishes the outbox to
 * JetStream, the JetStream transport, the inbox and the `@EventPattern` handlers (registered when
 * the app starts its microservices; see bootstrap.ts). The handlers reach the business side only
 * through ProductModule's exported port (SubscriptionEffects).
 */
@Module({
  imports: [TypeOrmModule.forFeature([InboxEventEntity]), OutboxModule, ProductModule, MetricsModule, ShutdownModule],
  controllers: [SubscriptionEventsController, AsyncApiController],
  providers: [
    EventsMetrics,
    EventBusConnection,
    OutboxRelay,
    InboxRepository,
    InboxRetention,
    EventGroups,
    JetStreamServer,
    EventsLifecycle,
    EventBusHealth,
    {
      // product_events_consumer_pending{consumer}, read from JetStream when Prometheus scrapes
      provide: ConsumerLagMetrics,
      inject: [Registry, EventBusConnection, JetStreamServer, ConfigService],
      useFactory: (registry: Registry, connection: EventBusConnection, server: JetStreamServer, config: ConfigService<AppConfig, true>) =>
        new ConsumerLagMetrics(
          registry,
          () => connection.manager(),
          config.get('nats', { infer: true }).stream,
          () => server.durables(),
        ),
    },
  ],
  exports: [OutboxModule, EventBusConnection, JetStreamServer, OutboxRelay, EventBusHealth],
})
export class EventsModule {}
