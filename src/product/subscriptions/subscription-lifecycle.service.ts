import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { CallContext } from '../../common/auth/principal.js';
import type { AppConfig } from '../../config/app-config.js';
import type { Tx } from '../../database/unit-of-work.js';
import { PlanService } from '../catalog/services/plan.service.js';
import type { SubscriptionEntity } from './subscription.entity.js';
import { SubscriptionRepository } from './subscription.repository.js';
import { SubscriptionTransitions } from './subscription-transitions.service.js';
import { isTerminal } from './subscription-state-machine.js';

/** Bound on the periods one sweep rolls a single subscription forward (years of downtime). */
const MAX_CATCH_UP_STEPS = 1000;

/**
 * The time-driven lifecycle (SPEC): trial ends, incomplete expiry, past_due grace, cancellation at
 * period end, pending plan changes, renewals, one_time expiry. The sweeper picks the due rows;
 * `advance` applies every rule due to one of them.
 */
@Injectable()
export class SubscriptionLifecycle {
  private readonly logger = new Logger(SubscriptionLifecycle.name);
  private readonly lifecycle: AppConfig['lifecycle'];

  constructor(
    private readonly repo: SubscriptionRepository,
    private readonly transitions: SubscriptionTransitions,
    private readonly plans: PlanService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.lifecycle = config.get('lifecycle', { infer: true });
  }

  /** Rows with something due at `now`, after `afterSeq`, locked so replicas sweeping at once take disjoint rows. */
  lockDue(tx: Tx, now: Date, afterSeq: string, batchSize: number): Promise<SubscriptionEntity[]> {
    return this.repo.lockDue(
      tx,
      {
        now,
        incompleteBefore: new Date(now.getTime() - this.lifecycle.incompleteExpiryMs),
        pastDueBefore: new Date(now.getTime() - this.lifecycle.pastDueGraceMs),
      },
      afterSeq,
      batchSize,
    );
  }

  /**
   * Applies every lifecycle rule due at `now` to one locked subscription, in the order the events
   * happened (catching up missed periods one by one: each rolled period publishes its renewal).
   * Logical times (trial end, period end) are used for the recorded instants. Returns the number of steps.
   */
  async advance(tx: Tx, sub: SubscriptionEntity, now: Date, ctx: CallContext): Promise<number> {
    const t = this.transitions;
    let steps = 0;
    for (; steps < MAX_CATCH_UP_STEPS; steps++) {
      if (isTerminal(sub.status)) break;
      const periodOver = sub.currentPeriodEnd.getTime() <= now.getTime();
      if (sub.cancelAtPeriodEnd && periodOver) {
        await t.changeStatus(tx, sub, 'canceled', sub.cancellationReason ?? 'canceled_at_period_end', ctx, sub.currentPeriodEnd);
        continue;
      }
      if (sub.status === 'trialing' && sub.trialEnd && sub.trialEnd.getTime() <= now.getTime()) {
        await t.changeStatus(tx, sub, 'past_due', 'trial_ended', ctx, sub.trialEnd);
        continue;
      }
      if (sub.status === 'incomplete' && sub.createdAt.getTime() + this.lifecycle.incompleteExpiryMs <= now.getTime()) {
        await t.changeStatus(tx, sub, 'incomplete_expired', 'payment_not_received', ctx);
        continue;
      }
      if (sub.status === 'past_due' && sub.pastDueSince && sub.pastDueSince.getTime() + this.lifecycle.pastDueGraceMs <= now.getTime()) {
        const graceEnd = new Date(sub.pastDueSince.getTime() + this.lifecycle.pastDueGraceMs);
        await t.changeStatus(tx, sub, 'unpaid', 'past_due_grace_expired', ctx, graceEnd);
        continue;
      }
      if (sub.status === 'active' && periodOver) {
        if (sub.billingCycle === 'one_time') {
          await t.changeStatus(tx, sub, 'expired', 'one_time_period_ended', ctx, sub.currentPeriodEnd);
          continue;
        }
        if (sub.pendingPlanId !== null) {
          const plan = this.plans.find(sub.pendingPlanId);
          if (!plan) throw new Error(`pending plan ${sub.pendingPlanId} of ${sub.subscriptionId} does not exist`);
          const cycle = sub.pendingBillingCycle ?? sub.billingCycle;
          await t.switchPlan(tx, sub, plan, cycle, sub.pendingSeats ?? sub.seats, sub.currentPeriodEnd, ctx, true);
        }
        await t.renew(tx, sub, ctx);
        continue;
      }
      break;
    }
    if (steps >= MAX_CATCH_UP_STEPS) {
      this.logger.warn({ subscription_id: sub.subscriptionId }, 'Lifecycle catch-up bounded; continuing next sweep');
    }
    return steps;
  }
}
