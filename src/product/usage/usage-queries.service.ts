import { Injectable } from '@nestjs/common';
import { type CallContext, isInternal } from '../../common/auth/principal.js';
import { forbidden } from '../../common/errors/domain-error.js';
import { Decimal } from '../../common/money/decimal.js';
import { DEFAULT_LIMIT, decodeSeqCursor, type Page, seqPageOf } from '../../common/pagination/page.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import { type BillingCycle, calendarMonth } from '../subscriptions/billing-period.js';
import { SubscriptionQueries } from '../subscriptions/subscription-queries.service.js';
import type { ListUsageQuery, UsageFiltersQuery } from './dto/usage.dto.js';
import type { PeriodUsage } from './period-usage.js';
import { parseRangeBound } from '../../common/time/timestamp.js';
import { type UsageAggregate, type UsageFilters, UsageRepository } from './usage.repository.js';

/** Reads of usage: records, statistics, recent counts, and a user's usage this period. */
@Injectable()
export class UsageQueries {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: UsageRepository,
    private readonly subscriptions: SubscriptionQueries,
  ) {}

  /** A page of records, each as the JSON text of its UsageRecordView (built by the database). */
  list(query: ListUsageQuery, ctx: CallContext): Promise<Page<string>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const beforeSeq = decodeSeqCursor(query.cursor);
    const filters = filtersFor(query, ctx);
    return this.uow.read(async (tx) => seqPageOf(await this.repo.listViews(tx, filters, limit + 1, beforeSeq), limit, (r) => r.view));
  }

  /**
   * Totals by product and by day. `provider_cost` and `margin` are the platform's purchase prices
   * (what the internal-only cost lookup answers): internal callers only, users see their usage and
   * what it cost them.
   */
  async statistics(query: UsageFiltersQuery, ctx: CallContext): Promise<Record<string, unknown>> {
    const filters = filtersFor(query, ctx);
    const { totals, byProduct, byDate } = await this.uow.read((tx) => this.repo.statistics(tx, filters));
    const providerCosts = isInternal(ctx.principal) ? costAndMargin : () => ({});
    const entry = (r: UsageAggregate) => ({
      usage_amount: new Decimal(r.usage).toFixed(),
      total_cost: new Decimal(r.cost).toFixed(),
      records: Number(r.records),
      ...providerCosts(r),
    });
    return {
      total_usage: new Decimal(totals.usage).toFixed(),
      total_cost: new Decimal(totals.cost).toFixed(),
      total_records: Number(totals.records),
      ...providerCosts(totals),
      usage_by_product: Object.fromEntries(byProduct.map((r) => [r.product_id, entry(r)])),
      usage_by_date: Object.fromEntries(byDate.map((r) => [r.day, entry(r)])),
      period: {
        start_date: filters.start?.toISOString() ?? null,
        end_date: filters.end?.toISOString() ?? null,
      },
    };
  }

  /** Usage records created in the last 24 hours, 7 days and 30 days before `now`. */
  recentCounts(now: Date): Promise<{ d1: number; d7: number; d30: number }> {
    const ago = (days: number) => new Date(now.getTime() - days * 86_400_000);
    return this.uow.read((tx) => this.repo.countCreatedSince(tx, ago(1), ago(7), ago(30)));
  }

  /**
   * Units a user has used of a product in the period containing `at`: the subscription's current
   * period when `subscriptionId` names one of the user's, else the UTC calendar month.
   */
  async periodUsage(productId: string, userId: string, subscriptionId: string | null | undefined, at: Date): Promise<PeriodUsage> {
    let period = calendarMonth(at);
    let subscriptionKey = '';
    let billingCycle: BillingCycle | undefined;
    if (subscriptionId) {
      const sub = await this.subscriptions.find(subscriptionId);
      if (sub && sub.userId === userId) {
        period = { start: sub.currentPeriodStart, end: sub.currentPeriodEnd };
        subscriptionKey = subscriptionId;
        billingCycle = sub.billingCycle;
      }
    }
    const units = await this.uow.read((tx) => this.repo.periodTotal(tx, userId, productId, subscriptionKey, period.start));
    return { periodStart: period.start, periodEnd: period.end, units, ...(billingCycle ? { billingCycle } : {}) };
  }
}

/**
 * What the usage cost the platform and what it earned: `provider_cost` (the records' stored provider
 * costs), `margin` = total_cost - provider_cost (exact; negative when sold below cost), and how many
 * records have no provider cost (none matched when recorded: they count 0 in provider_cost).
 */
function costAndMargin(r: UsageAggregate): { provider_cost: string; margin: string; records_without_provider_cost: number } {
  const providerCost = new Decimal(r.provider_cost);
  return {
    provider_cost: providerCost.toFixed(),
    margin: new Decimal(r.cost).minus(providerCost).toFixed(),
    records_without_provider_cost: Number(r.unpriced),
  };
}

/** The query's filters; a user sees only their own usage (another user_id is 403). */
function filtersFor(query: UsageFiltersQuery, ctx: CallContext): UsageFilters {
  let userId = query.user_id;
  if (ctx.principal.kind === 'user') {
    if (userId !== undefined && userId !== ctx.principal.userId) throw forbidden('You may only read your own usage');
    userId = ctx.principal.userId;
  }
  return {
    userId,
    organizationId: query.organization_id,
    subscriptionId: query.subscription_id,
    productId: query.product_id,
    start: query.start_date !== undefined ? parseRangeBound(query.start_date) : undefined,
    end: query.end_date !== undefined ? parseRangeBound(query.end_date) : undefined,
  };
}
