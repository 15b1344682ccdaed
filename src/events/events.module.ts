import { Global, Module } from '@nestjs/common';
import { AsyncApiController } from './asyncapi/asyncapi.controller.js';
import { EventsLifecycle } from './events.lifecycle.js';
import { EventsMetrics } from './events.metrics.js';
import { SubscriptionEventsController } from './handlers/subscription-events.controller.js';
import { InboxRepository } from './inbox/inbox.repository.js';
import { OutboxRelay } from './outbox/outbox.relay.js';
import { OutboxSignal } from './outbox/outbox.signal.js';
import { OutboxStats } from './outbox/outbox.stats.js';
import { NatsEventBusHealth } from './health/nats-event-bus.health.js';
import { EventPublisher } from './publishers/event.publisher.js';
import { EventBusConnection } from './transport/event-bus.connection.js';
import { JetStreamServer } from './transport/jetstream.server.js';

/**
 * Event models, publishers (outbox), relay to JetStream and @EventPattern handlers (dispatched by
 * JetStreamServer, connected as a hybrid microservice in bootstrap.ts).
 */
@Global()
@Module({
  controllers: [SubscriptionEventsController, AsyncApiController],
  providers: [
    EventPublisher,
    OutboxSignal,
    OutboxStats,
    EventsMetrics,
    EventBusConnection,
    OutboxRelay,
    InboxRepository,
    JetStreamServer,
    EventsLifecycle,
    NatsEventBusHealth,
  ],
  exports: [EventPublisher, EventBusConnection, InboxRepository, JetStreamServer, OutboxRelay, OutboxStats, NatsEventBusHealth],
})
export class EventsModule {}
