import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  IsolatedCircuitError,
  type RetryPolicy,
  TaskCancelledError,
  type TimeoutPolicy,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
} from 'cockatiel';

/**
 * The whole resilience policy of the outgoing clients (SPEC section 4), on cockatiel:
 *
 *   GET:    retry( breaker( timeout( call ) ) )   retries only transient failures, with jittered backoff
 *   other:  breaker( timeout( call ) )            one attempt
 *
 * A transient failure is a network error, a timeout, a 5xx or a 429: it counts toward opening the
 * circuit and is retried (GETs). Anything else (a 404, another 4xx, a bug) is neither retried nor
 * counted. While the circuit is open, calls fail at once with BrokenCircuitError; after
 * `breakerHalfOpenAfterMs` one trial call goes through (half-open) and closes or reopens it.
 * One ResiliencePolicy per downstream service and per application instance.
 */
export interface ResilienceSettings {
  /** per attempt */
  timeoutMs: number;
  /** retries after the first attempt (GETs only) */
  retries: number;
  /** first backoff delay */
  retryDelayMs: number;
  /** consecutive transient failures that open the circuit */
  breakerThreshold: number;
  breakerHalfOpenAfterMs: number;
}

export type CircuitStatus = 'closed' | 'half_open' | 'open';

/** The downstream service could answer if asked again: no response, 5xx or 429. */
export class TransientFailure extends Error {
  constructor(
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'TransientFailure';
  }
}

/** Network errors, timeouts, 5xx and 429 are transient; 404, other 4xx and open circuits are not. */
export const isTransient = (err: unknown): boolean => err instanceof TransientFailure || err instanceof TaskCancelledError;

export const isCircuitOpen = (err: unknown): boolean => err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError;

export const isTimeout = (err: unknown): boolean => err instanceof TaskCancelledError;

const CIRCUIT_STATUS: Record<CircuitState, CircuitStatus> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Open]: 'open',
  [CircuitState.Isolated]: 'open',
};

export interface ResilienceListeners {
  /** the circuit changed state; `reason` is the failure that opened it */
  onCircuitChange?: (state: CircuitStatus, reason?: unknown) => void;
  /** an attempt timed out */
  onTimeout?: () => void;
  /** a failed attempt is about to be retried after `delayMs` */
  onRetry?: (attempt: number, delayMs: number, reason: unknown) => void;
}

export class ResiliencePolicy {
  private readonly breaker: CircuitBreakerPolicy;
  private readonly timeout: TimeoutPolicy;
  private readonly retry: RetryPolicy;

  constructor(
    readonly settings: ResilienceSettings,
    listeners: ResilienceListeners = {},
  ) {
    const transient = handleWhen(isTransient);
    // abortOnReturn off: a finished call has nothing left to abort (aborting it anyway costs an AbortError and
    // the HTTP client's cancellation handling on every successful call); a timeout still aborts the call in flight
    this.timeout = timeout(settings.timeoutMs, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
    this.breaker = circuitBreaker(transient, {
      halfOpenAfter: settings.breakerHalfOpenAfterMs,
      breaker: new ConsecutiveBreaker(settings.breakerThreshold),
    });
    this.retry = retry(transient, {
      maxAttempts: settings.retries,
      backoff: new ExponentialBackoff({ initialDelay: settings.retryDelayMs, maxDelay: Math.max(settings.retryDelayMs, 2000) }),
    });
    this.breaker.onBreak((reason) => listeners.onCircuitChange?.('open', 'error' in reason ? reason.error : reason));
    this.breaker.onHalfOpen(() => listeners.onCircuitChange?.('half_open'));
    this.breaker.onReset(() => listeners.onCircuitChange?.('closed'));
    this.timeout.onTimeout(() => listeners.onTimeout?.());
    this.retry.onRetry((event) => listeners.onRetry?.(event.attempt, event.delay, 'error' in event ? event.error : event.value));
  }

  /** Current circuit state (an open circuit turns half-open lazily, on the next call after the break). */
  get circuit(): CircuitStatus {
    return CIRCUIT_STATUS[this.breaker.state];
  }

  /**
   * Runs `call` under the policy. `call` gets an AbortSignal that fires on timeout (or when `signal`
   * aborts); it must throw TransientFailure for failures worth retrying. `idempotent` enables retries.
   * `breaker: false` (a health probe): timed out as any call, outside the breaker, whose state it
   * neither changes nor waits for (its failures are not counted, it never takes the half-open trial).
   */
  execute<T>(
    call: (signal: AbortSignal) => Promise<T>,
    options: { idempotent: boolean; signal?: AbortSignal; breaker?: boolean },
  ): Promise<T> {
    const timed = (outer: AbortSignal | undefined): Promise<T> => this.timeout.execute(({ signal: inner }) => call(inner), outer);
    const once = (signal?: AbortSignal): Promise<T> =>
      options.breaker === false ? timed(signal) : this.breaker.execute(({ signal: outer }) => timed(outer), signal);
    return options.idempotent ? this.retry.execute(({ signal }) => once(signal), options.signal) : once(options.signal);
  }
}

/**
 * A short-lived cache of positive answers ("this user exists"), bounded in size (least recently used
 * entries go first). Negative answers (null) and failures are never cached, so a user created a
 * moment ago is seen at once, and an outage is never hidden behind a stale "no".
 */
export class PositiveCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0 && this.maxEntries > 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry); // most recently used last
    return entry.value;
  }

  set(key: string, value: V): void {
    if (!this.enabled) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** The cached value, or `load()`'s answer (cached only when not null). */
  async lookup<T extends V>(key: string, load: () => Promise<T | null>): Promise<{ value: T | null; hit: boolean }> {
    const cached = this.get(key);
    if (cached !== undefined) return { value: cached as T, hit: true };
    const value = await load();
    if (value !== null) this.set(key, value);
    return { value, hit: false };
  }

  clear(): void {
    this.entries.clear();
  }
}
