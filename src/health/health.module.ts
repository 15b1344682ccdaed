import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { HealthService } from './health.service.js';
import { AccountServiceHealthIndicator } from './indicators/account-service.health.js';
import { DatabaseHealthIndicator } from './indicators/database.health.js';
import { LifecycleHealthIndicator } from './indicators/lifecycle.health.js';
import { NatsHealthIndicator } from './indicators/nats.health.js';
import { OrganizationServiceHealthIndicator } from './indicators/organization-service.health.js';
import { OutboxHealthIndicator } from './indicators/outbox.health.js';
import { EventBusHealth } from './ports/event-bus-health.js';
import { NatsEventBusHealth } from '../events/health/nats-event-bus.health.js';
import { ShutdownState } from './shutdown-state.js';

/**
 * /health, /health/live, /health/ready, /health/dependencies (Terminus) and the shutdown state.
 * EventBusHealth: rebind to the real NATS connection state (e.g. `{ provide: EventBusHealth,
 * useExisting: <the events module's connection> }` here, or overrideProvider in tests).
 */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [
    ShutdownState,
    HealthService,
    DatabaseHealthIndicator,
    NatsHealthIndicator,
    AccountServiceHealthIndicator,
    OrganizationServiceHealthIndicator,
    LifecycleHealthIndicator,
    OutboxHealthIndicator,
    // the real NATS connection state (EventsModule is global and exports it)
    { provide: EventBusHealth, useExisting: NatsEventBusHealth },
  ],
  exports: [ShutdownState],
})
export class HealthModule {}
