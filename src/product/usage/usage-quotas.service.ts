import { Injectable } from '@nestjs/common';
import { Decimal, ZERO } from '../../common/money/decimal.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import type { ProductEntity } from '../catalog/entities/product.entity.js';
import type { PlanEntity } from '../catalog/entities/plan.entity.js';
import { PlanService } from '../catalog/services/plan.service.js';
import { EntitlingSubscriptionsCache } from '../subscriptions/entitling-subscriptions.cache.js';
import type { SubscriptionEntity } from '../subscriptions/subscription.entity.js';
import { SubscriptionQueries } from '../subscriptions/subscription-queries.service.js';
import {
  countersFor,
  type PlanLimit,
  planLimits,
  type QuotaCounter,
  type QuotaKind,
  quotaNumber,
  quotaSubscriptionOf,
} from './quota-limits.js';
import { UsageErrors } from './usage.errors.js';
import { type CounterRow, UsageQuotaRepository } from './usage-quota.repository.js';

/** One limit of GET /usage/quota. */
export interface QuotaLimitView {
  key: string;
  kind: QuotaKind;
  limit: number | string;
  used: number | string;
  remaining: number | string;
  resets_at: string;
}

export const counterRow = (c: QuotaCounter): CounterRow => ({
  userId: c.userId,
  scope: c.scope,
  key: c.key,
  kind: c.kind,
  windowStart: c.window.start,
  windowEnd: c.window.end,
});

/**
 * Plan limits (SPEC section 8): which limits count a record (the user's entitling subscription of
 * the record's organization, else the personal one; its plan's `usage_limits` from the in-memory
 * catalog), and what they stand at (GET /usage/quota, availability). The recorder asks `knownSubscriptions`
 * / `remember` (the per-replica cache, so that a user without limits costs no read) and
 * `countersFor`; the decisions are `decideQuotas` (pure).
 */
@Injectable()
export class UsageQuotas {
  private readonly limitsByPlan = new WeakMap<PlanEntity, PlanLimit[]>();

  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: UsageQuotaRepository,
    private readonly cache: EntitlingSubscriptionsCache,
    private readonly subscriptions: SubscriptionQueries,
    private readonly plans: PlanService,
  ) {}

  /** What the cache knows of these users: their entitling subscriptions, and those it does not know (to read). */
  knownSubscriptions(userIds: Iterable<string>): { known: Map<string, readonly SubscriptionEntity[]>; missing: string[]; version: number } {
    const version = this.cache.version;
    const known = new Map<string, readonly SubscriptionEntity[]>();
    const missing: string[] = [];
    for (const userId of new Set(userIds)) {
      const subs = this.cache.get(userId);
      if (subs) known.set(userId, subs);
      else missing.push(userId);
    }
    return { known, missing, version };
  }

  /** What a read started at `version` found for `userIds` (their entitling subscriptions). */
  remember(userIds: readonly string[], subs: readonly SubscriptionEntity[], version: number): void {
    this.cache.remember(userIds, subs, version);
  }

  /** The limits a subscription's plan sets: the plan in the catalog, else (a plan no longer there) the subscription's copy. */
  limitsOf(sub: Pick<SubscriptionEntity, 'planId' | 'quotaLimits'>): PlanLimit[] {
    const plan = this.plans.find(sub.planId);
    if (!plan) return planLimits(sub.quotaLimits);
    let limits = this.limitsByPlan.get(plan);
    if (!limits) {
      limits = planLimits(plan.usageLimits);
      this.limitsByPlan.set(plan, limits);
    }
    return limits;
  }

  /**
   * The counters a record counts in: none when the user has no entitling subscription for it or
   * its plan sets no limit on the product (by type or id).
   */
  countersFor(
    entitling: readonly SubscriptionEntity[],
    record: { organizationId: string | null; product: ProductEntity },
    named: SubscriptionEntity | undefined,
    now: Date,
  ): QuotaCounter[] {
    const sub = quotaSubscriptionOf(entitling, record.organizationId, named);
    if (!sub) return [];
    const limits = this.limitsOf(sub);
    return limits.length === 0 ? [] : countersFor(sub, limits, record.product, now);
  }

  /**
   * Where a user's limits on a product stand now: the user's entitling subscriptions (from the
   * cache, read when it does not know the user) and the counters (read). `exhausted`: a limit is
   * used up (used ≥ limit).
   */
  async status(
    userId: string,
    product: ProductEntity,
    organizationId: string | undefined,
    now: Date,
  ): Promise<{ limits: QuotaLimitView[]; exhausted: boolean }> {
    const { known, version } = this.knownSubscriptions([userId]);
    let entitling = known.get(userId);
    if (!entitling) {
      entitling = await this.subscriptions.entitlingOf([userId]);
      this.remember([userId], entitling, version);
    }
    const counters = this.countersFor(entitling, { organizationId: organizationId ?? null, product }, undefined, now);
    if (counters.length === 0) return { limits: [], exhausted: false };
    const used = await this.uow.read((tx) => this.repo.read(tx, counters.map(counterRow)));
    let exhausted = false;
    const limits = counters.map((c) => {
      const value = used.get(c.id) ?? ZERO;
      if (value.gte(c.limit)) exhausted = true;
      return {
        key: c.key,
        kind: c.kind,
        limit: quotaNumber(c.kind, c.limit),
        used: quotaNumber(c.kind, value),
        remaining: quotaNumber(c.kind, Decimal.max(ZERO, c.limit.minus(value))),
        resets_at: c.window.end.toISOString(),
      };
    });
    return { limits, exhausted };
  }

  /** The 429 of an enforced record that would pass `counter` (used before it: `used`). */
  refusal(counter: QuotaCounter, used: Decimal, now: Date) {
    return UsageErrors.quotaExceeded(
      {
        key: counter.key,
        kind: counter.kind,
        limit: quotaNumber(counter.kind, counter.limit),
        used: quotaNumber(counter.kind, used),
        remaining: quotaNumber(counter.kind, Decimal.max(ZERO, counter.limit.minus(used))),
      },
      Math.ceil((counter.window.end.getTime() - now.getTime()) / 1000),
    );
  }
}
