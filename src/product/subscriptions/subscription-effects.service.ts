import { Injectable } from '@nestjs/common';
import type { CallContext } from '../../common/auth/principal.js';
import type { Tx } from '../../database/unit-of-work.js';
import { SubscriptionEffects } from './subscription-effects.js';
import { SubscriptionRepository } from './subscription.repository.js';
import { SubscriptionTransitions } from './subscription-transitions.service.js';
import { canTransition, ENTITLING_STATUSES, NON_TERMINAL_STATUSES } from './subscription-state-machine.js';

/** What consumed events do to subscriptions: the implementation of ProductModule's SubscriptionEffects port. */
@Injectable()
export class SubscriptionEffectsService extends SubscriptionEffects {
  constructor(
    private readonly repo: SubscriptionRepository,
    private readonly transitions: SubscriptionTransitions,
  ) {
    super();
  }

  async activateForPayment(tx: Tx, subscriptionId: string, ctx: CallContext): Promise<boolean> {
    const sub = await this.repo.lock(tx, subscriptionId);
    if (!sub || sub.status === 'active' || !canTransition(sub.status, 'active')) return false;
    await this.transitions.changeStatus(tx, sub, 'active', 'payment_completed', ctx);
    return true;
  }

  async markPastDueForUser(tx: Tx, userId: string, ctx: CallContext): Promise<number> {
    const subs = await this.repo.lockForUser(tx, userId, ENTITLING_STATUSES);
    for (const sub of subs) await this.transitions.changeStatus(tx, sub, 'past_due', 'insufficient_funds', ctx);
    return subs.length;
  }

  async cancelAllForUser(tx: Tx, userId: string, ctx: CallContext): Promise<number> {
    const subs = await this.repo.lockForUser(tx, userId, NON_TERMINAL_STATUSES);
    for (const sub of subs) await this.transitions.changeStatus(tx, sub, 'canceled', 'user_deleted', ctx);
    return subs.length;
  }
}
