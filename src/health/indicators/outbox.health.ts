import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { OutboxStats } from '../../events/outbox/outbox.stats.js';
import { HEALTH_CHECK_TIMEOUT_MS, withTimeout } from '../utils/health-check-timeout.js';

/** Events stuck longer than this mean the relay is not getting them out (NATS down, relay stuck). */
export const OUTBOX_STALE_AFTER_SECONDS = 300;

/** The outbox backlog: down when the oldest unpublished event is older than 5 minutes. */
@Injectable()
export class OutboxHealthIndicator {
  constructor(
    private readonly stats: OutboxStats,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async isHealthy(key = 'outbox', timeoutMs = HEALTH_CHECK_TIMEOUT_MS): Promise<HealthIndicatorResult> {
    const check = this.indicator.check(key);
    try {
      const { backlog, oldestAgeSeconds } = await withTimeout(this.stats.read(), timeoutMs);
      const details = { backlog, oldest_age_seconds: Math.round(oldestAgeSeconds) };
      return oldestAgeSeconds > OUTBOX_STALE_AFTER_SECONDS
        ? check.down({ ...details, message: `unpublished events older than ${OUTBOX_STALE_AFTER_SECONDS} s` })
        : check.up(details);
    } catch {
      return check.down({ message: 'backlog unknown (database unreachable)' });
    }
  }
}
