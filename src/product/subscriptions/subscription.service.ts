import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { type EntityManager, In, type QueryDeepPartialEntity, type SelectQueryBuilder } from 'typeorm';
import { AccountClient } from '../../clients/account.client.js';
import { OrganizationClient } from '../../clients/organization.client.js';
import { type CallContext, canActFor, isInternal } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock/clock.js';
import { badRequest, conflict, DomainError, ErrorCode, forbidden, notFound, unprocessable } from '../../common/errors/domain-error.js';
import { Decimal } from '../../common/money/decimal.js';
import { DEFAULT_LIMIT, decodeCursor, type Page, pageOf } from '../../common/pagination/page.js';
import type { AppConfig, DependencyFailurePolicy } from '../../config/app-config.js';
import { isUniqueViolation } from '../../database/pg-errors.js';
import { type Tx, UnitOfWork } from '../../database/unit-of-work.js';
import type { SubscriptionLifecycleData } from '../../events/models/event-data.js';
import { EventPublisher } from '../../events/publishers/event.publisher.js';
import { PlanEntity } from '../catalog/entities/plan.entity.js';
import { addDays, type BillingCycle, cyclePrice, monthlyEquivalent, periodAt } from './billing-period.js';
import type { CancelSubscriptionDto, ChangePlanDto, CreateSubscriptionDto, ListSubscriptionsQuery } from './dto/subscription.dto.js';
import { SubscriptionEffects } from './subscription-effects.js';
import { SubscriptionEntity } from './subscription.entity.js';
import { type SubscriptionView, toSubscriptionView } from './subscription.mapper.js';
import {
  assertTransition,
  canTransition,
  ENTITLING_STATUSES,
  isTerminal,
  NON_TERMINAL_STATUSES,
  type SubscriptionStatus,
} from './subscription-state-machine.js';

const ONE_OPEN_INDEX = 'subscriptions_one_open_per_owner';
/** Bound on the periods one sweep rolls a single subscription forward (years of downtime). */
const MAX_CATCH_UP_STEPS = 1000;

export interface ListFilters {
  userId?: string;
  organizationId?: string;
  planId?: string;
  status?: SubscriptionStatus;
  limit?: number;
  cursor?: string;
}

/**
 * Subscriptions: creation rules, the state machine, cancel / resume / change plan, and the
 * time-driven lifecycle (`advance`, run by the sweeper). Every write is one unit of work that locks
 * the row (`FOR UPDATE`), changes it and writes its events to the outbox in the same transaction.
 * Also the `SubscriptionEffects` port the event handlers call inside their inbox transaction.
 */
