import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';

/**
 * Why a request was counted in process memory instead of the shared store (Redis):
 * `unavailable` (not connected, or backing off after an error), `error` (the command failed or
 * did not answer within RATE_LIMIT_REDIS_TIMEOUT_MS).
 */
export type StoreFallbackReason = 'unavailable' | 'error';

/**
 * `product_rate_limit_store_fallbacks_total{reason}`: requests the shared rate-limit store could not
 * count, counted per replica instead. Both series exist from the start (0), with or without Redis,
 * so a rule can use `rate()` on them. Nothing is counted per request on the normal path.
 */
@Injectable()
export class RateLimitMetrics {
  private readonly fallbacks: Counter<'reason'>;

  constructor(registry: Registry) {
    this.fallbacks = new Counter({
      name: 'product_rate_limit_store_fallbacks_total',
      help: 'Requests counted in process memory because the shared rate-limit store (Redis) could not answer, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    for (const reason of ['unavailable', 'error'] as const) this.fallbacks.inc({ reason }, 0);
  }

  fallback(reason: StoreFallbackReason): void {
    this.fallbacks.inc({ reason });
  }
}
