import { jest } from '@jest/globals';
import { BrokenCircuitError } from 'cockatiel';
import {
  type CircuitStatus,
  isCircuitOpen,
  isTimeout,
  isTransient,
  PositiveCache,
  ResiliencePolicy,
  type ResilienceSettings,
  TransientFailure,
} from './resilience.js';

const settings = (overrides: Partial<ResilienceSettings> = {}): ResilienceSettings => ({
  timeoutMs: 1000,
  retries: 2,
  retryDelayMs: 1,
  breakerThreshold: 100,
  breakerHalfOpenAfterMs: 10_000,
  ...overrides,
});

/** A call that fails with the given errors in turn, then answers `value`. */
function scripted<T>(errors: Array<Error | undefined>, value: T): { call: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    call: () => {
      const error = errors[calls];
      calls += 1;
      return error === undefined ? Promise.resolve(value) : Promise.reject(error);
    },
    calls: () => calls,
  };
}

const http503 = (): TransientFailure => new TransientFailure(503, 'HTTP 503');

describe('ResiliencePolicy', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('retries', () => {
    it('should retry transient failures (5xx, 429, network) and answer the first success', async () => {
      const policy = new ResiliencePolicy(settings({ retries: 3 }));
      const s = scripted([http503(), new TransientFailure(429, 'HTTP 429'), new TransientFailure(undefined, 'network error')], 'ok');
      await expect(policy.execute(s.call, { idempotent: true })).resolves.toBe('ok');
      expect(s.calls()).toBe(4);
    });

    it('should give up after the configured number of retries with the last error', async () => {
      const policy = new ResiliencePolicy(settings({ retries: 2 }));
      const s = scripted([http503(), http503(), new TransientFailure(502, 'HTTP 502'), http503()], 'never');
      await expect(policy.execute(s.call, { idempotent: true })).rejects.toMatchObject({ status: 502 });
      expect(s.calls()).toBe(3);
    });

    it('should not retry an answer (such as a 404 read as null) or a non-transient error', async () => {
      const policy = new ResiliencePolicy(settings());
      const notFound = scripted([], null);
      await expect(policy.execute(notFound.call, { idempotent: true })).resolves.toBeNull();
      expect(notFound.calls()).toBe(1);
      const forbidden = scripted([new Error('unexpected HTTP 403')], 'never');
      await expect(policy.execute(forbidden.call, { idempotent: true })).rejects.toThrow('unexpected HTTP 403');
      expect(forbidden.calls()).toBe(1);
    });

    it('should not retry calls that are not idempotent', async () => {
      const policy = new ResiliencePolicy(settings({ retries: 3 }));
      const s = scripted([http503()], 'ok');
      await expect(policy.execute(s.call, { idempotent: false })).rejects.toBeInstanceOf(TransientFailure);
      expect(s.calls()).toBe(1);
    });

    it('should report each retry with a delay', async () => {
      const retries: Array<[number, number]> = [];
      const policy = new ResiliencePolicy(settings({ retries: 2, retryDelayMs: 5 }), {
        onRetry: (attempt, delayMs) => retries.push([attempt, delayMs]),
      });
      const s = scripted([http503(), http503()], 'ok');
      await policy.execute(s.call, { idempotent: true });
      expect(retries.map(([attempt]) => attempt)).toEqual([1, 2]);
      for (const [, delay] of retries) expect(delay).toBeGreaterThanOrEqual(0);
    });
  });

  describe('timeout', () => {
    it('should abort an attempt that outlives the timeout, count it as transient and retry it', async () => {
      let timeouts = 0;
      const policy = new ResiliencePolicy(settings({ timeoutMs: 20, retries: 1 }), { onTimeout: () => (timeouts += 1) });
      const signals: AbortSignal[] = [];
      const hang = (signal: AbortSignal): Promise<string> => {
        signals.push(signal);
        return new Promise<string>(() => undefined);
      };
      const error = await policy.execute(hang, { idempotent: true }).catch((err: unknown) => err);
      expect(isTimeout(error)).toBe(true);
      expect(isTransient(error)).toBe(true);
      expect(signals).toHaveLength(2);
      expect(signals.every((s) => s.aborted)).toBe(true);
      expect(timeouts).toBe(2);
    });
  });

  describe('circuit breaker', () => {
    let now = 1_000_000;
    beforeEach(() => {
      now = 1_000_000;
      jest.spyOn(Date, 'now').mockImplementation(() => now);
    });

    it('should open after the threshold of consecutive transient failures and then fail fast without calling', async () => {
      const changes: CircuitStatus[] = [];
      const policy = new ResiliencePolicy(settings({ retries: 0, breakerThreshold: 3 }), {
        onCircuitChange: (state) => changes.push(state),
      });
      const s = scripted([http503(), http503(), http503()], 'ok');
      for (let i = 0; i < 3; i += 1) await expect(policy.execute(s.call, { idempotent: true })).rejects.toBeInstanceOf(TransientFailure);
      expect(policy.circuit).toBe('open');
      expect(changes).toEqual(['open']);
      const error = await policy.execute(s.call, { idempotent: true }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(BrokenCircuitError);
      expect(isCircuitOpen(error)).toBe(true);
      expect(isTransient(error)).toBe(false);
      expect(s.calls()).toBe(3);
    });

    it('should count the retries of one call toward the threshold and stop retrying once open', async () => {
      const policy = new ResiliencePolicy(settings({ retries: 5, breakerThreshold: 2 }));
      const s = scripted(Array.from({ length: 10 }, http503), 'ok');
      await expect(policy.execute(s.call, { idempotent: true })).rejects.toBeInstanceOf(BrokenCircuitError);
      expect(s.calls()).toBe(2);
    });

    it('should not count 404 answers or other non-transient errors, and a success resets the count', async () => {
      const policy = new ResiliencePolicy(settings({ retries: 0, breakerThreshold: 2 }));
      const s = scripted([http503(), undefined, http503(), new Error('HTTP 400'), new Error('HTTP 401')], null);
      await policy.execute(s.call, { idempotent: true }).catch(() => undefined); // failure 1
      await policy.execute(s.call, { idempotent: true }); // success (404 → null): resets
      await policy.execute(s.call, { idempotent: true }).catch(() => undefined); // failure 1
      await policy.execute(s.call, { idempotent: true }).catch(() => undefined); // 400: not counted
      await policy.execute(s.call, { idempotent: true }).catch(() => undefined); // 401: not counted
      expect(policy.circuit).toBe('closed');
    });

    it('should let one trial call through after the break (half-open) and close on its success', async () => {
      const changes: CircuitStatus[] = [];
      const policy = new ResiliencePolicy(settings({ retries: 0, breakerThreshold: 1, breakerHalfOpenAfterMs: 5000 }), {
        onCircuitChange: (state) => changes.push(state),
      });
      const s = scripted([http503()], 'ok');
      await expect(policy.execute(s.call, { idempotent: true })).rejects.toBeInstanceOf(TransientFailure);
      now += 4999;
      await expect(policy.execute(s.call, { idempotent: true })).rejects.toBeInstanceOf(BrokenCircuitError);
      expect(s.calls()).toBe(1);
      now += 1;
      await expect(policy.execute(s.call, { idempotent: true })).resolves.toBe('ok');
      expect(s.calls()).toBe(2);
      expect(policy.circuit).toBe('closed');
      expect(changes).toEqual(['open', 'half_open', 'closed']);
    });

    it('should reopen when the half-open trial fails', async () => {
      const policy = new ResiliencePolicy(settings({ retries: 0, breakerThreshold: 1, breakerHalfOpenAfterMs: 1000 }));
      const s = scripted([http503(), http503()], 'ok');
      await policy.execute(s.call, { idempotent: true }).catch(() => undefined);
      now += 1000;
      await expect(policy.execute(s.call, { idempotent: true })).rejects.toBeInstanceOf(TransientFailure);
      expect(policy.circuit).toBe('open');
      await expect(policy.execute(s.call, { idempotent: true })).rejects.toBeInstanceOf(BrokenCircuitError);
      expect(s.calls()).toBe(2);
    });
  });
});

