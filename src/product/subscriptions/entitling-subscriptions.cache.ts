import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../../config/app-config.js';
import { PgNotifications } from '../../database/pg-notifications.js';
import type { SubscriptionEntity } from './subscription.entity.js';

/** NOTIFY channel of subscription changes (payload: the user id), sent by a trigger on `subscriptions`. */
export const SUBSCRIPTIONS_CHANNEL = 'product_subscriptions';

interface Entry {
  subs: readonly SubscriptionEntity[];
  /** performance.now() when read */
  at: number;
}

/**
 * Per replica: each user's entitling (active / trialing) subscriptions, as last read, so that the
 * usage recorder knows which plan limits apply to a record without a round trip (SPEC section 8:
 * no round trip per record; none at all for users without a limit once they are known).
 *
 * Staleness bound: an entry is dropped
 * - at once, in this process, when a subscription write of this process commits (`changed`, called
 *   by SubscriptionRepository after the commit);
 * - on every replica, when the trigger `subscriptions_notify_*` NOTIFYs `product_subscriptions`
 *   with the user id (any change of status, plan, organization or period, from any writer): the
 *   delay of a NOTIFY, milliseconds;
 * - all entries, whenever the LISTEN connection (re)connects (what was sent while it was down is lost);
 * - at the latest QUOTA_SUBSCRIPTION_CACHE_TTL_MS (60 s) after it was read: the safety net while
 *   the LISTEN connection is down and not yet known to be down.
 * A read that overlaps an invalidation is not kept (`version`): a fill never resurrects a state
 * older than an invalidation it raced with. At most QUOTA_SUBSCRIPTION_CACHE_USERS users are kept
 * (the oldest entries go first).
 */
@Injectable()
export class EntitlingSubscriptionsCache implements OnModuleInit {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxUsers: number;
  private invalidations = 0;

  constructor(
    private readonly notifications: PgNotifications,
    config: ConfigService<AppConfig, true>,
  ) {
    const usage = config.get('usage', { infer: true });
    this.ttlMs = usage.subscriptionCacheTtlMs;
    this.maxUsers = usage.subscriptionCacheUsers;
  }

  onModuleInit(): void {
    this.notifications.listen(SUBSCRIPTIONS_CHANNEL, (userId) => (userId ? this.changed([userId]) : this.changed()));
  }

  /** Taken before a read whose result goes to `remember`. */
  get version(): number {
    return this.invalidations;
  }

  /** A user's entitling subscriptions if known and fresh, else undefined. */
  get(userId: string): readonly SubscriptionEntity[] | undefined {
    const entry = this.entries.get(userId);
    if (!entry) return undefined;
    if (performance.now() - entry.at > this.ttlMs) {
      this.entries.delete(userId);
      return undefined;
    }
    return entry.subs;
  }

  /** Stores what a read (started at `version`) found for these users: each user's entitling subscriptions, [] for none. */
  remember(userIds: readonly string[], subs: readonly SubscriptionEntity[], version: number): void {
    if (version !== this.invalidations || this.maxUsers === 0) return;
    const at = performance.now();
    const byUser = new Map<string, SubscriptionEntity[]>(userIds.map((u) => [u, []]));
    for (const s of subs) byUser.get(s.userId)?.push(s);
    for (const [userId, list] of byUser) {
      this.entries.delete(userId);
      this.entries.set(userId, { subs: list, at });
    }
    for (const userId of this.entries.keys()) {
      if (this.entries.size <= this.maxUsers) break;
      this.entries.delete(userId);
    }
  }

  /** These users' subscriptions changed (every user when none are given). */
  changed(userIds?: readonly string[]): void {
    this.invalidations++;
    if (!userIds) this.entries.clear();
    else for (const u of userIds) this.entries.delete(u);
  }
}
