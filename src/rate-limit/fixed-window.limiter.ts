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
 * Fixed-window request counters per caller key: at most `limit` requests in each `windowMs`
 * window, the window starting at the caller's first request. O(1) time and memory per caller
 * (one small record), unlike a sliding log that keeps a timestamp per request; expired windows
 * are swept every `windowMs`. Pure: the time is passed in.
 */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, Window>();
  private nextSweepAt = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  hit(key: string, now: number): RateLimitDecision {
    if (now >= this.nextSweepAt) this.sweep(now);
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { endsAt: now + this.windowMs, count: 0 };
      this.windows.set(key, window);
    }
    const resetSeconds = Math.max(1, Math.ceil((window.endsAt - now) / 1000));
    if (window.count >= this.limit) return { allowed: false, limit: this.limit, remaining: 0, resetSeconds };
    window.count++;
    return { allowed: true, limit: this.limit, remaining: this.limit - window.count, resetSeconds };
  }

  /** Number of callers with a live window (for tests and diagnostics). */
  get size(): number {
    return this.windows.size;
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
    this.nextSweepAt = now + this.windowMs;
  }
}
