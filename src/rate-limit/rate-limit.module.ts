import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { type ThrottlerModuleOptions, ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import { Clock } from '../common/clock/clock.js';
import type { AppConfig } from '../config/app-config.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { RefusedCallers } from '../common/auth/refused-callers.js';
import { MemoryThrottlerStorage } from './memory-throttler.storage.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RateLimitMetrics } from './rate-limit.metrics.js';

/** The storage instance, as a provider of its own so that its shutdown hook (closing Redis) runs. */
export const RATE_LIMIT_STORAGE = Symbol('RATE_LIMIT_STORAGE');

/**
 * The counters: in this process (`MemoryThrottlerStorage`) without RATE_LIMIT_REDIS_URL, else in
 * Redis shared by the replicas (`RedisThrottlerStorage`, which counts in memory while Redis cannot
 * answer). The Redis storage, ioredis and `@nest-lab/throttler-storage-redis` are imported only
 * when RATE_LIMIT_REDIS_URL is set: a process without Redis does not load or initialise them.
 */
@Module({
  imports: [MetricsModule],
  providers: [
    RateLimitMetrics,
    {
      provide: RATE_LIMIT_STORAGE,
      inject: [ConfigService, Clock, RateLimitMetrics],
      useFactory: async (config: ConfigService<AppConfig, true>, clock: Clock, metrics: RateLimitMetrics): Promise<ThrottlerStorage> => {
        const settings = config.get('rateLimit', { infer: true });
        const memory = new MemoryThrottlerStorage(clock);
        if (settings.redisUrl === undefined) return memory;
        const { createRateLimitRedis, RedisThrottlerStorage } = await import('./redis-throttler.storage.js');
        const redis = createRateLimitRedis({
          url: settings.redisUrl,
          keyPrefix: settings.redisKeyPrefix,
          timeoutMs: settings.redisTimeoutMs,
          connectionName: config.get('serviceName', { infer: true }),
        });
        return new RedisThrottlerStorage(redis, memory, metrics);
      },
    },
  ],
  exports: [RATE_LIMIT_STORAGE],
})
class RateLimitStorageModule {}

/**
 * Rate limits (SPEC section 5) on `@nestjs/throttler`: its (global) module with one throttler,
 * `default` = RATE_LIMIT_PER_MIN requests per 60 s, over our storage. The guard, `RateLimitGuard`,
 * is registered in AppModule as an APP_GUARD after AuthGuard, and is AuthGuard's RefusedCallers:
 * the requests AuthGuard refuses count too.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [ConfigService, RATE_LIMIT_STORAGE],
      useFactory: (config: ConfigService<AppConfig, true>, storage: ThrottlerStorage): ThrottlerModuleOptions => ({
        throttlers: [{ name: 'default', ttl: 60_000, limit: config.get('rateLimit', { infer: true }).perMinute }],
        storage,
      }),
    }),
  ],
  providers: [RateLimitGuard, { provide: RefusedCallers, useExisting: RateLimitGuard }],
  exports: [RateLimitGuard, RefusedCallers],
})
export class RateLimitModule {}
