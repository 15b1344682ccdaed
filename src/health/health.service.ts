import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import type { AppConfig } from '../config/app-config.js';
import { AccountServiceHealthIndicator } from './indicators/account-service.health.js';
import { DatabaseHealthIndicator } from './indicators/database.health.js';
import { LifecycleHealthIndicator } from './indicators/lifecycle.health.js';
import { NatsHealthIndicator } from './indicators/nats.health.js';
import { OrganizationServiceHealthIndicator } from './indicators/organization-service.health.js';
import { OutboxHealthIndicator } from './indicators/outbox.health.js';

/** One indicator run. */
export type Check = () => Promise<HealthIndicatorResult> | HealthIndicatorResult;

export type DependencyName = 'database' | 'nats' | 'account_service' | 'organization_service';

export interface DependencyHealth {
  /** `disabled`: turned off on purpose (NATS_URL=off); neither healthy nor an outage */
  status: 'healthy' | 'unhealthy' | 'disabled';
  [detail: string]: unknown;
}

/** The platform-style summary served at GET /health. */
export interface PlatformHealth {
  status: 'healthy' | 'degraded' | 'unhealthy';
  service: string;
  version: string;
  timestamp: string;
  dependencies: Record<DependencyName, DependencyHealth>;
}

/** Which indicators each health endpoint runs, and the /health summary built from them. */
@Injectable()
export class HealthService {
  constructor(
    private readonly database: DatabaseHealthIndicator,
    private readonly nats: NatsHealthIndicator,
    private readonly accounts: AccountServiceHealthIndicator,
    private readonly organizations: OrganizationServiceHealthIndicator,
    private readonly lifecycle: LifecycleHealthIndicator,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly outbox: OutboxHealthIndicator,
  ) {}

  /** Readiness: the database (ping + migrations) and not shutting down. Nothing downstream. */
  readiness(): Check[] {
    return [() => this.database.isHealthy('database'), () => this.lifecycle.isHealthy('lifecycle')];
  }

  /** Every dependency. */
  dependencies(): Check[] {
    return [
      () => this.database.isHealthy('database'),
      () => this.nats.isHealthy('nats'),
      () => this.accounts.isHealthy('account_service'),
      () => this.organizations.isHealthy('organization_service'),
    ];
  }

  /** /health/dependencies: every dependency plus the outbox backlog (not part of the /health summary). */
  dependencyReport(): Check[] {
    return [...this.dependencies(), () => this.outbox.isHealthy('outbox')];
  }

  /** unhealthy when the database is down; degraded when anything else is (a disabled bus is not down); healthy otherwise. */
  async summary(): Promise<PlatformHealth> {
    const results = await Promise.all(this.dependencies().map(async (check) => Promise.resolve(check())));
    const dependencies = {} as Record<DependencyName, DependencyHealth>;
    for (const result of results) {
      for (const [name, { status, ...details }] of Object.entries(result)) {
        const disabled = status === 'up' && details.state === 'disabled';
        dependencies[name as DependencyName] = { status: disabled ? 'disabled' : status === 'up' ? 'healthy' : 'unhealthy', ...details };
      }
    }
    const down = Object.values(dependencies).some((d) => d.status === 'unhealthy');
    return {
      status: dependencies.database.status === 'unhealthy' ? 'unhealthy' : down ? 'degraded' : 'healthy',
      service: this.config.get('serviceName', { infer: true }),
      version: this.config.get('version', { infer: true }),
      timestamp: new Date().toISOString(),
      dependencies,
    };
  }
}
