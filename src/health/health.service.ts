import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
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
  /** the port this process serves HTTP on (SPEC section 7) */
  port: number;
  timestamp: string;
  dependencies: Record<DependencyName, DependencyHealth>;
}

/**
 * `check`, run at most once at a time: a call while it runs gets the running check's answer, a call
 * after it ended starts a new one (no answer outlives its check, so nothing is cached). /health and
 * /health/dependencies are public and each of their calls asks PostgreSQL and the account and
 * organization services; a burst of them (every replica of a dashboard polling at once, or a
 * flood) costs each dependency one check at a time instead of one per call.
 */
export function sharedWhileRunning(check: () => Promise<HealthIndicatorResult>): () => Promise<HealthIndicatorResult> {
  let running: Promise<HealthIndicatorResult> | undefined;
  return () =>
    (running ??= check().finally(() => {
      running = undefined;
    }));
}

/** Which indicators each health endpoint runs, and the /health summary built from them. */
@Injectable()
export class HealthService {
  /** the listening port, once known (PORT until the listener has one) */
  private listeningPort: number | undefined;

  constructor(
    private readonly database: DatabaseHealthIndicator,
    private readonly nats: NatsHealthIndicator,
    private readonly accounts: AccountServiceHealthIndicator,
    private readonly organizations: OrganizationServiceHealthIndicator,
    private readonly lifecycle: LifecycleHealthIndicator,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly outbox: OutboxHealthIndicator,
    private readonly http: HttpAdapterHost,
  ) {}

  /** Readiness: the database (ping + migrations) and not shutting down. Nothing downstream. */
  readiness(): Check[] {
    return [this.databaseCheck, () => this.lifecycle.isHealthy('lifecycle')];
  }

  /** Every dependency. */
  dependencies(): Check[] {
    return [this.databaseCheck, () => this.nats.isHealthy('nats'), this.accountsCheck, this.organizationsCheck];
  }

  /** /health/dependencies: every dependency plus the outbox backlog (not part of the /health summary). */
  dependencyReport(): Check[] {
    // the backlog query is shared by concurrent callers already (OutboxStats.read)
    return [...this.dependencies(), () => this.outbox.isHealthy('outbox')];
  }

  // The checks that ask something over the network, each shared by the calls that arrive while it runs.
  private readonly databaseCheck = sharedWhileRunning(() => this.database.isHealthy('database'));
  private readonly accountsCheck = sharedWhileRunning(() => this.accounts.isHealthy('account_service'));
  private readonly organizationsCheck = sharedWhileRunning(() => this.organizations.isHealthy('organization_service'));

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
      port: this.port(),
      timestamp: new Date().toISOString(),
      dependencies,
    };
  }

  /** The port the HTTP server listens on (it differs from PORT only with PORT=0, as in tests). */
  private port(): number {
    if (this.listeningPort !== undefined) return this.listeningPort;
    const server = this.http.httpAdapter?.getHttpServer() as { address?: () => unknown } | undefined;
    const address = server?.address?.();
    if (address !== null && typeof address === 'object' && typeof (address as { port?: unknown }).port === 'number') {
      this.listeningPort = (address as { port: number }).port;
      return this.listeningPort;
    }
    return this.config.get('http', { infer: true }).port;
  }
}
