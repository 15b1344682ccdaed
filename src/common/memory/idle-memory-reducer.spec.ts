import type { ConfigService } from '@nestjs/config';
import { type AppConfig, ConfigValidationError, loadConfig } from '../../config/app-config.js';
import { IdleMemoryReducer, type MemoryRuntime, processMemory } from './idle-memory-reducer.js';

const MiB = 2 ** 20;

/** A process whose clock, resident memory and event-loop utilization the test sets. */
class FakeRuntime implements MemoryRuntime {
  clock = 0;
  rss = 130 * MiB;
  utilization = 0;
  /** resident memory after a collection */
  afterCollection = 135 * MiB;
  collections = 0;
  fail?: Error;
  release?: () => void;

  now(): number {
    return this.clock;
  }

  resident(): number {
    return this.rss;
  }

  utilizationSinceLastCall(): number {
    return this.utilization;
  }

  async collectGarbage(): Promise<void> {
    this.collections++;
    if (this.release) await new Promise<void>((resolve) => (this.release = resolve));
    if (this.fail) throw this.fail;
    this.rss = this.afterCollection;
  }
}

const configOf = (env: Record<string, string>): ConfigService<AppConfig, true> => {
  const config = loadConfig(env);
  return { get: (key: keyof AppConfig) => config[key] } as unknown as ConfigService<AppConfig, true>;
};

describe('IdleMemoryReducer', () => {
  let runtime: FakeRuntime;
  let reducer: IdleMemoryReducer;

  /** One check interval (5 s) goes by with the event loop `utilization` busy, then the reducer checks. */
  const interval = (utilization: number): Promise<boolean> => {
    runtime.utilization = utilization;
    runtime.clock += reducer.checkIntervalMs;
    return reducer.check();
  };
  /** `n` intervals in a row; resolves to what each check did. */
  const intervals = async (n: number, utilization: number): Promise<boolean[]> => {
    const done: boolean[] = [];
    for (let i = 0; i < n; i++) done.push(await interval(utilization));
    return done;
  };

  beforeEach(() => {
    runtime = new FakeRuntime();
    reducer = new IdleMemoryReducer(configOf({ MEMORY_IDLE_GC_MS: '30s', MEMORY_IDLE_GC_GROWTH_MIB: '32' }), runtime);
    reducer.onApplicationBootstrap(); // baseline: 130 MiB
  });

  afterEach(() => reducer.onApplicationShutdown());

  it('checks every sixth of the quiet period, at most every 5 s', () => {
    expect(reducer.checkIntervalMs).toBe(5000);
    expect(new IdleMemoryReducer(configOf({ MEMORY_IDLE_GC_MS: '600' }), runtime).checkIntervalMs).toBe(100);
    expect(new IdleMemoryReducer(configOf({ MEMORY_IDLE_GC_MS: '10m' }), runtime).checkIntervalMs).toBe(5000);
  });

  it('collects once after a whole quiet period with memory grown past the threshold, then waits for new growth', async () => {
    await interval(0.9); // the load
    runtime.rss = 300 * MiB;
    // quiet from here: the sixth quiet interval completes 30 s of quiet
    expect(await intervals(6, 0.02)).toEqual([false, false, false, false, false, true]);
    expect(runtime.collections).toBe(1);
    // still quiet, nothing grew since: nothing more to give back
    runtime.rss = 140 * MiB;
    expect(await intervals(6, 0.02)).toEqual([false, false, false, false, false, false]);
    // growth is measured from what the collection left (135 MiB): 160 is not enough, 170 is
    runtime.rss = 160 * MiB;
    await expect(interval(0)).resolves.toBe(false);
    runtime.rss = 170 * MiB;
    await expect(interval(0)).resolves.toBe(true);
    expect(runtime.collections).toBe(2);
  });

  it('never collects while busy, nor in lulls shorter than the quiet period', async () => {
    runtime.rss = 400 * MiB;
    expect(await intervals(10, 0.5)).toEqual(Array(10).fill(false));
    // five quiet intervals (25 s), one busy one, five quiet ones again: never 30 s in a row
    for (let round = 0; round < 3; round++) {
      expect(await intervals(5, 0.05)).toEqual(Array(5).fill(false));
      await expect(interval(0.11)).resolves.toBe(false);
    }
    expect(runtime.collections).toBe(0);
    // exactly 10 % busy still counts as quiet
    expect(await intervals(6, 0.1)).toEqual([false, false, false, false, false, true]);
  });

  it('does not collect for growth under the threshold, and measures from a lower level when memory shrank by itself', async () => {
    runtime.rss = 161 * MiB;
    expect(await intervals(6, 0)).toEqual(Array(6).fill(false));
    runtime.rss = 100 * MiB; // V8 gave some back on its own
    await expect(interval(0)).resolves.toBe(false);
    runtime.rss = 133 * MiB; // 33 MiB over the new level, and the process has long been quiet
    await expect(interval(0)).resolves.toBe(true);
  });

  it('runs one collection at a time', async () => {
    runtime.rss = 300 * MiB;
    await intervals(5, 0);
    runtime.release = () => undefined;
    const first = interval(0);
    await expect(interval(0)).resolves.toBe(false);
    runtime.release();
    await expect(first).resolves.toBe(true);
    expect(runtime.collections).toBe(1);
  });

  it('stops trying after a failed collection', async () => {
    runtime.rss = 300 * MiB;
    runtime.fail = new Error('inspector unavailable');
    expect(await intervals(6, 0)).toEqual(Array(6).fill(false));
    expect(runtime.collections).toBe(1);
    expect((reducer as unknown as { timer?: unknown }).timer).toBeUndefined();
  });

  it('starts no timer with MEMORY_IDLE_GC_MS=0', () => {
    const off = new IdleMemoryReducer(configOf({ MEMORY_IDLE_GC_MS: '0' }), runtime);
    off.onApplicationBootstrap();
    expect((off as unknown as { timer?: unknown }).timer).toBeUndefined();
  });
});

