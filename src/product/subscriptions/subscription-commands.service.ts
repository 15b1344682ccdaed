import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { PlatformDirectory } from '../../clients/platform-directory.js';
import { type CallContext, canActFor } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock/clock.js';
import { DomainError, forbidden } from '../../common/errors/domain-error.js';
import { Decimal } from '../../common/money/decimal.js';
import { type GroupCommitQueue, GroupCommits, type Outcome } from '../../database/group-commit.js';
import { type Tx, UnitOfWork } from '../../database/unit-of-work.js';
import { EventPublisher } from '../../events/publishers/event.publisher.js';
import type { GroupedKey } from '../../idempotency/grouped-key.js';
import { GroupedKeys } from '../../idempotency/grouped-keys.service.js';
import type { PlanEntity } from '../catalog/entities/plan.entity.js';
import { PlanService } from '../catalog/services/plan.service.js';
import { addDays, type BillingCycle, cyclePrice, monthlyEquivalent } from './billing-period.js';
import type { CancelSubscriptionDto, ChangePlanDto, CreateSubscriptionDto } from './dto/subscription.dto.js';
import { Memberships } from './memberships.service.js';
import { SubscriptionErrors } from './subscription.errors.js';
import { SubscriptionEntity } from './subscription.entity.js';
import { type SubscriptionView, toSubscriptionView } from './subscription.mapper.js';
import { type NewSubscription, SubscriptionRepository } from './subscription.repository.js';
import { firstPaidPeriod, SubscriptionTransitions } from './subscription-transitions.service.js';
import { isTerminal, type SubscriptionStatus } from './subscription-state-machine.js';

/** New subscriptions in one group commit at most, and groups committing at once (see `creates`). */
const CREATE_GROUP_MAX = 256;
const CREATE_GROUP_CONCURRENCY = 2;

/** A create on its way into a group: the row and its event, and the request's Idempotency-Key when it sent one. */
interface CreateEntry extends NewSubscription {
  key?: GroupedKey;
}

/**
 * What callers ask of subscriptions over REST: create (with the account and organization checks),
 * set a status (internal), cancel, resume, change plan. Every write is one unit of work that locks
 * the row, changes it and writes its events to the outbox in the same transaction.
 */
