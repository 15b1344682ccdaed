import { Injectable } from '@nestjs/common';
import { type CallContext, canActFor } from '../../common/auth/principal.js';
import { forbidden } from '../../common/errors/domain-error.js';
import { DEFAULT_LIMIT, decodeSeqCursor, type Page, seqPageOf } from '../../common/pagination/page.js';
import { type Tx, UnitOfWork } from '../../database/unit-of-work.js';
import type { ListSubscriptionsQuery } from './dto/subscription.dto.js';
import { SubscriptionErrors } from './subscription.errors.js';
import type { SubscriptionEntity } from './subscription.entity.js';
import { type SubscriptionView, toSubscriptionView } from './subscription.mapper.js';
import { type SubscriptionFilters, SubscriptionRepository } from './subscription.repository.js';
import type { SubscriptionStatus } from './subscription-state-machine.js';

/** Reads of subscriptions: one, a user's, all (internal), counts; and lookups for other features. */
@Injectable()
export class SubscriptionQueries {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: SubscriptionRepository,
  ) {}

  async get(subscriptionId: string, ctx: CallContext): Promise<SubscriptionView> {
    const sub = await this.uow.read((tx) => this.repo.findById(tx, subscriptionId));
    if (!sub) throw SubscriptionErrors.notFound(subscriptionId);
    if (!canActFor(ctx.principal, sub.userId)) throw forbidden('You may only act on your own subscriptions');
    return toSubscriptionView(sub);
  }

  listForUser(
    userId: string,
    query: { status?: SubscriptionStatus; limit?: number; cursor?: string },
    ctx: CallContext,
  ): Promise<Page<SubscriptionView>> {
    if (!canActFor(ctx.principal, userId)) throw forbidden('You may only read your own subscriptions');
    return this.list({ userId, status: query.status }, query.limit, query.cursor);
  }

  listAll(query: ListSubscriptionsQuery): Promise<Page<SubscriptionView>> {
    return this.list(
      { userId: query.user_id, organizationId: query.organization_id, planId: query.plan_id, status: query.status },
      query.limit,
      query.cursor,
    );
  }

  countByStatus(): Promise<Record<SubscriptionStatus, number>> {
    return this.uow.read((tx) => this.repo.countByStatus(tx));
  }

  /** Subscriptions by id (unknown ids absent), read in `tx`. */
  findByIds(tx: Tx, subscriptionIds: readonly string[]): Promise<SubscriptionEntity[]> {
    return this.repo.findByIds(tx, subscriptionIds);
  }

  /** A subscription by id, or undefined. */
  async find(subscriptionId: string): Promise<SubscriptionEntity | undefined> {
    return (await this.uow.read((tx) => this.repo.findById(tx, subscriptionId))) ?? undefined;
  }

  /** The entitling subscriptions of these users, read in `tx` when given. */
  entitlingOf(userIds: readonly string[], tx?: Tx): Promise<SubscriptionEntity[]> {
    return tx ? this.repo.entitlingOf(tx, userIds) : this.uow.read((t) => this.repo.entitlingOf(t, userIds));
  }

  private list(filters: SubscriptionFilters, limit = DEFAULT_LIMIT, cursor?: string): Promise<Page<SubscriptionView>> {
    const beforeSeq = decodeSeqCursor(cursor);
    return this.uow.read(async (tx) => seqPageOf(await this.repo.list(tx, filters, limit + 1, beforeSeq), limit, toSubscriptionView));
  }
}