describe('MEMORY_IDLE_GC_MS and MEMORY_IDLE_GC_GROWTH_MIB', () => {
  it('default to 30 s of quiet and 32 MiB, and take durations and 0 (off)', () => {
    expect(loadConfig({}).memory).toEqual({ idleGcMs: 30_000, idleGcGrowthBytes: 32 * MiB });
    expect(loadConfig({ MEMORY_IDLE_GC_MS: '30s', MEMORY_IDLE_GC_GROWTH_MIB: '64' }).memory).toEqual({
      idleGcMs: 30_000,
      idleGcGrowthBytes: 64 * MiB,
    });
    expect(loadConfig({ MEMORY_IDLE_GC_MS: '0' }).memory.idleGcMs).toBe(0);
  });

  it('refuse windows under 100 ms and growth outside 1-65536 MiB', () => {
    for (const env of [{ MEMORY_IDLE_GC_MS: '50' }, { MEMORY_IDLE_GC_MS: 'soon' }, { MEMORY_IDLE_GC_GROWTH_MIB: '0' }]) {
      expect(() => loadConfig(env)).toThrow(ConfigValidationError);
    }
  });
});

describe('processMemory', () => {
  it("reads this process's memory and event loop, and collects its garbage", async () => {
    const runtime = processMemory();
    expect(Math.abs(runtime.resident() - process.memoryUsage.rss())).toBeLessThan(16 * MiB);
    expect(runtime.now()).toBeLessThanOrEqual(performance.now());
    const utilization = runtime.utilizationSinceLastCall();
    expect(utilization).toBeGreaterThanOrEqual(0);
    expect(utilization).toBeLessThanOrEqual(1);
    // garbage only reachable from here is gone after the collection (a WeakRef sees it go)
    const ref = new WeakRef({ big: new Array<number>(100_000).fill(1) });
    await runtime.collectGarbage();
    expect(ref.deref()).toBeUndefined();
    // and the event loop still turns (a session closed from inside its callback had stopped it)
    await new Promise((resolve) => setTimeout(resolve, 1));
  });
});
