/**
 * Every knob of the chaos suite, read from CHAOS_* environment variables (with defaults sized for
 * the issue: 5,000 writes/s offered). Checks are about counts only, never about throughput, so any
 * rate gives a meaningful run; develop with CHAOS_RATE=300.
 */
export interface ChaosConfig {
  /** offered writes per second (open loop: a schedule, not a closed loop) */
  rate: number;
  /** scale of every phase duration (1 = the scenario's defaults; 0.5 halves them) */
  timeScale: number;
  /** per-request client timeout (above the service's own longest wait: 10 s for a concurrent Idempotency-Key) */
  timeoutMs: number;
  /** the generator never has more requests than this in flight; beyond it a scheduled request is counted as shed */
  maxInflight: number;
  /** users that record usage (distinct running totals) */
  usageUsers: number;
  /** users that own subscriptions (one actor each) */
  subscriptionUsers: number;
  /** share of the offered writes that are subscription changes */
  subscriptionShare: number;
  /** service log level (the service logs every request at info) */
  logLevel: string;
  /** PostgreSQL fsync (off by default: the suite kills processes, not machines; the OS keeps what was written) */
  pgFsync: boolean;
  /** cases of the bad-input scenario */
  fuzzCases: number;
  /** soak duration and sampling */
  soakMinutes: number;
  soakSampleSeconds: number;
  /** fast-check seed (reported; set it to replay a run) */
  seed: number;
}

const num = (name: string, fallback: number, min = 0): number => {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min} (got "${raw}")`);
  return value;
};

export function loadChaosConfig(overrides: Partial<ChaosConfig> = {}): ChaosConfig {
  const rate = overrides.rate ?? num('CHAOS_RATE', 5000, 1);
  const share = overrides.subscriptionShare ?? num('CHAOS_SUB_SHARE', 0.05, 0);
  return {
    rate,
    timeScale: num('CHAOS_TIME_SCALE', 1, 0.05),
    timeoutMs: num('CHAOS_TIMEOUT_MS', 15_000, 100),
    maxInflight: num('CHAOS_MAX_INFLIGHT', 1024, 1),
    usageUsers: num('CHAOS_USERS', 500, 1),
    // enough actors that each changes its subscription every second or two, at most 100
    subscriptionUsers: num('CHAOS_SUB_USERS', Math.max(5, Math.min(100, Math.round(rate * share * 1.5))), 0),
    subscriptionShare: share,
    logLevel: process.env.CHAOS_LOG_LEVEL ?? 'warn',
    pgFsync: ['1', 'true', 'on'].includes((process.env.CHAOS_PG_FSYNC ?? 'off').toLowerCase()),
    fuzzCases: num('CHAOS_FUZZ_CASES', 20_000, 1),
    soakMinutes: num('CHAOS_SOAK_MINUTES', 10, 0.1),
    soakSampleSeconds: num('CHAOS_SOAK_SAMPLE_S', 60, 1),
    seed: num('CHAOS_SEED', Date.now() % 2 ** 31, 0),
    ...overrides,
  };
}
