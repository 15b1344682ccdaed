import { Decimal, ZERO } from '../../common/money/decimal.js';
import type { SubscriptionEntity } from '../subscriptions/subscription.entity.js';
import { isJsonObject } from '../../common/validation/json-guard.js';

/**
 * Plan limits (SPEC section 8), pure: which limits of a plan's `usage_limits` apply to a record,
 * their windows, and the decisions of a group of records over the counters (arrival order).
 */
export type QuotaKind = 'daily_requests' | 'period_units';
export const QUOTA_KINDS: readonly QuotaKind[] = ['daily_requests', 'period_units'];
export const DEFAULT_THRESHOLDS: readonly number[] = [50, 80, 100];

/** One limit of a plan: `key` (a product type or a product id), its kind, its value, its threshold percentages. */
export interface PlanLimit {
  key: string;
  kind: QuotaKind;
  limit: Decimal;
  thresholds: readonly number[];
}

/** The subscription fields a limit depends on. */
export type QuotaSubscription = Pick<
  SubscriptionEntity,
  'subscriptionId' | 'userId' | 'organizationId' | 'planId' | 'status' | 'currentPeriodStart' | 'currentPeriodEnd' | 'quotaLimits'
>;

/** A limit value: a non-negative integer (daily_requests) or decimal (period_units); -1 and anything unreadable: no limit. */
function limitValue(value: unknown, kind: QuotaKind): Decimal | undefined {
  let d: Decimal;
  try {
    if (typeof value === 'number' && Number.isFinite(value)) d = new Decimal(String(value));
    else if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) d = new Decimal(value.trim());
    else return undefined;
  } catch {
    return undefined;
  }
  if (d.isNegative()) return undefined; // -1: unlimited
  if (kind === 'daily_requests' && !d.isInteger()) return undefined;
  return d;
}

function thresholdsOf(value: unknown): readonly number[] {
  if (!Array.isArray(value)) return DEFAULT_THRESHOLDS;
  const list = value.filter((p): p is number => typeof p === 'number' && Number.isFinite(p) && p > 0);
  return [...new Set(list)].sort((a, b) => a - b);
}

/**
 * The limits a plan's `usage_limits` sets: entries whose value is an object with `daily_requests`
 * and / or `period_units` (-1 = unlimited: no limit). Entries of any other shape (`storage_gb: 5`)
 * are informational.
 */
export function planLimits(usageLimits: unknown): PlanLimit[] {
  if (!isJsonObject(usageLimits)) return [];
  const limits: PlanLimit[] = [];
  for (const [key, entry] of Object.entries(usageLimits)) {
    if (!isJsonObject(entry)) continue;
    const thresholds = thresholdsOf(entry.thresholds);
    for (const kind of QUOTA_KINDS) {
      const limit = limitValue(entry[kind], kind);
      if (limit !== undefined) limits.push({ key, kind, limit, thresholds });
    }
  }
  return limits;
}

/** The limits that count a product's records: keys equal to its product type or its product id. */
export function limitsForProduct(limits: readonly PlanLimit[], product: { productId: string; productType: string }): PlanLimit[] {
  return limits.filter((l) => l.key === product.productType || l.key === product.productId);
}

/**
 * The subscription whose plan limits a record: the subscription it names (when entitling), else the
 * user's entitling subscription of the record's organization, else the personal one.
 */
export function quotaSubscriptionOf<S extends QuotaSubscription>(
  entitling: readonly S[],
  organizationId: string | null | undefined,
  named?: S,
): S | undefined {
  if (named) return named;
  const org = organizationId ?? null;
  return (org !== null ? entitling.find((s) => s.organizationId === org) : undefined) ?? entitling.find((s) => s.organizationId === null);
}

export interface Window {
  start: Date;
  end: Date;
}

/** The window a limit counts in at `now`: the UTC day (daily_requests), the subscription's current billing period (period_units). */
export function windowOf(kind: QuotaKind, now: Date, sub: Pick<QuotaSubscription, 'currentPeriodStart' | 'currentPeriodEnd'>): Window {
  if (kind === 'period_units') return { start: sub.currentPeriodStart, end: sub.currentPeriodEnd };
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  return { start, end: new Date(start.getTime() + 86_400_000) };
}

/** One counter a record counts in: a limit of the quota subscription's plan, in its current window. */
export interface QuotaCounter {
  /** identity of the counter row (user, scope, key, kind, window start) */
  id: string;
  userId: string;
  /** the organization of the subscription setting the limit, '' for a personal one */
  scope: string;
  key: string;
  kind: QuotaKind;
  limit: Decimal;
  thresholds: readonly number[];
  window: Window;
  subscriptionId: string;
  organizationId: string | null;
}

export const counterId = (userId: string, scope: string, key: string, kind: string, windowStart: Date | string): string =>
  JSON.stringify([
    userId,
    scope,
    key,
    kind,
    typeof windowStart === 'string' ? new Date(windowStart).toISOString() : windowStart.toISOString(),
  ]);

