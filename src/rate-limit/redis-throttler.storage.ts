import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Redis, type RedisOptions } from 'ioredis';
import type { MemoryThrottlerStorage, ThrottlerStorageRecord } from './memory-throttler.storage.js';
import type { RateLimitMetrics } from './rate-limit.metrics.js';

export interface RedisStoreOptions {
  url: string;
  /** prefix of every key (ioredis `keyPrefix`) */
  keyPrefix: string;
  /** per command; past it the request is counted in memory */
  timeoutMs: number;
  /** the client's name on the Redis server (`CLIENT LIST`) */
  connectionName: string;
}

/** After a failed command, requests skip Redis this long (a stalled server costs one timeout a second, not one per request). */
const RETRY_AFTER_ERROR_MS = 1000;
/** Start-up waits at most this long for the first connection attempt to end, either way. */
const START_WAIT_MS = 1000;

/**
 * Connection options from a `redis://` / `rediss://` URL ([user][:password]@host[:port][/db]), read
 * with the WHATWG URL parser: ioredis parses a URL string with Node's deprecated `url.parse()`, which
 * prints a DEP0169 warning at start once the client is bundled (dist/bundle/main.mjs).
 */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const parsed = new URL(url);
  const db = parsed.pathname.replace(/^\//, '');
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(db === '' ? {} : { db: Number(db) }),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * An ioredis client for the limiter that never makes a request wait for a Redis that is not there:
 * no offline queue (a command while disconnected fails at once), no retry of a command, a timeout
 * per command. Once connected (`RedisThrottlerStorage.onModuleInit`) it reconnects forever
 * (ioredis' default back-off, up to 2 s).
 */
export function createRateLimitRedis(options: RedisStoreOptions): Redis {
  return new Redis({
    ...redisOptionsFromUrl(options.url),
    lazyConnect: true, // RedisThrottlerStorage connects on module init, once the app's logger is in place
    keyPrefix: options.keyPrefix,
    connectionName: options.connectionName,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.timeoutMs,
    connectTimeout: Math.max(1000, options.timeoutMs),
  });
}

/**
 * Rate-limit counters shared by every replica, in Redis: `@nest-lab/throttler-storage-redis` (one
 * Lua script per request: INCR of the caller's window key, its PTTL, the block key), with the
 * service's failure rule around it: **a Redis that cannot answer never fails a request.** While
 * Redis is unreachable, slow past RATE_LIMIT_REDIS_TIMEOUT_MS or erroring, each request is counted
 * in this process's memory instead (the same limits, per replica, as without Redis): a warning is
 * logged once per outage (and an info line when Redis answers again), and
 * `product_rate_limit_store_fallbacks_total{reason}` counts the requests.
 */
export class RedisThrottlerStorage implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly shared: ThrottlerStorageRedisService;
  /** `up` after a command succeeded or the connection became ready; `down` after an error, until then */
  private state: 'starting' | 'up' | 'down' = 'starting';
  private skipUntil = 0;
  private closed = false;
  private started?: Promise<void>;

  constructor(
    private readonly redis: Redis,
    private readonly fallback: MemoryThrottlerStorage,
    private readonly metrics: RateLimitMetrics,
  ) {
    this.shared = new ThrottlerStorageRedisService(redis);
    redis.on('ready', () => this.markUp());
    // emitted for every failed connection attempt and broken connection; without a listener ioredis prints each one
    redis.on('error', (err: Error) => this.markDown(err));
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    if (this.redis.status === 'ready' && Date.now() >= this.skipUntil) {
      try {
        const record = await this.shared.increment(key, ttl, limit, blockDuration, throttlerName);
        if (this.state !== 'up') this.markUp();
        return record;
      } catch (err) {
        this.skipUntil = Date.now() + RETRY_AFTER_ERROR_MS;
        this.markDown(err as Error);
        this.metrics.fallback('error');
      }
    } else {
      this.metrics.fallback('unavailable');
    }
    return this.fallback.increment(key, ttl, limit, blockDuration, throttlerName);
  }

  /**
   * Connects, and waits for the first attempt to succeed or fail (at most START_WAIT_MS), so that a
   * replica counts in Redis from its first request when Redis is there. It never fails start-up: a
   * refused connection ends the wait at once, and the client keeps reconnecting in the background.
   */
  onModuleInit(): Promise<void> {
    // the instance is registered twice in the container (our provider and the throttler module's storage token)
    this.started ??= new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, START_WAIT_MS);
      // a failed first attempt rejects with "Connection is closed."; its cause came as an 'error' event
      void this.redis
        .connect()
        .catch(() => undefined)
        .finally(() => {
          clearTimeout(timer);
          resolve();
        });
    });
    return this.started;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.closed) return; // registered twice, called twice
    this.closed = true;
    if (this.redis.status === 'ready') {
      await this.redis.quit().catch(() => this.redis.disconnect());
    } else {
      this.redis.disconnect();
    }
  }

  private markUp(): void {
    if (this.state === 'down') this.logger.log('Rate-limit store (Redis) answers again: limits are shared by the replicas again');
    this.state = 'up';
  }

  private markDown(err: Error): void {
    if (this.state === 'down' || this.closed) return;
    this.state = 'down';
    this.logger.warn(
      { err: { message: err.message, code: (err as { code?: unknown }).code } },
      'Rate-limit store (Redis) unavailable: counting requests per replica until it answers again',
    );
  }
}