@Injectable()
export class SubscriptionService extends SubscriptionEffects {
  private readonly logger = new Logger(SubscriptionService.name);
  private readonly policy: DependencyFailurePolicy;
  private readonly lifecycle: AppConfig['lifecycle'];

  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
    private readonly events: EventPublisher,
    private readonly accounts: AccountClient,
    private readonly organizations: OrganizationClient,
    config: ConfigService<AppConfig, true>,
  ) {
    super();
    this.policy = config.get('clients', { infer: true }).dependencyFailurePolicy;
    this.lifecycle = config.get('lifecycle', { infer: true });
  }

  // ---------------------------------------------------------------- create

  async create(dto: CreateSubscriptionDto, ctx: CallContext): Promise<SubscriptionView> {
    if (!canActFor(ctx.principal, dto.user_id)) throw forbidden('You may only create subscriptions for yourself');
    const cycle: BillingCycle = dto.billing_cycle ?? 'monthly';
    const seats = dto.seats ?? 1;
    const organizationId = dto.organization_id ?? null;

    // (reads go through UnitOfWork.read: on embedded PGlite there is one session for everything)
    const { plan, open } = await this.uow.read(async (tx) => {
      const found = await this.loadPlan(tx.manager, dto.plan_id, ctx);
      // A cheap early answer; the partial unique index is what really enforces it (see the insert below).
      const exists = await tx.manager
        .createQueryBuilder(SubscriptionEntity, 's')
        .where(`s.user_id = :u AND coalesce(s.organization_id, '') = :o AND s.status IN (:...st)`, {
          u: dto.user_id,
          o: organizationId ?? '',
          st: NON_TERMINAL_STATUSES,
        })
        .getExists();
      return { plan: found, open: exists };
    });
    this.checkSeats(plan, seats);
    if (open) throw this.exists();
    await this.verifyUser(dto.user_id, ctx);
    if (organizationId !== null) await this.verifyMembership(organizationId, dto.user_id, ctx);

    const now = this.clock.now();
    const price = cyclePrice(plan, cycle, seats);
    const sub = new SubscriptionEntity();
    Object.assign(sub, {
      subscriptionId: `sub_${randomUUID().replace(/-/g, '')}`,
      userId: dto.user_id,
      organizationId,
      planId: plan.planId,
      planTier: plan.planTier,
      billingCycle: cycle,
      seats,
      price: price.toFixed(),
      currency: plan.currency,
      trialStart: null,
      trialEnd: null,
      cancelAtPeriodEnd: false,
      canceledAt: null,
      cancellationReason: null,
      pendingPlanId: null,
      pendingBillingCycle: null,
      pendingSeats: null,
      pastDueSince: null,
      paymentMethodId: dto.payment_method_id ?? null,
      includedProducts: plan.includedProducts ?? [],
      quotaLimits: plan.usageLimits ?? {},
      metadata: dto.metadata ?? {},
      createdAt: now,
      updatedAt: now,
    } satisfies Partial<SubscriptionEntity>);
    if (price.isZero()) {
      sub.status = 'active';
      this.startPaidPeriod(sub, now);
    } else if (plan.trialDays > 0 && dto.trial !== false) {
      // The trial is a period of its own, [now, trial_end); paid periods are anchored at its end.
      const trialEnd = addDays(now, plan.trialDays);
      Object.assign(sub, {
        status: 'trialing',
        trialStart: now,
        trialEnd,
        billingAnchor: trialEnd,
        periodIndex: -1,
        currentPeriodStart: now,
        currentPeriodEnd: trialEnd,
      } satisfies Partial<SubscriptionEntity>);
    } else {
      sub.status = 'incomplete';
      this.startPaidPeriod(sub, now);
    }

    try {
      await this.uow.run(async (tx) => {
        // ON CONFLICT DO NOTHING: a concurrent open subscription for the same (user, organization) makes the
        // partial unique index skip this row (no error to log); the unique violation is caught as well.
        const [insertSql, params] = tx.manager
          .createQueryBuilder()
          .insert()
          .into(SubscriptionEntity)
          .values(sub as QueryDeepPartialEntity<SubscriptionEntity>)
          .orIgnore()
          .getQueryAndParameters();
        const inserted: unknown[] = await tx.manager.query(`${insertSql} RETURNING subscription_id`, params);
        if (inserted.length !== 1) throw this.exists();
        await this.events.publishSubscriptionCreated(
          tx,
          {
            subscription_id: sub.subscriptionId,
            user_id: sub.userId,
            organization_id: sub.organizationId,
            plan_id: sub.planId,
            plan_tier: sub.planTier,
            billing_cycle: sub.billingCycle,
            status: sub.status,
            seats: sub.seats,
            price: sub.price,
            currency: sub.currency,
            current_period_start: sub.currentPeriodStart.toISOString(),
            current_period_end: sub.currentPeriodEnd.toISOString(),
            trial_end: sub.trialEnd?.toISOString() ?? null,
            metadata: sub.metadata,
          },
          ctx,
        );
      });
    } catch (err) {
      if (isUniqueViolation(err, ONE_OPEN_INDEX)) throw this.exists();
      throw err;
    }
    return toSubscriptionView(sub);
  }

  // ---------------------------------------------------------------- reads

  async get(subscriptionId: string, ctx: CallContext): Promise<SubscriptionView> {
    const sub = await this.uow.read((tx) => tx.manager.findOneBy(SubscriptionEntity, { subscriptionId }));
    if (!sub) throw this.notFound(subscriptionId);
    this.assertOwner(sub, ctx);
    return toSubscriptionView(sub);
  }

  listForUser(userId: string, query: { status?: SubscriptionStatus; limit?: number; cursor?: string }, ctx: CallContext) {
    if (!canActFor(ctx.principal, userId)) throw forbidden('You may only read your own subscriptions');
    return this.list({ ...query, userId });
  }

  listAll(query: ListSubscriptionsQuery): Promise<Page<SubscriptionView>> {
    return this.list({
      userId: query.user_id,
      organizationId: query.organization_id,
      planId: query.plan_id,
      status: query.status,
      limit: query.limit,
      cursor: query.cursor,
    });
  }

  private list(f: ListFilters): Promise<Page<SubscriptionView>> {
    const limit = f.limit ?? DEFAULT_LIMIT;
    const position = decodeCursor(f.cursor, ['string']);
    return this.uow.read(async (tx) => {
      const qb = tx.manager.createQueryBuilder(SubscriptionEntity, 's');
      if (f.userId !== undefined) qb.andWhere('s.user_id = :userId', { userId: f.userId });
      if (f.organizationId !== undefined) qb.andWhere('s.organization_id = :orgId', { orgId: f.organizationId });
      if (f.planId !== undefined) qb.andWhere('s.plan_id = :planId', { planId: f.planId });
      if (f.status !== undefined) qb.andWhere('s.status = :status', { status: f.status });
      if (position) {
        const seq = String(position[0]);
        if (!/^\d{1,19}$/.test(seq))
          throw badRequest('Invalid cursor', [{ field: 'cursor', message: 'cursor is not one this service issued' }]);
        qb.andWhere('s.seq < :seq', { seq });
      }
      const rows = await qb
        .orderBy('s.seq', 'DESC')
        .limit(limit + 1)
        .getMany();
      return pageOf(rows, limit, toSubscriptionView, (r) => [String(r.seq)]);
    });
  }

  /** Entitling subscriptions of a user (for usage and availability), newest first. */
  async entitlingFor(manager: EntityManager, userId: string, organizationId?: string | null): Promise<SubscriptionEntity[]> {
    const qb = manager
      .createQueryBuilder(SubscriptionEntity, 's')
      .where('s.user_id = :userId AND s.status IN (:...st)', { userId, st: ENTITLING_STATUSES });
    if (organizationId) qb.andWhere('s.organization_id = :org', { org: organizationId });
    return qb.orderBy('s.seq', 'DESC').getMany();
  }

  // ---------------------------------------------------------------- status, cancel, resume, change plan

  /** PUT /subscriptions/{id}/status (internal): any transition in the table. */
  setStatus(subscriptionId: string, to: SubscriptionStatus, reason: string | null, ctx: CallContext): Promise<SubscriptionView> {
    return this.uow.run(async (tx) => {
      const sub = await this.lockOrThrow(tx, subscriptionId);
      await this.changeStatus(tx, sub, to, reason, ctx);
      return toSubscriptionView(sub);
    });
  }

  cancel(subscriptionId: string, dto: CancelSubscriptionDto, ctx: CallContext): Promise<SubscriptionView> {
    return this.uow.run(async (tx) => {
      const sub = await this.lockOrThrow(tx, subscriptionId);
      this.assertOwner(sub, ctx);
      const reason = dto.reason ?? null;
      if (isTerminal(sub.status)) throw conflict(ErrorCode.ILLEGAL_TRANSITION, `The subscription is already ${sub.status}`);
      // An incomplete subscription has no paid period to run out: it is canceled now.
      if (dto.immediate === true || sub.status === 'incomplete') {
        await this.changeStatus(tx, sub, 'canceled', reason ?? 'canceled_by_request', ctx);
      } else {
        await this.patch(tx, sub, {
          cancelAtPeriodEnd: true,
          cancellationReason: reason ?? sub.cancellationReason,
          pendingPlanId: null,
          pendingBillingCycle: null,
          pendingSeats: null,
        });
      }
      return toSubscriptionView(sub);
    });
  }

  resume(subscriptionId: string, ctx: CallContext): Promise<SubscriptionView> {
    return this.uow.run(async (tx) => {
      const sub = await this.lockOrThrow(tx, subscriptionId);
      this.assertOwner(sub, ctx);
      if (!isTerminal(sub.status) && sub.cancelAtPeriodEnd) {
        await this.patch(tx, sub, { cancelAtPeriodEnd: false, cancellationReason: null });
      } else if (sub.status === 'paused') {
        await this.changeStatus(tx, sub, 'active', 'resumed', ctx);
      } else {
        throw conflict(ErrorCode.ILLEGAL_TRANSITION, `Nothing to resume: the subscription is ${sub.status} with no pending cancellation`);
      }
      return toSubscriptionView(sub);
    });
  }

  changePlan(subscriptionId: string, dto: ChangePlanDto, ctx: CallContext): Promise<SubscriptionView> {
    return this.uow.run(async (tx) => {
      const sub = await this.lockOrThrow(tx, subscriptionId);
      this.assertOwner(sub, ctx);
      if (isTerminal(sub.status)) throw conflict(ErrorCode.ILLEGAL_TRANSITION, `Cannot change the plan of a ${sub.status} subscription`);
      const plan = await this.loadPlan(tx.manager, dto.plan_id, ctx);
      const cycle = dto.billing_cycle ?? sub.billingCycle;
      const seats = dto.seats ?? sub.seats;
      this.checkSeats(plan, seats);
      if (plan.planId === sub.planId && cycle === sub.billingCycle && seats === sub.seats) {
        // Asking for what it already has undoes a scheduled downgrade.
        if (sub.pendingPlanId !== null) await this.patch(tx, sub, { pendingPlanId: null, pendingBillingCycle: null, pendingSeats: null });
        return toSubscriptionView(sub);
      }
      const newPrice = cyclePrice(plan, cycle, seats);
      const upgrade = monthlyEquivalent(newPrice, cycle).gte(monthlyEquivalent(new Decimal(sub.price), sub.billingCycle));
      if (upgrade) {
        await this.switchPlan(tx, sub, plan, cycle, seats, this.clock.now(), ctx);
      } else {
        await this.patch(tx, sub, { pendingPlanId: plan.planId, pendingBillingCycle: cycle, pendingSeats: seats });
      }
      return toSubscriptionView(sub);
    });
  }

  // ---------------------------------------------------------------- SubscriptionEffects (event handlers)

  async activateForPayment(tx: Tx, subscriptionId: string, ctx: CallContext): Promise<boolean> {
    const sub = await this.lock(tx, subscriptionId);
    if (!sub || sub.status === 'active' || !canTransition(sub.status, 'active')) return false;
    await this.changeStatus(tx, sub, 'active', 'payment_completed', ctx);
    return true;
  }

  async markPastDueForUser(tx: Tx, userId: string, ctx: CallContext): Promise<number> {
    const subs = await this.lockForUser(tx, userId, ENTITLING_STATUSES);
    for (const sub of subs) await this.changeStatus(tx, sub, 'past_due', 'insufficient_funds', ctx);
    return subs.length;
  }

  async cancelAllForUser(tx: Tx, userId: string, ctx: CallContext): Promise<number> {
    const subs = await this.lockForUser(tx, userId, NON_TERMINAL_STATUSES);
    for (const sub of subs) await this.changeStatus(tx, sub, 'canceled', 'user_deleted', ctx);
    return subs.length;
  }

  // ---------------------------------------------------------------- time-driven lifecycle

  /**
   * The sweeper's query for rows with something due at `now`, locked `FOR UPDATE SKIP LOCKED`
   * so replicas sweeping at once take disjoint rows. Keyset by seq so one sweep visits each row once.
   */
  dueQuery(tx: Tx, now: Date, afterSeq: string, batchSize: number): SelectQueryBuilder<SubscriptionEntity> {
    const incompleteBefore = new Date(now.getTime() - this.lifecycle.incompleteExpiryMs);
    const pastDueBefore = new Date(now.getTime() - this.lifecycle.pastDueGraceMs);
    return tx.manager
      .createQueryBuilder(SubscriptionEntity, 's')
      .where('s.seq > :afterSeq', { afterSeq })
      .andWhere(
        `(
          (s.status = 'trialing' AND s.trial_end <= :now)
          OR (s.status = 'incomplete' AND s.created_at <= :incompleteBefore)
          OR (s.status = 'past_due' AND s.past_due_since <= :pastDueBefore)
          OR (s.status = 'active' AND s.current_period_end <= :now)
          OR (s.cancel_at_period_end AND s.current_period_end <= :now AND s.status NOT IN ('canceled', 'incomplete_expired', 'expired'))
        )`,
        { now, incompleteBefore, pastDueBefore },
      )
      .orderBy('s.seq', 'ASC')
      .limit(batchSize)
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked');
  }

  /**
   * Applies every lifecycle rule due at `now` to one locked subscription, in the order the events
   * happened (catching up missed periods one by one: each rolled period publishes its renewal).
   * Logical times (trial end, period end) are used for the recorded instants. Returns the number of steps.
   */
  async advance(tx: Tx, sub: SubscriptionEntity, now: Date, ctx: CallContext): Promise<number> {
    let steps = 0;
    for (; steps < MAX_CATCH_UP_STEPS; steps++) {
      if (isTerminal(sub.status)) break;
      const periodOver = sub.currentPeriodEnd.getTime() <= now.getTime();
      if (sub.cancelAtPeriodEnd && periodOver) {
        await this.changeStatus(tx, sub, 'canceled', sub.cancellationReason ?? 'canceled_at_period_end', ctx, sub.currentPeriodEnd);
        continue;
      }
      if (sub.status === 'trialing' && sub.trialEnd && sub.trialEnd.getTime() <= now.getTime()) {
        await this.changeStatus(tx, sub, 'past_due', 'trial_ended', ctx, sub.trialEnd);
        continue;
      }
      if (sub.status === 'incomplete' && sub.createdAt.getTime() + this.lifecycle.incompleteExpiryMs <= now.getTime()) {
        await this.changeStatus(tx, sub, 'incomplete_expired', 'payment_not_received', ctx);
        continue;
      }
      if (sub.status === 'past_due' && sub.pastDueSince && sub.pastDueSince.getTime() + this.lifecycle.pastDueGraceMs <= now.getTime()) {
        await this.changeStatus(
          tx,
          sub,
          'unpaid',
          'past_due_grace_expired',
          ctx,
          new Date(sub.pastDueSince.getTime() + this.lifecycle.pastDueGraceMs),
        );
        continue;
      }
      if (sub.status === 'active' && periodOver) {
        if (sub.billingCycle === 'one_time') {
          await this.changeStatus(tx, sub, 'expired', 'one_time_period_ended', ctx, sub.currentPeriodEnd);
          continue;
        }
        if (sub.pendingPlanId !== null) {
          const plan = await tx.manager.findOneByOrFail(PlanEntity, { planId: sub.pendingPlanId });
          await this.switchPlan(
            tx,
            sub,
            plan,
            sub.pendingBillingCycle ?? sub.billingCycle,
            sub.pendingSeats ?? sub.seats,
            sub.currentPeriodEnd,
            ctx,
            true,
          );
        }
        await this.renew(tx, sub, ctx);
        continue;
      }
      break;
    }
    if (steps >= MAX_CATCH_UP_STEPS)
      this.logger.warn({ subscription_id: sub.subscriptionId }, 'Lifecycle catch-up bounded; continuing next sweep');
    return steps;
  }

  // ---------------------------------------------------------------- internals

  /** Changes status through the state machine, with the side fields each status implies, and publishes. */
  private async changeStatus(
    tx: Tx,
    sub: SubscriptionEntity,
    to: SubscriptionStatus,
    reason: string | null,
    ctx: CallContext,
    at: Date = this.clock.now(),
  ): Promise<void> {
    const from = sub.status;
    assertTransition(from, to);
    const now = this.clock.now();
    const patch: Partial<SubscriptionEntity> = { status: to, pastDueSince: to === 'past_due' ? at : null };
    if (to === 'canceled') {
      Object.assign(patch, {
        canceledAt: at,
        cancellationReason: reason ?? sub.cancellationReason,
        cancelAtPeriodEnd: false,
        pendingPlanId: null,
        pendingBillingCycle: null,
        pendingSeats: null,
      });
    }
    if (to === 'active' && (from === 'incomplete' || from === 'trialing' || sub.currentPeriodEnd.getTime() <= now.getTime())) {
      // A first payment (or coming back after the period ran out) starts a fresh paid period now.
      const fresh = { ...sub };
      this.startPaidPeriod(fresh, now);
      Object.assign(patch, {
        billingAnchor: fresh.billingAnchor,
        periodIndex: fresh.periodIndex,
        currentPeriodStart: fresh.currentPeriodStart,
        currentPeriodEnd: fresh.currentPeriodEnd,
      });
      if (from === 'trialing' && sub.trialEnd && sub.trialEnd.getTime() > now.getTime()) patch.trialEnd = now;
    }
    await this.patch(tx, sub, patch);
    const data: SubscriptionLifecycleData = {
      subscription_id: sub.subscriptionId,
      user_id: sub.userId,
      organization_id: sub.organizationId,
      plan_id: sub.planId,
      old_status: from,
      new_status: to,
      reason,
      metadata: sub.metadata,
    };
    if (to === 'canceled') data.cancellation_reason = sub.cancellationReason;
    if (to === 'expired' || to === 'incomplete_expired') data.expiration_date = at.toISOString();
    await this.events.publishSubscriptionStatusChanged(tx, data, ctx);
  }

  /** Rolls the period forward by one and publishes subscription.renewed. */
  private async renew(tx: Tx, sub: SubscriptionEntity, ctx: CallContext): Promise<void> {
    const index = sub.periodIndex + 1;
    const period = periodAt(sub.billingAnchor, sub.billingCycle, index);
    await this.patch(tx, sub, { periodIndex: index, currentPeriodStart: period.start, currentPeriodEnd: period.end });
    await this.events.publishSubscriptionRenewed(
      tx,
      {
        subscription_id: sub.subscriptionId,
        user_id: sub.userId,
        plan_id: sub.planId,
        price: sub.price,
        currency: sub.currency,
        current_period_start: period.start.toISOString(),
        current_period_end: period.end.toISOString(),
      },
      ctx,
    );
  }

  /**
   * Puts the subscription on `plan` (price, cycle, seats, included products) and publishes
   * subscription.plan_changed. A new cycle re-anchors billing at `at`: immediately (upgrade) a new
   * period starts now; at a period end (downgrade) the next renewal starts period 0 of the new cycle.
   */
  private async switchPlan(
    tx: Tx,
    sub: SubscriptionEntity,
    plan: PlanEntity,
    cycle: BillingCycle,
    seats: number,
    at: Date,
    ctx: CallContext,
    atPeriodEnd = false,
  ): Promise<void> {
    const oldPlanId = sub.planId;
    const patch: Partial<SubscriptionEntity> = {
      planId: plan.planId,
      planTier: plan.planTier,
      price: cyclePrice(plan, cycle, seats).toFixed(),
      currency: plan.currency,
      billingCycle: cycle,
      seats,
      includedProducts: plan.includedProducts ?? [],
      quotaLimits: plan.usageLimits ?? {},
      pendingPlanId: null,
      pendingBillingCycle: null,
      pendingSeats: null,
    };
    if (cycle !== sub.billingCycle) {
      if (atPeriodEnd) {
        Object.assign(patch, { billingAnchor: at, periodIndex: -1 });
      } else if (sub.periodIndex >= 0) {
        const period = periodAt(at, cycle, 0);
        Object.assign(patch, { billingAnchor: at, periodIndex: 0, currentPeriodStart: period.start, currentPeriodEnd: period.end });
      }
    }
    await this.patch(tx, sub, patch);
    await this.events.publishSubscriptionPlanChanged(
      tx,
      { subscription_id: sub.subscriptionId, user_id: sub.userId, old_plan_id: oldPlanId, new_plan_id: plan.planId },
      ctx,
    );
  }

  private startPaidPeriod(sub: SubscriptionEntity, at: Date): void {
    const period = periodAt(at, sub.billingCycle, 0);
    sub.billingAnchor = at;
    sub.periodIndex = 0;
    sub.currentPeriodStart = period.start;
    sub.currentPeriodEnd = period.end;
  }

  /** UPDATE the row and keep the in-memory entity in step. */
  private async patch(tx: Tx, sub: SubscriptionEntity, patch: Partial<SubscriptionEntity>): Promise<void> {
    const full = { ...patch, updatedAt: this.clock.now() };
    await tx.manager.update(SubscriptionEntity, { subscriptionId: sub.subscriptionId }, full as QueryDeepPartialEntity<SubscriptionEntity>);
    Object.assign(sub, full);
  }

  private lock(tx: Tx, subscriptionId: string): Promise<SubscriptionEntity | null> {
    return tx.manager.findOne(SubscriptionEntity, { where: { subscriptionId }, lock: { mode: 'pessimistic_write' } });
  }

  private async lockOrThrow(tx: Tx, subscriptionId: string): Promise<SubscriptionEntity> {
    const sub = await this.lock(tx, subscriptionId);
    if (!sub) throw this.notFound(subscriptionId);
    return sub;
  }

  private lockForUser(tx: Tx, userId: string, statuses: readonly SubscriptionStatus[]): Promise<SubscriptionEntity[]> {
    return tx.manager.find(SubscriptionEntity, {
      where: { userId, status: In([...statuses]) },
      order: { seq: 'ASC' },
      lock: { mode: 'pessimistic_write' },
    });
  }

  private async loadPlan(manager: EntityManager, planId: string, ctx: CallContext): Promise<PlanEntity> {
    const plan = await manager.findOneBy(PlanEntity, { planId });
    if (!plan || !plan.isActive) throw notFound(ErrorCode.PLAN_NOT_FOUND, `Plan ${planId} not found`);
    if (!plan.isPublic && !isInternal(ctx.principal)) {
      throw forbidden(`Plan ${planId} is not available for self-service`, ErrorCode.PLAN_NOT_AVAILABLE);
    }
    return plan;
  }

  private checkSeats(plan: PlanEntity, seats: number): void {
    const max = plan.maxSeats;
    if (seats < plan.minSeats || (max !== null && seats > max)) {
      const range = max === null ? `at least ${plan.minSeats}` : `between ${plan.minSeats} and ${max}`;
      throw badRequest('Request validation failed', [{ field: 'seats', message: `seats must be ${range} for plan ${plan.planId}` }]);
    }
  }

  private async verifyUser(userId: string, ctx: CallContext): Promise<void> {
    const user = await this.dependency('account_service', () => this.accounts.getUser(userId, { requestId: ctx.requestId }));
    if (user === undefined) return; // fail_open
    if (user === null) throw unprocessable(ErrorCode.USER_NOT_FOUND, `User ${userId} not found`);
    if (user.is_active === false) throw unprocessable(ErrorCode.USER_INACTIVE, `User ${userId} is not active`);
  }

  private async verifyMembership(organizationId: string, userId: string, ctx: CallContext): Promise<void> {
    const org = await this.dependency('organization_service', () =>
      this.organizations.getOrganization(organizationId, { requestId: ctx.requestId }),
    );
    if (org === null) throw unprocessable(ErrorCode.ORGANIZATION_NOT_FOUND, `Organization ${organizationId} not found`);
    if (org === undefined) return;
    const member = await this.dependency('organization_service', () =>
      this.organizations.checkUserInOrganization(organizationId, userId, { requestId: ctx.requestId }),
    );
    if (member === false) {
      throw forbidden(`User ${userId} is not a member of organization ${organizationId}`, ErrorCode.NOT_ORGANIZATION_MEMBER);
    }
  }

  /**
   * Calls a dependency; when it cannot answer (DependencyUnavailableError or any other failure),
   * fail_closed → 503 DEPENDENCY_UNAVAILABLE, fail_open → undefined (check skipped, warning logged).
   */
  private async dependency<T>(service: string, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof DomainError) throw err;
      if (this.policy === 'fail_open') {
        this.logger.warn({ err, service }, `${service} unavailable; accepting (DEPENDENCY_FAILURE_POLICY=fail_open)`);
        return undefined;
      }
      throw new DomainError(ErrorCode.DEPENDENCY_UNAVAILABLE, `${service} is unavailable; try again later`, 503, undefined, {
        'Retry-After': '5',
      });
    }
  }

  private assertOwner(sub: SubscriptionEntity, ctx: CallContext): void {
    if (!canActFor(ctx.principal, sub.userId)) throw forbidden('You may only act on your own subscriptions');
  }

  private notFound(id: string): DomainError {
    return notFound(ErrorCode.SUBSCRIPTION_NOT_FOUND, `Subscription ${id} not found`);
  }

  private exists(): DomainError {
    return conflict(
      ErrorCode.SUBSCRIPTION_EXISTS,
      'The user already has an open subscription for this organization (or none); change its plan instead',
    );
  }
}
