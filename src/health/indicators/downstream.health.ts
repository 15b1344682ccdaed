import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { DownstreamClient } from '../../clients/downstream.client.js';

/**
 * A downstream service's `/health`, asked through its client: with the client's timeout and through
 * its circuit breaker, so an open circuit is "down" at once, without a call.
 */
export async function downstreamHealth(
  indicator: HealthIndicatorService,
  key: string,
  client: DownstreamClient,
): Promise<HealthIndicatorResult> {
  const check = indicator.check(key);
  const { status, ...details } = await client.healthCheck();
  return status === 'up' ? check.up(details) : check.down(details);
}