describe('PositiveCache', () => {
  it('should cache found values and never null answers', async () => {
    const cache = new PositiveCache<string>(5000, 10);
    let loads = 0;
    const load = (value: string | null) => () => {
      loads += 1;
      return Promise.resolve(value);
    };
    expect(await cache.lookup('missing', load(null))).toEqual({ value: null, hit: false });
    expect(await cache.lookup('missing', load(null))).toEqual({ value: null, hit: false });
    expect(loads).toBe(2);
    expect(await cache.lookup('u1', load('user-1'))).toEqual({ value: 'user-1', hit: false });
    expect(await cache.lookup('u1', load('other'))).toEqual({ value: 'user-1', hit: true });
    expect(loads).toBe(3);
  });

  it('should not cache failures', async () => {
    const cache = new PositiveCache<string>(5000, 10);
    await expect(cache.lookup('u1', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(cache.size).toBe(0);
  });

  it('should forget entries after the TTL', () => {
    let now = 0;
    const cache = new PositiveCache<string>(1000, 10, () => now);
    cache.set('u1', 'user-1');
    now = 999;
    expect(cache.get('u1')).toBe('user-1');
    now = 1000;
    expect(cache.get('u1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('should keep at most maxEntries, evicting the least recently used', () => {
    const cache = new PositiveCache<number>(5000, 2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recently used
    cache.set('c', 3);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
  });

  it('should cache nothing when the TTL is 0', () => {
    const cache = new PositiveCache<number>(0, 100);
    cache.set('a', 1);
    expect(cache.enabled).toBe(false);
    expect(cache.get('a')).toBeUndefined();
  });
});
