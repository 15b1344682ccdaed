import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../../config/app-config.js';

/** A window counts as quiet when the event loop was busy at most this share of it. */
export const QUIET_UTILIZATION = 0.1;

const MiB = 2 ** 20;

/** Provider token of the MemoryRuntime (unset: the process's own, `processMemory()`). */
export const MEMORY_RUNTIME = Symbol('MEMORY_RUNTIME');

/** What the reducer reads and does, injectable so its decisions are tested without a real heap. */
export interface MemoryRuntime {
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

/**
 * Gives memory back when the process goes quiet after a load (MEMORY_IDLE_GC_MS, docs/operations.md
 * "Memory"). Under load V8 grows its heap far past what is live (to ~150 MiB of heap for ~35 MiB
 * live after a minute of usage records) and keeps every page it touched when the load stops: the
 * process stayed at ~285 MiB resident long after. Every MEMORY_IDLE_GC_MS this looks at the last
 * window: if the event loop was busy less than 10 % of it and the heap has grown by at least
 * MEMORY_IDLE_GC_GROWTH_MIB since the last collection of its own, it runs one full collection
 * (tens of milliseconds, when nothing much is waiting), which took the same process back to ~130 MiB.
 * At most one collection per window, none while busy, none again until the heap grows again.
 */
@Injectable()
export class IdleMemoryReducer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('IdleMemoryReducer');
  private readonly windowMs: number;
  private readonly growthBytes: number;
  private timer?: NodeJS.Timeout;
  private baseline = 0;
  private collecting = false;
  private readonly runtime: MemoryRuntime;

  constructor(config: ConfigService<AppConfig, true>, @Optional() @Inject(MEMORY_RUNTIME) runtime?: MemoryRuntime) {
    this.runtime = runtime ?? processMemory();
    const memory = config.get('memory', { infer: true });
    this.windowMs = memory.idleGcMs;
    this.growthBytes = memory.idleGcGrowthBytes;
  }

  onApplicationBootstrap(): void {
    if (this.windowMs === 0) return;
    this.baseline = this.runtime.resident();
    this.runtime.utilizationSinceLastCall();
    this.timer = setInterval(() => void this.check(), this.windowMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One window's decision (the timer calls it; tests call it directly). Resolves true when it collected. */
  async check(): Promise<boolean> {
    const utilization = this.runtime.utilizationSinceLastCall();
    if (this.collecting || utilization > QUIET_UTILIZATION) return false;
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
    // the collection itself kept the loop busy: it must not count against the next window
    this.runtime.utilizationSinceLastCall();
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
