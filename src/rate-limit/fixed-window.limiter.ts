/** The outcome of counting one request against its caller's window. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** seconds until the caller's current window ends (>= 1): the `Retry-After` of a refusal */
  resetSeconds: number;
}

interface Window {
  endsAt: number;
  count: number;
}

/**
 * Fixed-window request counters per key: at most `limit` requests in each `windowMs` window, the
 * window starting at the key's first request; refused requests do not count. O(1) time and memory
 * per key (one small record), unlike a sliding log that keeps a timestamp per request; expired
 * windows are swept every `sweepEveryMs`. Pure: the time is passed in.
 */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, Window>();
  private nextSweepAt = 0;

  constructor(private readonly sweepEveryMs = 60_000) {}

  hit(key: string, limit: number, windowMs: number, now: number): RateLimitDecision {
    if (now >= this.nextSweepAt) this.sweep(now);
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { endsAt: now + windowMs, count: 0 };
      this.windows.set(key, window);
    }
    const resetSeconds = Math.max(1, Math.ceil((window.endsAt - now) / 1000));
    if (window.count >= limit) return { allowed: false, limit, remaining: 0, resetSeconds };
    window.count++;
    return { allowed: true, limit, remaining: limit - window.count, resetSeconds };
  }

  /** Number of keys with a live window (for tests and diagnostics). */
  get size(): number {
    return this.windows.size;
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
    this.nextSweepAt = now + this.sweepEveryMs;
  }
}
