import type { ConfigService } from '@nestjs/config';
import { type AppConfig, ConfigValidationError, loadConfig } from '../../config/app-config.js';
import { IdleMemoryReducer, type MemoryRuntime, processMemory } from './idle-memory-reducer.js';

const MiB = 2 ** 20;

/** A process whose resident memory and event-loop utilization the test sets. */
class FakeRuntime implements MemoryRuntime {
  rss = 130 * MiB;
  utilization = 0;
  /** resident memory after a collection */
  afterCollection = 135 * MiB;
  collections = 0;
  fail?: Error;
  release?: () => void;

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

  beforeEach(() => {
    runtime = new FakeRuntime();
    reducer = new IdleMemoryReducer(configOf({ MEMORY_IDLE_GC_MS: '5s', MEMORY_IDLE_GC_GROWTH_MIB: '32' }), runtime);
    reducer.onApplicationBootstrap(); // baseline: 130 MiB
  });

  afterEach(() => reducer.onApplicationShutdown());

  it('collects once when the process went quiet with memory grown past the threshold, then waits for new growth', async () => {
    runtime.rss = 300 * MiB;
    runtime.utilization = 0.02;
    await expect(reducer.check()).resolves.toBe(true);
    expect(runtime.collections).toBe(1);
    // quiet and nothing grew since: nothing more to give back
    runtime.rss = 140 * MiB;
    await expect(reducer.check()).resolves.toBe(false);
    expect(runtime.collections).toBe(1);
    // growth is measured from what the collection left (135 MiB): 160 is not enough, 170 is
    runtime.rss = 160 * MiB;
    await expect(reducer.check()).resolves.toBe(false);
    runtime.rss = 170 * MiB;
    await expect(reducer.check()).resolves.toBe(true);
    expect(runtime.collections).toBe(2);
  });

  it('never collects while the event loop is busy, however much memory is held', async () => {
    runtime.rss = 400 * MiB;
    for (const utilization of [0.11, 0.5, 1]) {
      runtime.utilization = utilization;
      await expect(reducer.check()).resolves.toBe(false);
    }
    expect(runtime.collections).toBe(0);
    runtime.utilization = 0.1;
    await expect(reducer.check()).resolves.toBe(true);
  });

  it('does not collect for growth under the threshold, and measures from a lower level when memory shrank by itself', async () => {
    runtime.rss = 161 * MiB;
    await expect(reducer.check()).resolves.toBe(false);
    runtime.rss = 100 * MiB; // V8 gave some back on its own
    await expect(reducer.check()).resolves.toBe(false);
    runtime.rss = 133 * MiB; // 33 MiB over the new level
    await expect(reducer.check()).resolves.toBe(true);
  });

  it('runs one collection at a time', async () => {
    runtime.rss = 300 * MiB;
    runtime.release = () => undefined;
    const first = reducer.check();
    await expect(reducer.check()).resolves.toBe(false);
    runtime.release();
    await expect(first).resolves.toBe(true);
    expect(runtime.collections).toBe(1);
  });

  it('stops trying after a failed collection', async () => {
    runtime.rss = 300 * MiB;
    runtime.fail = new Error('inspector unavailable');
    await expect(reducer.check()).resolves.toBe(false);
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
  it('default to a 5 s window and 32 MiB, and take durations and 0 (off)', () => {
    expect(loadConfig({}).memory).toEqual({ idleGcMs: 5000, idleGcGrowthBytes: 32 * MiB });
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
    expect(runtime.resident()).toBe(process.memoryUsage.rss());
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
