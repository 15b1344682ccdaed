import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../../config/app-config.js';

/** A check interval counts as quiet when the event loop was busy at most this share of it. */
const QUIET_UTILIZATION = 0.1;

const MiB = 2 ** 20;

/** Provider token of the MemoryRuntime (CommonModule provides the process's own, `processMemory()`). */
export const MEMORY_RUNTIME = Symbol('MEMORY_RUNTIME');

/** What the reducer reads and does, injectable so its decisions are tested without a real heap. */
export interface MemoryRuntime {
  /** a monotonic clock, in milliseconds */
  now(): number;
  /** the process's resident memory, in bytes */
  resident(): number;
  /** share of the time since the previous call the event loop was busy (0-1) */
  utilizationSinceLastCall(): number;
  /** a full, memory-reducing garbage collection */
  collectGarbage(): Promise<void>;
}

/**
 * The process's own heap and event loop. The collection is V8's memory-reducing one, asked for
 * through an in-process inspector session (`HeapProfiler.collectGarbage`, no port opened): it also
 * shrinks the young generation and gives the freed pages back, where V8's own collections under
 * load only grow the heap's limit.
 */
export const processMemory = (): MemoryRuntime => {
  let last = performance.eventLoopUtilization();
  return {
    now: () => performance.now(),
    resident: () => process.memoryUsage.rss(),
    utilizationSinceLastCall: () => {
      const now = performance.eventLoopUtilization();
      const delta = performance.eventLoopUtilization(now, last);
      last = now;
      return delta.utilization;
    },
    collectGarbage: () =>
      new Promise<void>((resolve, reject) => {
        const session = new Session();
        session.connect();
        session.post('HeapProfiler.collectGarbage', (err) => {
          // not from inside the callback: a session disconnected there leaves the event loop stuck
          setImmediate(() => {
            session.disconnect();
            if (err) reject(err);
            else resolve();
          });
        });
      }),
  };
};

/** How many checks a quiet period is cut into (a check every MEMORY_IDLE_GC_MS / 6, at most every 5 s). */
const CHECKS_PER_PERIOD = 6;
const MAX_CHECK_INTERVAL_MS = 5000;

/**
 * Gives memory back when the process has been quiet for a while after a load (MEMORY_IDLE_GC_MS,
 * docs/operations.md "Deployment"). Under load V8 grows its heap far past what is live (to ~150 MiB
 * of heap for ~35 MiB live after a minute of usage records) and keeps every page it touched when the
 * load stops: the process stayed at ~285 MiB resident long after. A check runs every
 * MEMORY_IDLE_GC_MS / 6 (at most every 5 s); once the event loop has been busy less than 10 % of
 * every check interval for a whole MEMORY_IDLE_GC_MS, and the resident memory has grown at least
 * MEMORY_IDLE_GC_GROWTH_MIB since the reducer's last collection (or the start), it runs one full,
 * memory-reducing collection (~100-160 ms on 2 slow cores), which took the same process back to
 * ~140-155 MiB. None while busy, none in short lulls (the collection leaves a small heap, and it
 * seems colder code, so the next burst starts slower for a few seconds: a service collecting in
 * every 5-10 s gap between bursts ran 10-15 % slower in the benchmark), none again until memory has
 * grown again.
 */
@Injectable()
export class IdleMemoryReducer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('IdleMemoryReducer');
  private readonly quietMs: number;
  private readonly growthBytes: number;
  private timer?: NodeJS.Timeout;
  private baseline = 0;
  /** when the current quiet stretch began (performance.now()); undefined while busy */
  private quietSince?: number;
  private lastCheck = 0;
  private collecting = false;

  constructor(
    config: ConfigService<AppConfig, true>,
    @Inject(MEMORY_RUNTIME) private readonly runtime: MemoryRuntime,
  ) {
    const memory = config.get('memory', { infer: true });
    this.quietMs = memory.idleGcMs;
    this.growthBytes = memory.idleGcGrowthBytes;
  }

  /** Time between two checks. */
  get checkIntervalMs(): number {
    return Math.min(MAX_CHECK_INTERVAL_MS, Math.ceil(this.quietMs / CHECKS_PER_PERIOD));
  }

  onApplicationBootstrap(): void {
    if (this.quietMs === 0) return;
    this.baseline = this.runtime.resident();
    this.runtime.utilizationSinceLastCall();
    this.lastCheck = this.runtime.now();
    this.timer = setInterval(() => void this.check(), this.checkIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check (the timer calls it; tests call it directly). Resolves true when it collected. */
  async check(): Promise<boolean> {
    const now = this.runtime.now();
    const utilization = this.runtime.utilizationSinceLastCall();
    const intervalStart = this.lastCheck;
    this.lastCheck = now;
    if (this.collecting) return false;
    if (utilization > QUIET_UTILIZATION) {
      this.quietSince = undefined;
      return false;
    }
    this.quietSince ??= intervalStart;
    if (now - this.quietSince < this.quietMs) return false;
    const before = this.runtime.resident();
    if (before < this.baseline + this.growthBytes) {
      // less than before (V8 gives some back by itself): measure the next growth from there
      this.baseline = Math.min(this.baseline, before);
      return false;
    }
    this.collecting = true;
    const started = performance.now();
    try {
      await this.runtime.collectGarbage();
    } catch (err) {
      this.logger.warn({ err }, 'idle garbage collection failed; no more idle collections in this process');
      this.onApplicationShutdown();
      return false;
    } finally {
      this.collecting = false;
    }
    this.baseline = this.runtime.resident();
    // the collection itself kept the loop busy: it must not count against the next interval
    this.runtime.utilizationSinceLastCall();
    this.lastCheck = this.runtime.now();
    this.logger.log(
      {
        rss_before_mib: Math.round(before / MiB),
        rss_after_mib: Math.round(this.baseline / MiB),
        pause_ms: Math.round(performance.now() - started),
      },
      'quiet after load: heap collected, memory returned',
    );
    return true;
  }
}
