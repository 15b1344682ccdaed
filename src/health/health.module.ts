import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ClientsModule } from '../clients/clients.module.js';
import { ShutdownModule } from '../common/shutdown/shutdown.module.js';
import { EventsModule } from '../events/events.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { HealthAliasesController } from './health-aliases.controller.js';
import { HealthController } from './health.controller.js';
import { HealthService } from './health.service.js';
import { AccountServiceHealthIndicator } from './indicators/account-service.health.js';
import { DatabaseHealthIndicator } from './indicators/database.health.js';
import { LifecycleHealthIndicator } from './indicators/lifecycle.health.js';
import { NatsHealthIndicator } from './indicators/nats.health.js';
import { OrganizationServiceHealthIndicator } from './indicators/organization-service.health.js';
import { OutboxHealthIndicator } from './indicators/outbox.health.js';
import { ReadinessMetrics } from './readiness.metrics.js';

/**
 * /health, /health/live, /health/ready, /health/dependencies (Terminus), and the /health summary's
 * aliases the platform calls (/api/v1/products/health, /api/v1/product/health): one indicator per
 * dependency (database, NATS, the account and organization services, the outbox backlog) and the
 * shutdown state. It sits on top: it asks the other modules, nobody asks it.
 */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), ClientsModule, EventsModule, MetricsModule, ShutdownModule],
  controllers: [HealthController, HealthAliasesController],
  providers: [
    HealthService,
    DatabaseHealthIndicator,
    NatsHealthIndicator,
    AccountServiceHealthIndicator,
    OrganizationServiceHealthIndicator,
    LifecycleHealthIndicator,
    OutboxHealthIndicator,
    ReadinessMetrics,
  ],
})
export class HealthModule {}
