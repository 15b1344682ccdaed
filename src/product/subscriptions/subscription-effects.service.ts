import { Injectable } from '@nestjs/common';
import type { Tx } from '../../database/unit-of-work.js';
import { SubscriptionEffects, type SubscriptionRequest, type UserRequest } from './subscription-effects.js';
import { SubscriptionRepository } from './subscription.repository.js';
import type { SubscriptionEntity } from './subscription.entity.js';
import { SubscriptionTransitions } from './subscription-transitions.service.js';
import { canTransition, ENTITLING_STATUSES, NON_TERMINAL_STATUSES, type SubscriptionStatus } from './subscription-state-machine.js';

/**
 * What consumed events do to subscriptions: the implementation of ProductModule's SubscriptionEffects
 * port. A group of requests costs one locking read, one UPDATE and one outbox insert, whatever its size.
 */
@Injectable()
export class SubscriptionEffectsService extends SubscriptionEffects {
  constructor(
    private readonly repo: SubscriptionRepository,
    private readonly transitions: SubscriptionTransitions,
  ) {
    super();
  }

  async activateForPayments(tx: Tx, requests: readonly SubscriptionRequest[]): Promise<boolean[]> {
    const subs = await this.repo.lockMany(tx, [...new Set(requests.map((r) => r.subscriptionId))]);
    const byId = new Map(subs.map((s) => [s.subscriptionId, s]));
    const changes = this.transitions.statusChanges();
    const changed = requests.map(({ subscriptionId, ctx, occurredAt }) => {
      const sub = byId.get(subscriptionId);
      if (!sub || !changes.billingEvent(sub, occurredAt)) return false;
      if (sub.status === 'active' || !canTransition(sub.status, 'active')) return false;
      changes.add(sub, 'active', 'payment_completed', ctx);
      return true;
    });
    await changes.write(tx);
    return changed;
  }

  markPastDueForUsers(tx: Tx, requests: readonly UserRequest[]): Promise<number[]> {
    return this.changeUsers(tx, requests, ENTITLING_STATUSES, 'past_due', 'insufficient_funds', true);
  }

  cancelAllForUsers(tx: Tx, requests: readonly UserRequest[]): Promise<number[]> {
    return this.changeUsers(tx, requests, NON_TERMINAL_STATUSES, 'canceled', 'user_deleted', false);
  }

  /** Each request moves the user's subscriptions that are (still) in `from` to `to`, oldest first. */
  private async changeUsers(
    tx: Tx,
    requests: readonly UserRequest[],
    from: readonly SubscriptionStatus[],
    to: SubscriptionStatus,
    reason: string,
    billing: boolean,
  ): Promise<number[]> {
    const subs = await this.repo.lockForUsers(tx, [...new Set(requests.map((r) => r.userId))], from);
    const byUser = new Map<string, SubscriptionEntity[]>();
    for (const sub of subs) byUser.set(sub.userId, [...(byUser.get(sub.userId) ?? []), sub]);
    const changes = this.transitions.statusChanges();
    const counts = requests.map(({ userId, ctx, occurredAt }) => {
      // a second request for the same user in the group finds them changed already; a failed
      // charge older than a subscription's latest payment leaves that subscription alone
      const open = (byUser.get(userId) ?? []).filter(
        (sub) => from.includes(sub.status) && (!billing || changes.billingEvent(sub, occurredAt)),
      );
      for (const sub of open) changes.add(sub, to, reason, ctx);
      return open.length;
    });
    await changes.write(tx);
    return counts;
  }
}
