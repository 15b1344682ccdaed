import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Clock } from '../common/clock/clock.js';
import { FixedWindowLimiter, type RateLimitDecision } from './fixed-window.limiter.js';

/** What a `@nestjs/throttler` storage answers (the library's index does not export the interface's name). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** The key of one throttler's counter: the `default` throttler's keys are the bare caller keys. */
export const counterKey = (key: string, throttlerName: string): string => (throttlerName === 'default' ? key : `${throttlerName}:${key}`);

/** A decision in the record shape `@nestjs/throttler` storages answer with (seconds, like its Redis storage). */
export function toStorageRecord(decision: RateLimitDecision): ThrottlerStorageRecord {
  return decision.allowed
    ? { totalHits: decision.limit - decision.remaining, timeToExpire: decision.resetSeconds, isBlocked: false, timeToBlockExpire: 0 }
    : { totalHits: decision.limit + 1, timeToExpire: decision.resetSeconds, isBlocked: true, timeToBlockExpire: decision.resetSeconds };
}

/**
 * The `@nestjs/throttler` storage of one process: fixed windows in memory (`FixedWindowLimiter`),
 * timed by the injected Clock (tests move it). Besides the storage interface (`increment`, a
 * promise), `hit` answers synchronously: `RateLimitGuard` calls it on every request without a
 * promise or an await. The library's own `ThrottlerStorageService` keeps an expiry timestamp per
 * request and filters the caller's whole array on every hit (up to `RATE_LIMIT_PER_MIN` entries per
 * caller: ~10 µs a request in `bench/rate-limit-guard.mjs`); this keeps one small record per caller.
 *
 * `blockDuration` is not used: a refused caller is refused until its window ends (the SPEC's
 * `Retry-After`), and refused requests do not count.
 */
export class MemoryThrottlerStorage implements ThrottlerStorage {
  private readonly limiter = new FixedWindowLimiter();

  constructor(private readonly clock: Clock) {}

  hit(key: string, limit: number, ttlMs: number, throttlerName: string): RateLimitDecision {
    return this.limiter.hit(counterKey(key, throttlerName), limit, ttlMs, this.clock.now().getTime());
  }

  increment(key: string, ttl: number, limit: number, _blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    return Promise.resolve(toStorageRecord(this.hit(key, limit, ttl, throttlerName)));
  }

  /** Callers with a live window (diagnostics and tests). */
  get size(): number {
    return this.limiter.size;
  }
}
