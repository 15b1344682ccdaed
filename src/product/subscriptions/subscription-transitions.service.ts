import { Injectable } from '@nestjs/common';
import type { CallContext } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock/clock.js';
import type { Tx } from '../../database/unit-of-work.js';
import type { SubscriptionLifecycleData } from '../../events/models/event-data.js';
import type { OutboxMessage } from '../../events/outbox/outbox-message.js';
import { EventPublisher } from '../../events/publishers/event.publisher.js';
import type { PlanEntity } from '../catalog/entities/plan.entity.js';
import { type BillingCycle, cyclePrice, periodAt } from './billing-period.js';
import { SubscriptionRepository } from './subscription.repository.js';
import type { SubscriptionEntity } from './subscription.entity.js';
import { assertTransition, type SubscriptionStatus } from './subscription-state-machine.js';

/**
 * How a locked subscription changes, whoever asks (a REST command, the lifecycle sweeper, a
 * consumed event): a status change through the state machine with the side fields it implies, a
 * renewal, a plan switch; each writes the row and its events in the caller's transaction and keeps
 * the in-memory entity in step.
 */
@Injectable()
export class SubscriptionTransitions {
  constructor(
    private readonly repo: SubscriptionRepository,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
  ) {}

  /** Changes status through the state machine, with the side fields each status implies, and publishes. */
  async changeStatus(
    tx: Tx,
    sub: SubscriptionEntity,
    to: SubscriptionStatus,
    reason: string | null,
    ctx: CallContext,
    at: Date = this.clock.now(),
  ): Promise<void> {
    const changes = this.statusChanges();
    changes.add(sub, to, reason, ctx, at);
    await changes.write(tx);
  }

  /** Status changes of many locked subscriptions, written together (see StatusChanges). */
  statusChanges(): StatusChanges {
    return new StatusChanges(this.repo, this.events, this.clock);
  }

  /** Rolls the period forward by one and publishes subscription.renewed. */
  async renew(tx: Tx, sub: SubscriptionEntity, ctx: CallContext): Promise<void> {
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
  async switchPlan(
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

  /** UPDATE the row and keep the in-memory entity in step. */
  async patch(tx: Tx, sub: SubscriptionEntity, patch: Partial<SubscriptionEntity>): Promise<void> {
    const full = { ...patch, updatedAt: this.clock.now() };
    await this.repo.update(tx, sub.subscriptionId, full, sub.userId);
    Object.assign(sub, full);
  }
}

/**
 * Status changes of many locked subscriptions (a group of consumed events): `add` decides each
 * change through the state machine and applies it to the entity at once (so a later change of the
 * same subscription sees it), `write` stores them all: ONE UPDATE of the touched columns of every
 * changed row, ONE outbox insert of all their events, in the order they were added.
 */
export class StatusChanges {
  private readonly changed = new Map<string, SubscriptionEntity>();
  private readonly fields = new Set<keyof SubscriptionEntity>();
  private readonly messages: OutboxMessage[] = [];

  constructor(
    private readonly repo: SubscriptionRepository,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
  ) {}

  /**
   * A payment or failed charge that happened at `occurredAt`: false when the subscription has seen a
   * newer one (their consumers are apart, so they may arrive in either order: the older changes
   * nothing); else it becomes the subscription's latest (written with the group, even when it
   * changes no status: a payment to an active subscription still outdates an older failed charge).
   */
  billingEvent(sub: SubscriptionEntity, occurredAt: Date): boolean {
    if (sub.billingEventAt !== null && occurredAt.getTime() < sub.billingEventAt.getTime()) return false;
    sub.billingEventAt = occurredAt;
    this.fields.add('billingEventAt');
    this.changed.set(sub.subscriptionId, sub);
    return true;
  }

  add(sub: SubscriptionEntity, to: SubscriptionStatus, reason: string | null, ctx: CallContext, at: Date = this.clock.now()): void {
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
      Object.assign(patch, firstPaidPeriod(sub.billingCycle, now));
      if (from === 'trialing' && sub.trialEnd && sub.trialEnd.getTime() > now.getTime()) patch.trialEnd = now;
    }
    patch.updatedAt = now;
    Object.assign(sub, patch);
    for (const field of Object.keys(patch) as (keyof SubscriptionEntity)[]) this.fields.add(field);
    this.changed.set(sub.subscriptionId, sub);
    const data: SubscriptionLifecycleData = {
      subscription_id: sub.subscriptionId,
      user_id: sub.userId,
      organization_id: sub.organizationId,
      plan_id: sub.planId,
      plan_tier: sub.planTier,
      old_status: from,
      new_status: to,
      reason,
      metadata: sub.metadata,
    };
    if (to === 'canceled') data.cancellation_reason = sub.cancellationReason;
    if (to === 'expired' || to === 'incomplete_expired') data.expiration_date = at.toISOString();
    this.messages.push(...this.events.subscriptionStatusChangedMessages(data, ctx));
  }

  async write(tx: Tx): Promise<void> {
    await this.repo.updateMany(tx, [...this.changed.values()], [...this.fields]);
    await this.events.publishMessages(tx, this.messages);
  }
}

/** The billing fields of a paid period starting at `at` (period 0 of a new anchor). */
export function firstPaidPeriod(
  cycle: BillingCycle,
  at: Date,
): Pick<SubscriptionEntity, 'billingAnchor' | 'periodIndex' | 'currentPeriodStart' | 'currentPeriodEnd'> {
  const period = periodAt(at, cycle, 0);
  return { billingAnchor: at, periodIndex: 0, currentPeriodStart: period.start, currentPeriodEnd: period.end };
}
