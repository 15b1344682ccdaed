import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { DatabaseRuntime } from '../../database/database-runtime.js';
import { HEALTH_CHECK_TIMEOUT_MS, withTimeout } from '../utils/health-check-timeout.js';

/** The database answers a ping within the timeout, and no migration is pending. */
@Injectable()
export class DatabaseHealthIndicator {
  /** Migrations are never un-applied by the running service: once all applied, only the ping is repeated. */
  private migrationsApplied = false;

  constructor(
    private readonly database: DatabaseRuntime,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async isHealthy(key = 'database', timeoutMs = HEALTH_CHECK_TIMEOUT_MS): Promise<HealthIndicatorResult> {
    const check = this.indicator.check(key);
    const started = performance.now();
    try {
      await withTimeout(this.database.ping(), timeoutMs);
    } catch (err) {
      const timedOut = err instanceof Error && err.message.startsWith('timed out');
      return check.down({ message: timedOut ? `ping timed out after ${timeoutMs} ms` : 'unreachable' });
    }
    const responseTimeMs = Math.round(performance.now() - started);
    if (!this.migrationsApplied) {
      try {
        const pending = await withTimeout(this.database.migrationsPending(), timeoutMs);
        if (pending) return check.down({ message: 'migrations pending', response_time_ms: responseTimeMs });
        this.migrationsApplied = true;
      } catch {
        return check.down({ message: 'migration state unknown', response_time_ms: responseTimeMs });
      }
    }
    return check.up({ migrations: 'applied', response_time_ms: responseTimeMs });
  }
}
