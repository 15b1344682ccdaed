import type { OutboxMessage } from '../events/outbox/outbox-message.js';
import type { SubscriptionEntity } from '../product/subscriptions/subscription.entity.js';

/**
 * An in-memory subscriptions table with the one-open-per-owner rule of the partial unique index,
 * for unit specs: swap it in with overrideProvider(SubscriptionRepository).
 */
export class InMemorySubscriptions {
  readonly rows = new Map<string, SubscriptionEntity>();

  /** where insertWithEvents puts the events it writes with a new subscription */
  constructor(private readonly outbox?: { messages: OutboxMessage[] }) {}

  async insertWithEvents(
    tx: unknown,
    subs: readonly { sub: SubscriptionEntity; messages: readonly OutboxMessage[] }[],
  ): Promise<Set<string>> {
    const written = new Set<string>();
    for (const { sub, messages } of subs) {
      if (!(await this.insert(tx, sub))) continue;
      written.add(sub.subscriptionId);
      this.outbox?.messages.push(...messages);
    }
    return written;
  }

  insert(_tx: unknown, sub: SubscriptionEntity): Promise<boolean> {
    if (this.openOf(sub.userId, sub.organizationId)) return Promise.resolve(false);
    this.rows.set(sub.subscriptionId, { ...sub, seq: String(this.rows.size + 1) });
    return Promise.resolve(true);
  }
  findById(_tx: unknown, id: string): Promise<SubscriptionEntity | null> {
    return this.lock(_tx, id);
  }
  lockForUsers(_tx: unknown, userIds: readonly string[], statuses: readonly string[]): Promise<SubscriptionEntity[]> {
    return Promise.resolve(
      [...this.rows.values()].filter((s) => userIds.includes(s.userId) && statuses.includes(s.status)).map((s) => ({ ...s })),
    );
  }
  lockMany(_tx: unknown, ids: readonly string[]): Promise<SubscriptionEntity[]> {
    return Promise.resolve([...this.rows.values()].filter((s) => ids.includes(s.subscriptionId)).map((s) => ({ ...s })));
  }
  lock(_tx: unknown, id: string): Promise<SubscriptionEntity | null> {
    const row = this.rows.get(id);
    return Promise.resolve(row ? { ...row } : null);
  }
  updateMany(_tx: unknown, subs: readonly SubscriptionEntity[], fields: readonly (keyof SubscriptionEntity)[]): Promise<void> {
    for (const sub of subs) {
      const row = this.rows.get(sub.subscriptionId);
      if (row) for (const field of fields) Object.assign(row, { [field]: sub[field] });
    }
    return Promise.resolve();
  }
  update(_tx: unknown, id: string, patch: Partial<SubscriptionEntity>): Promise<void> {
    this.rows.set(id, { ...(this.rows.get(id) as SubscriptionEntity), ...patch });
    return Promise.resolve();
  }
  private openOf(userId: string, organizationId: string | null): SubscriptionEntity | undefined {
    return [...this.rows.values()].find(
      (s) =>
        s.userId === userId && s.organizationId === organizationId && !['canceled', 'expired', 'incomplete_expired'].includes(s.status),
    );
  }
}