/** The counters of a record of `product` for the user of `sub` at `now` (none when the plan sets no limit on it). */
export function countersFor(
  sub: QuotaSubscription,
  limits: readonly PlanLimit[],
  product: { productId: string; productType: string },
  now: Date,
): QuotaCounter[] {
  const scope = sub.organizationId ?? '';
  return limitsForProduct(limits, product).map((l) => {
    const window = windowOf(l.kind, now, sub);
    return {
      id: counterId(sub.userId, scope, l.key, l.kind, window.start),
      userId: sub.userId,
      scope,
      key: l.key,
      kind: l.kind,
      limit: l.limit,
      thresholds: l.thresholds,
      window,
      subscriptionId: sub.subscriptionId,
      organizationId: sub.organizationId,
    };
  });
}

/** What one record adds to a counter: one request, or its units. */
export const incrementOf = (kind: QuotaKind, amount: Decimal): Decimal => (kind === 'daily_requests' ? new Decimal(1) : amount);

/** A counter value as the API writes it: counts as integers, units as decimal strings. */
export const quotaNumber = (kind: QuotaKind, value: Decimal): number | string =>
  kind === 'daily_requests' ? value.toNumber() : value.toFixed();

/** A record of a group, as the quota decision sees it. */
export interface QuotaCandidate {
  ord: number;
  /** the request it belongs to: a refusal refuses the whole request (a batch is all or nothing) */
  submission: number;
  enforce: boolean;
  amount: Decimal;
  productId: string;
  counters: readonly QuotaCounter[];
}

export interface QuotaRefusal {
  counter: QuotaCounter;
  /** the counter without the refused request */
  used: Decimal;
}

export interface ReachedThreshold {
  counter: QuotaCounter;
  percent: number;
  /** the counter right after the record that reached it */
  used: Decimal;
  productId: string;
  /** that record */
  ord: number;
}

export interface QuotaDecision {
  /** requests refused (an enforced record would pass a limit), with the first limit it would pass */
  refused: Map<number, QuotaRefusal>;
  /** records stored past a limit */
  overQuota: Set<number>;
  /** what each counter grows by */
  deltas: Map<string, { counter: QuotaCounter; delta: Decimal }>;
  /** thresholds the accepted records reach (the database keeps the first per window: it decides which are new) */
  reached: ReachedThreshold[];
}

/**
 * Decides a group over its counters as they stand (locked): in arrival order, each request's
 * records add to the counters; an enforced record that would take a counter past its limit
 * (used + increment > limit) refuses its whole request, whose increments are taken back. Accepted
 * records that leave a counter past its limit are `over_quota`. Then, over the accepted records in
 * order, the thresholds each leaves reached (used ≥ limit × percent / 100) that its window has not
 * published (`published`, read under the counters' locks): also one passed before the limit applied
 * (records counted when the counter was created, a plan lowering the limit mid-window), which a
 * "from below" rule never published. The database keeps each threshold once per window.
 */
export function decideQuotas(
  candidates: readonly QuotaCandidate[],
  used: ReadonlyMap<string, Decimal>,
  published: ReadonlyMap<string, ReadonlySet<number>> = new Map(),
): QuotaDecision {
  const current = new Map(used);
  const valueOf = (c: QuotaCounter) => current.get(c.id) ?? ZERO;
  const refused = new Map<number, QuotaRefusal>();
  const overQuota = new Set<number>();
  const bySubmission = new Map<number, QuotaCandidate[]>();
  for (const c of candidates) bySubmission.set(c.submission, [...(bySubmission.get(c.submission) ?? []), c]);
  for (const [submission, records] of bySubmission) {
    const before = new Map(current);
    const over: number[] = [];
    let refusal: QuotaRefusal | undefined;
    for (const r of records) {
      let past = false;
      for (const counter of r.counters) {
        const now = valueOf(counter);
        const next = now.plus(incrementOf(counter.kind, r.amount));
        if (r.enforce && next.gt(counter.limit)) {
          // what is used without this request (a batch's own earlier records are taken back with it)
          refusal = { counter, used: before.get(counter.id) ?? ZERO };
          break;
        }
        current.set(counter.id, next);
        if (next.gt(counter.limit)) past = true;
      }
      if (refusal) break;
      if (past) over.push(r.ord);
    }
    if (refusal) {
      refused.set(submission, refusal);
      current.clear();
      for (const [k, v] of before) current.set(k, v);
    } else for (const ord of over) overQuota.add(ord);
  }
  const deltas = new Map<string, { counter: QuotaCounter; delta: Decimal }>();
  const reached: ReachedThreshold[] = [];
  const replay = new Map(used);
  const emitted = new Set<string>();
  for (const r of candidates) {
    if (refused.has(r.submission)) continue;
    for (const counter of r.counters) {
      const inc = incrementOf(counter.kind, r.amount);
      const before = replay.get(counter.id) ?? ZERO;
      const after = before.plus(inc);
      replay.set(counter.id, after);
      const d = deltas.get(counter.id);
      deltas.set(counter.id, { counter, delta: (d?.delta ?? ZERO).plus(inc) });
      for (const percent of counter.thresholds) {
        const at = counter.limit.times(percent).div(100);
        const key = `${counter.id}|${percent}`;
        if (emitted.has(key) || after.lt(at) || published.get(counter.id)?.has(percent)) continue;
        emitted.add(key);
        reached.push({ counter, percent, used: after, productId: r.productId, ord: r.ord });
      }
    }
  }
  return { refused, overQuota, deltas, reached };
}