@Injectable()
export class SubscriptionCommands {
  /**
   * Group commit of new subscriptions (see GroupCommitQueue): the creates that arrive while the
   * previous group commits are inserted, with their events, by ONE statement; each request gets its
   * own outcome (new, or its owner already has an open subscription); a group that fails as a whole
   * is retried one create at a time; a database that cannot answer fails every create alike.
   */
  private readonly creates: GroupCommitQueue<CreateEntry, boolean>;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: SubscriptionRepository,
    private readonly transitions: SubscriptionTransitions,
    private readonly plans: PlanService,
    private readonly directory: PlatformDirectory,
    private readonly memberships: Memberships,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
    private readonly keys: GroupedKeys,
    groupCommits: GroupCommits,
  ) {
    this.creates = groupCommits.create<CreateEntry, boolean>('subscription_create', {
      maxSize: CREATE_GROUP_MAX,
      maxWaitMs: 0,
      concurrency: CREATE_GROUP_CONCURRENCY,
      sizeOf: () => 1,
      commit: (entries) => this.insertGroup(entries),
      shouldSplit: (err) => !(err instanceof DomainError && err.kind === 'unavailable'),
    });
  }

  /** Groups of creates committed so far and the creates in them (metrics, tests). */
  get groupStats(): Readonly<{ groups: number; items: number; splits: number; largest: number }> {
    return this.creates.stats;
  }

  /**
   * Inserts `entries` and their events in one statement; each one's outcome: whether it was new. A
   * group with keyed creates runs in one transaction that claims their keys with their responses
   * after the insert (GroupedKeys.transact): BEGIN, insert, keys, COMMIT.
   */
  private async insertGroup(entries: readonly CreateEntry[]): Promise<Outcome<boolean>[]> {
    if (!entries.some((e) => e.key)) {
      const ids = await this.uow.statement(async (tx) => {
        const written = await this.repo.insertWithEvents(tx, entries);
        if (written.size > 0) this.events.written(tx);
        return written;
      });
      return entries.map(({ sub }) => ({ ok: true, value: ids.has(sub.subscriptionId) }));
    }
    const { result: ids, refused } = await this.keys.transact(
      entries.map((e) => e.key),
      async (tx, skip) => {
        const written = await this.repo.insertWithEvents(
          tx,
          entries.filter((_, i) => !skip.has(i)),
        );
        if (written.size > 0) this.events.written(tx);
        // a keyed create that was not new (409) gets no response: its key stays unclaimed
        const responses = new Map<number, SubscriptionView>();
        for (const [i, e] of entries.entries()) {
          if (e.key && !skip.has(i) && written.has(e.sub.subscriptionId)) responses.set(i, toSubscriptionView(e.sub));
        }
        return { result: written, responses };
      },
    );
    return entries.map((e, i) =>
      refused.has(i) ? { ok: false, error: refused.get(i) } : { ok: true, value: ids.has(e.sub.subscriptionId) },
    );
  }

  /**
   * POST /subscriptions. With `key` (an Idempotency-Key on the grouped route) the create's group
   * claims the key with the response; the answer is then the key's: this create's, or the stored
   * one it replays. A keyed create the group did not settle fails, and the interceptor runs it
   * again alone (see GroupedKey).
   */
  async create(dto: CreateSubscriptionDto, ctx: CallContext, key?: GroupedKey): Promise<SubscriptionView> {
    if (!canActFor(ctx.principal, dto.user_id)) throw forbidden('You may only create subscriptions for yourself');
    const cycle: BillingCycle = dto.billing_cycle ?? 'monthly';
    const seats = dto.seats ?? 1;
    const organizationId = dto.organization_id ?? null;

    const plan = this.plans.requireSubscribable(dto.plan_id, ctx.principal);
    checkSeats(plan, seats);
    await this.verifyUser(dto.user_id, ctx);
    if (organizationId !== null) await this.memberships.assertMember(organizationId, dto.user_id, ctx);

    const sub = newSubscription(dto, plan, cycle, seats, this.clock.now());
    const message = this.events.subscriptionCreatedMessage(
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
    // one open subscription per (user, organization) is the partial unique index's rule: a
    // conflict answers 409. Inside a request transaction (an Idempotency-Key the group did not
    // settle) the row commits there, alone, with the stored response; otherwise it joins the next
    // group, which settles its key if it has one.
    const entry: CreateEntry = { sub, messages: [message], key };
    const inserted: Outcome<boolean> = this.uow.inRequestTransaction
      ? (await this.insertGroup([entry]))[0]
      : { ok: true, value: await this.creates.submit(entry) };
    if (!inserted.ok) throw inserted.error;
    // answered by its group: this create's response, or the stored one it replays
    if (key?.settled) return key.response as SubscriptionView;
    if (!inserted.value) throw SubscriptionErrors.exists();
    return toSubscriptionView(sub);
  }

  /** PUT /subscriptions/{id}/status (internal): any transition in the table. */
  setStatus(subscriptionId: string, to: SubscriptionStatus, reason: string | null, ctx: CallContext): Promise<SubscriptionView> {
    return this.uow.run(async (tx) => {
      const sub = await this.lockOrThrow(tx, subscriptionId);
      await this.transitions.changeStatus(tx, sub, to, reason, ctx);
      return toSubscriptionView(sub);
    });
  }

  cancel(subscriptionId: string, dto: CancelSubscriptionDto, ctx: CallContext): Promise<SubscriptionView> {
    return this.uow.run(async (tx) => {
      const sub = await this.lockOwned(tx, subscriptionId, ctx);
      const reason = dto.reason ?? null;
      if (isTerminal(sub.status)) throw SubscriptionErrors.illegalTransition(`The subscription is already ${sub.status}`);
      // An incomplete subscription has no paid period to run out: it is canceled now.
      if (dto.immediate === true || sub.status === 'incomplete') {
        await this.transitions.changeStatus(tx, sub, 'canceled', reason ?? 'canceled_by_request', ctx);
      } else {
        await this.transitions.patch(tx, sub, {
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
      const sub = await this.lockOwned(tx, subscriptionId, ctx);
      if (!isTerminal(sub.status) && sub.cancelAtPeriodEnd) {
        await this.transitions.patch(tx, sub, { cancelAtPeriodEnd: false, cancellationReason: null });
      } else if (sub.status === 'paused') {
        await this.transitions.changeStatus(tx, sub, 'active', 'resumed', ctx);
      } else {
        throw SubscriptionErrors.illegalTransition(`Nothing to resume: the subscription is ${sub.status} with no pending cancellation`);
      }
      return toSubscriptionView(sub);
    });
  }

  changePlan(subscriptionId: string, dto: ChangePlanDto, ctx: CallContext): Promise<SubscriptionView> {
    return this.uow.run(async (tx) => {
      const sub = await this.lockOwned(tx, subscriptionId, ctx);
      if (isTerminal(sub.status)) throw SubscriptionErrors.illegalTransition(`Cannot change the plan of a ${sub.status} subscription`);
      const plan = this.plans.requireSubscribable(dto.plan_id, ctx.principal);
      const cycle = dto.billing_cycle ?? sub.billingCycle;
      const seats = dto.seats ?? sub.seats;
      checkSeats(plan, seats);
      if (plan.planId === sub.planId && cycle === sub.billingCycle && seats === sub.seats) {
        // Asking for what it already has undoes a scheduled downgrade.
        if (sub.pendingPlanId !== null) {
          await this.transitions.patch(tx, sub, { pendingPlanId: null, pendingBillingCycle: null, pendingSeats: null });
        }
        return toSubscriptionView(sub);
      }
      const newPrice = cyclePrice(plan, cycle, seats);
      const upgrade = monthlyEquivalent(newPrice, cycle).gte(monthlyEquivalent(new Decimal(sub.price), sub.billingCycle));
      if (upgrade) {
        await this.transitions.switchPlan(tx, sub, plan, cycle, seats, this.clock.now(), ctx);
      } else {
        await this.transitions.patch(tx, sub, { pendingPlanId: plan.planId, pendingBillingCycle: cycle, pendingSeats: seats });
      }
      return toSubscriptionView(sub);
    });
  }

  private async lockOrThrow(tx: Tx, subscriptionId: string): Promise<SubscriptionEntity> {
    const sub = await this.repo.lock(tx, subscriptionId);
    if (!sub) throw SubscriptionErrors.notFound(subscriptionId);
    return sub;
  }

  private async lockOwned(tx: Tx, subscriptionId: string, ctx: CallContext): Promise<SubscriptionEntity> {
    const sub = await this.lockOrThrow(tx, subscriptionId);
    if (!canActFor(ctx.principal, sub.userId)) throw forbidden('You may only act on your own subscriptions');
    return sub;
  }

  private async verifyUser(userId: string, ctx: CallContext): Promise<void> {
    const user = await this.directory.checkUser(userId, { requestId: ctx.requestId });
    if (user === 'not_found') throw SubscriptionErrors.userNotFound(userId);
    if (user === 'inactive') throw SubscriptionErrors.userInactive(userId);
  }
}

function checkSeats(plan: PlanEntity, seats: number): void {
  const max = plan.maxSeats;
  if (seats < plan.minSeats || (max !== null && seats > max)) {
    throw SubscriptionErrors.seatsOutOfRange(
      plan.planId,
      max === null ? `at least ${plan.minSeats}` : `between ${plan.minSeats} and ${max}`,
    );
  }
}

/**
 * A new subscription (SPEC "Initial status"): price 0 → active; a paid plan with trial days and
 * `trial` not false → trialing, the trial being a period of its own; otherwise incomplete until a
 * payment arrives. Pure.
 */
export function newSubscription(
  dto: CreateSubscriptionDto,
  plan: PlanEntity,
  cycle: BillingCycle,
  seats: number,
  now: Date,
): SubscriptionEntity {
  const price = cyclePrice(plan, cycle, seats);
  const sub = Object.assign(new SubscriptionEntity(), {
    subscriptionId: `sub_${randomUUID().replace(/-/g, '')}`,
    userId: dto.user_id,
    organizationId: dto.organization_id ?? null,
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
    billingEventAt: null,
    paymentMethodId: dto.payment_method_id ?? null,
    includedProducts: plan.includedProducts ?? [],
    quotaLimits: plan.usageLimits ?? {},
    metadata: dto.metadata ?? {},
    createdAt: now,
    updatedAt: now,
  } satisfies Partial<SubscriptionEntity>);
  if (price.isZero()) return Object.assign(sub, { status: 'active' as const }, firstPaidPeriod(cycle, now));
  if (plan.trialDays > 0 && dto.trial !== false) {
    // The trial is a period of its own, [now, trial_end); paid periods are anchored at its end.
    const trialEnd = addDays(now, plan.trialDays);
    return Object.assign(sub, {
      status: 'trialing' as const,
      trialStart: now,
      trialEnd,
      billingAnchor: trialEnd,
      periodIndex: -1,
      currentPeriodStart: now,
      currentPeriodEnd: trialEnd,
    });
  }
  return Object.assign(sub, { status: 'incomplete' as const }, firstPaidPeriod(cycle, now));
}
