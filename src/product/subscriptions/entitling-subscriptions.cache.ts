import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../../config/app-config.js';
import { PgNotifications } from '../../database/pg-notifications.js';
import type { SubscriptionEntity } from './subscription.entity.js';

/** NOTIFY channel of subscription changes: the users' ids (separated by USER_SEPARATOR), or nothing for "every user". */
export const SUBSCRIPTIONS_CHANNEL = 'product_subscriptions';
/** A control character: never inside an identifier (SPEC section 1). */
const USER_SEPARATOR = '\u001f';
/** Longest list of user ids sent in one NOTIFY (PostgreSQL takes payloads under 8,000 bytes); longer: "every user". */
const MAX_PAYLOAD = 7000;

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
 * - on every other replica, when the writer's NOTIFY on `product_subscriptions` arrives: sent after
 *   the commit, outside any transaction (a NOTIFY inside one would serialise every notifying
 *   commit), one at a time with the ids of every commit meanwhile: milliseconds. A writer that dies
 *   between its commit and its NOTIFY leaves the others to the TTL below;
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

  private readonly unsent = new Set<string>();
  private unsentAll = false;
  private sending?: Promise<void>;

  onModuleInit(): void {
    this.notifications.listen(SUBSCRIPTIONS_CHANNEL, (data) => (data ? this.changed(data.split(USER_SEPARATOR)) : this.changed()));
  }

  /**
   * A subscription write of this process committed: these users' entries go here at once, and on
   * the other replicas when the NOTIFY arrives (every user when none are given).
   */
  committed(userIds?: readonly string[]): void {
    this.changed(userIds);
    if (!this.notifications.available) return;
    if (userIds) for (const u of userIds) this.unsent.add(u);
    else this.unsentAll = true;
    this.sending ??= this.send().finally(() => (this.sending = undefined));
  }

  /** One NOTIFY at a time, each with the users of every commit since the previous one. */
  private async send(): Promise<void> {
    while (this.unsentAll || this.unsent.size > 0) {
      let data = this.unsentAll ? '' : [...this.unsent].join(USER_SEPARATOR);
      if (data.length > MAX_PAYLOAD) data = '';
      this.unsent.clear();
      this.unsentAll = false;
      await this.notifications.notify(SUBSCRIPTIONS_CHANNEL, data);
    }
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
