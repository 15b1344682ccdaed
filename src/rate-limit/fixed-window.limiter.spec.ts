import { FixedWindowLimiter } from './fixed-window.limiter.js';

describe('FixedWindowLimiter', () => {
  const t0 = 1_000_000;

  it('should allow up to the limit in a window and refuse the next with the seconds left', () => {
    const limiter = new FixedWindowLimiter();
    expect(limiter.hit('a', 3, 60_000, t0)).toEqual({ allowed: true, limit: 3, remaining: 2, resetSeconds: 60 });
    expect(limiter.hit('a', 3, 60_000, t0 + 1).remaining).toBe(1);
    expect(limiter.hit('a', 3, 60_000, t0 + 2).remaining).toBe(0);
    expect(limiter.hit('a', 3, 60_000, t0 + 15_500)).toEqual({ allowed: false, limit: 3, remaining: 0, resetSeconds: 45 });
  });

  it('should keep separate counters per key', () => {
    const limiter = new FixedWindowLimiter();
    expect(limiter.hit('a', 1, 60_000, t0).allowed).toBe(true);
    expect(limiter.hit('a', 1, 60_000, t0).allowed).toBe(false);
    expect(limiter.hit('b', 1, 60_000, t0).allowed).toBe(true);
  });

  it('should start a new window once the old one has ended', () => {
    const limiter = new FixedWindowLimiter();
    limiter.hit('a', 1, 60_000, t0);
    expect(limiter.hit('a', 1, 60_000, t0 + 59_999)).toMatchObject({ allowed: false, resetSeconds: 1 });
    expect(limiter.hit('a', 1, 60_000, t0 + 60_000)).toMatchObject({ allowed: true, remaining: 0, resetSeconds: 60 });
  });

  it('should not count refused requests', () => {
    const limiter = new FixedWindowLimiter();
    limiter.hit('a', 2, 60_000, t0);
    limiter.hit('a', 2, 60_000, t0);
    for (let i = 0; i < 5; i++) limiter.hit('a', 2, 60_000, t0 + i);
    expect(limiter.hit('a', 2, 60_000, t0 + 60_000).remaining).toBe(1);
  });

  it('should forget callers whose window has ended', () => {
    const limiter = new FixedWindowLimiter(1000);
    limiter.hit('a', 5, 1000, t0);
    limiter.hit('b', 5, 1000, t0);
    expect(limiter.size).toBe(2);
    limiter.hit('c', 5, 1000, t0 + 1000);
    expect(limiter.size).toBe(1);
  });

  it('should keep each key to its own limit and window length', () => {
    const limiter = new FixedWindowLimiter();
    expect(limiter.hit('route', 1, 10_000, t0)).toEqual({ allowed: true, limit: 1, remaining: 0, resetSeconds: 10 });
    expect(limiter.hit('route', 1, 10_000, t0 + 4_000)).toEqual({ allowed: false, limit: 1, remaining: 0, resetSeconds: 6 });
    expect(limiter.hit('caller', 100, 60_000, t0 + 4_000).remaining).toBe(99);
    expect(limiter.hit('route', 1, 10_000, t0 + 10_000).allowed).toBe(true);
  });
});
