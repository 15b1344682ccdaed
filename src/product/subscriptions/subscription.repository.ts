import { Injectable } from '@nestjs/common';
import { In, type QueryDeepPartialEntity } from 'typeorm';
import { isUniqueViolation } from '../../database/pg-errors.js';
import { sqlFilters } from '../../database/sql-filters.js';
import { managerOf, prepared, type Tx } from '../../database/transaction.js';
import type { OutboxMessage } from '../../events/outbox/outbox-message.js';
import { EntitlingSubscriptionsCache } from './entitling-subscriptions.cache.js';
import { OutboxRepository } from '../../events/outbox/outbox.repository.js';
import { SubscriptionEntity } from './subscription.entity.js';
import { ENTITLING_STATUSES, SUBSCRIPTION_STATUSES, type SubscriptionStatus } from './subscription-state-machine.js';

/** The partial unique index that allows one non-terminal subscription per (user, organization or none). */
const ONE_OPEN_INDEX = 'subscriptions_one_open_per_owner';

export interface SubscriptionFilters {
  userId?: string;
  organizationId?: string;
  planId?: string;
  status?: SubscriptionStatus;
}

/**
 * The columns of a new subscription, their SQL types and how each is written: the rows of a group
 * of new subscriptions go to the insert as ONE JSON parameter (json_to_recordset), a fixed
 * statement whatever the group's size (no query building per request).
 */
const INSERT_COLUMNS: readonly [column: string, type: string, value: (s: SubscriptionEntity) => unknown][] = [
  ['subscription_id', 'text', (s) => s.subscriptionId],
  ['user_id', 'text', (s) => s.userId],
  ['organization_id', 'text', (s) => s.organizationId],
  ['plan_id', 'text', (s) => s.planId],
  ['plan_tier', 'text', (s) => s.planTier],
  ['status', 'text', (s) => s.status],
  ['billing_cycle', 'text', (s) => s.billingCycle],
  ['seats', 'int', (s) => s.seats],
  ['price', 'numeric', (s) => s.price],
  ['currency', 'text', (s) => s.currency],
  ['billing_anchor', 'timestamptz', (s) => s.billingAnchor],
  ['period_index', 'int', (s) => s.periodIndex],
  ['current_period_start', 'timestamptz', (s) => s.currentPeriodStart],
  ['current_period_end', 'timestamptz', (s) => s.currentPeriodEnd],
  ['trial_start', 'timestamptz', (s) => s.trialStart],
  ['trial_end', 'timestamptz', (s) => s.trialEnd],
  ['cancel_at_period_end', 'boolean', (s) => s.cancelAtPeriodEnd],
  ['canceled_at', 'timestamptz', (s) => s.canceledAt],
  ['cancellation_reason', 'text', (s) => s.cancellationReason],
  ['pending_plan_id', 'text', (s) => s.pendingPlanId],
  ['pending_billing_cycle', 'text', (s) => s.pendingBillingCycle],
  ['pending_seats', 'int', (s) => s.pendingSeats],
  ['past_due_since', 'timestamptz', (s) => s.pastDueSince],
  ['billing_event_at', 'timestamptz', (s) => s.billingEventAt],
  ['payment_method_id', 'text', (s) => s.paymentMethodId],
  ['included_products', 'jsonb', (s) => s.includedProducts],
  ['quota_limits', 'jsonb', (s) => s.quotaLimits],
  ['metadata', 'jsonb', (s) => s.metadata],
  ['created_at', 'timestamptz', (s) => s.createdAt],
  ['updated_at', 'timestamptz', (s) => s.updatedAt],
];
const COLUMN_LIST = INSERT_COLUMNS.map(([c]) => c).join(', ');
/** snake_case column → the entity's camelCase property (the naming strategy's mapping) */
const propertyOf = (column: string): string => column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
/**
 * Every column of a subscription under its entity property's name, for the hot reads that skip
 * TypeORM's query builder and entity hydration: the locking reads of the consumed events' groups
 * (`lockMany`, `lockForUsers`; ~6 % of the service's CPU per inbound event), the lists (`list`)
 * and a user's entitling subscriptions (`entitlingOf`).
 * node-postgres parses the values as TypeORM would (numeric as strings, timestamptz as Date, jsonb
 * as objects; `seq` is selected as text, as its column's transformer gives it on every driver), and
 * a unit test holds this list to the entity's columns.
 */
export const ENTITY_SELECT = [`s.seq::text AS "seq"`, ...INSERT_COLUMNS.map(([c]) => `s.${c} AS "${propertyOf(c)}"`)].join(', ');
const asEntity = (row: object): SubscriptionEntity => Object.assign(new SubscriptionEntity(), row);
/**
 * New subscriptions ($1: their rows, with `ord`, the order they arrived in) and their events ($2, see
 * OutboxRepository.insertManyForKeysStatement), in ONE statement: a row the partial unique index
 * refuses (its owner has an open subscription, stored or earlier in the same group) is skipped, and
 * so are its events. Rows go in owner order, and one owner's in arrival order, so the first of two
 * for one owner wins and two groups committing at once take the index's entries in one order (no
 * deadlock between them); events go in arrival order.
 */
const insertGroupSql = (eventsSql: string): string => `WITH inserted AS (
    INSERT INTO subscriptions (${COLUMN_LIST})
    SELECT ${COLUMN_LIST} FROM json_to_recordset($1::json) AS r(ord int, ${INSERT_COLUMNS.map(([c, type]) => `${c} ${type}`).join(', ')})
    ORDER BY user_id, organization_id, ord
    ON CONFLICT DO NOTHING RETURNING subscription_id
  ), events AS (${eventsSql})
  SELECT subscription_id FROM inserted`;

/** A new subscription and the events written with it. */
export interface NewSubscription {
  sub: SubscriptionEntity;
  messages: readonly OutboxMessage[];
}

/**
 * The columns a status change or renewal may touch, with their SQL types: `updateMany` writes any
 * of them for many rows in one statement (json_to_recordset), from the entities' current values.
 */
const UPDATABLE: Partial<Record<keyof SubscriptionEntity, [column: string, type: string]>> = {
  status: ['status', 'text'],
  pastDueSince: ['past_due_since', 'timestamptz'],
  billingEventAt: ['billing_event_at', 'timestamptz'],
  canceledAt: ['canceled_at', 'timestamptz'],
  cancellationReason: ['cancellation_reason', 'text'],
  cancelAtPeriodEnd: ['cancel_at_period_end', 'boolean'],
  pendingPlanId: ['pending_plan_id', 'text'],
  pendingBillingCycle: ['pending_billing_cycle', 'text'],
  pendingSeats: ['pending_seats', 'int'],
  billingAnchor: ['billing_anchor', 'timestamptz'],
  periodIndex: ['period_index', 'int'],
  currentPeriodStart: ['current_period_start', 'timestamptz'],
  currentPeriodEnd: ['current_period_end', 'timestamptz'],
  trialEnd: ['trial_end', 'timestamptz'],
  updatedAt: ['updated_at', 'timestamptz'],
};

/** What is due for the time-driven lifecycle at one instant. */
export interface DueThresholds {
  now: Date;
  /** incomplete subscriptions created before this expire */
  incompleteBefore: Date;
  /** past_due subscriptions since before this become unpaid */
  pastDueBefore: Date;
}

/** The subscriptions table: every read, lock and write of a subscription. */
@Injectable()
export class SubscriptionRepository {
  /** the text of insertWithEvents' statement (see insertGroupSql) */
  private groupSql?: string;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly cache: EntitlingSubscriptionsCache,
  ) {}

  /** The users whose subscriptions a write changes: once it commits, the caches of every replica forget them (EntitlingSubscriptionsCache). */
  private changed(tx: Tx, userIds: readonly string[] | undefined): void {
    tx.afterCommit(() => this.cache.committed(userIds));
  }

  /**
   * Inserts new subscriptions (a group commit's worth, or one) and their events in ONE statement
   * (atomic on its own, so it needs no transaction): each row is written with its events, or
   * neither when its owner already has an open subscription (the partial unique index skips the
   * row: ON CONFLICT DO NOTHING), stored or earlier in `subs`. Returns the ids written.
   */
  async insertWithEvents(tx: Tx, subs: readonly NewSubscription[]): Promise<Set<string>> {
    if (subs.length === 0) return new Set();
    const rows = subs.map(({ sub }, ord) => {
      const row: Record<string, unknown> = { ord };
      for (const [column, , value] of INSERT_COLUMNS) row[column] = value(sub);
      return row;
    });
    const params: unknown[] = [JSON.stringify(rows)];
    const events = subs.flatMap(({ sub, messages }) => messages.map((message) => ({ key: sub.subscriptionId, message })));
    const eventsSql = this.outbox.insertManyForKeysStatement(events, params, 'inserted', 'subscription_id');
    // one text for every group size (built once); prepared; its plan depends on no table's size
    this.groupSql ??= insertGroupSql(eventsSql);
    let inserted: { subscription_id: string }[];
    try {
      inserted = await managerOf(tx).query<{ subscription_id: string }[]>(prepared(tx, 'subscription_insert_group', this.groupSql), params);
    } catch (err) {
      // ON CONFLICT DO NOTHING should skip these; alone, the row was not new (a group is retried row by row)
      if (subs.length === 1 && isUniqueViolation(err, ONE_OPEN_INDEX)) return new Set();
      throw err;
    }
    const ids = new Set(inserted.map((r) => r.subscription_id));
    if (ids.size > 0) this.changed(tx, [...new Set(subs.filter(({ sub }) => ids.has(sub.subscriptionId)).map(({ sub }) => sub.userId))]);
    return ids;
  }

  findById(tx: Tx, subscriptionId: string): Promise<SubscriptionEntity | null> {
    return managerOf(tx).findOneBy(SubscriptionEntity, { subscriptionId });
  }

  findByIds(tx: Tx, subscriptionIds: readonly string[]): Promise<SubscriptionEntity[]> {
    if (subscriptionIds.length === 0) return Promise.resolve([]);
    return managerOf(tx).findBy(SubscriptionEntity, { subscriptionId: In([...subscriptionIds]) });
  }

  /** The entitling (active / trialing) subscriptions of these users, in seq order. */
  entitlingOf(tx: Tx, userIds: readonly string[]): Promise<SubscriptionEntity[]> {
    return this.ofUsers(tx, userIds, ENTITLING_STATUSES, false);
  }

  /** The row locked FOR UPDATE, or null. */
  lock(tx: Tx, subscriptionId: string): Promise<SubscriptionEntity | null> {
    return managerOf(tx).findOne(SubscriptionEntity, { where: { subscriptionId }, lock: { mode: 'pessimistic_write' } });
  }

  /**
   * These rows locked FOR UPDATE, in seq order (every multi-row lock here takes rows in seq order,
   * so two transactions locking overlapping sets cannot deadlock each other).
   */
  async lockMany(tx: Tx, subscriptionIds: readonly string[]): Promise<SubscriptionEntity[]> {
    if (subscriptionIds.length === 0) return [];
    const rows = await managerOf(tx).query<object[]>(
      prepared(
        tx,
        'subscriptions_lock_many',
        `SELECT ${ENTITY_SELECT} FROM subscriptions s WHERE s.subscription_id = ANY($1::text[]) ORDER BY s.seq FOR UPDATE`,
      ),
      [subscriptionIds],
    );
    return rows.map(asEntity);
  }

  /** The users' subscriptions in these statuses, oldest first (seq order), locked FOR UPDATE. */
  lockForUsers(tx: Tx, userIds: readonly string[], statuses: readonly SubscriptionStatus[]): Promise<SubscriptionEntity[]> {
    return this.ofUsers(tx, userIds, statuses, true);
  }

  /** The users' subscriptions in these statuses, in seq order; locked FOR UPDATE when `forUpdate`. */
  private async ofUsers(
    tx: Tx,
    userIds: readonly string[],
    statuses: readonly SubscriptionStatus[],
    forUpdate: boolean,
  ): Promise<SubscriptionEntity[]> {
    if (userIds.length === 0) return [];
    const sql = `SELECT ${ENTITY_SELECT} FROM subscriptions s WHERE s.user_id = ANY($1::text[]) AND s.status = ANY($2::text[]) ORDER BY s.seq`;
    const rows = await managerOf(tx).query<object[]>(
      prepared(tx, forUpdate ? 'subscriptions_lock_for_users' : 'subscriptions_of_users', forUpdate ? `${sql} FOR UPDATE` : sql),
      [userIds, statuses],
    );
    return rows.map(asEntity);
  }

  /**
   * Writes `fields` of each row from its entity, in ONE statement. The rows must be locked by the
   * caller's transaction (the values written are the entities' as they stand).
   */
  async updateMany(tx: Tx, subs: readonly SubscriptionEntity[], fields: readonly (keyof SubscriptionEntity)[]): Promise<void> {
    if (subs.length === 0 || fields.length === 0) return;
    const columns = fields.map((field) => {
      const column = UPDATABLE[field];
      if (!column) throw new Error(`updateMany cannot write ${String(field)}`);
      return { field, name: column[0], type: column[1] };
    });
    const rows = subs.map((sub) => {
      const row: Record<string, unknown> = { subscription_id: sub.subscriptionId };
      for (const c of columns) row[c.name] = sub[c.field];
      return row;
    });
    await managerOf(tx).query(
      `UPDATE subscriptions s SET ${columns.map((c) => `${c.name} = v.${c.name}`).join(', ')}
       FROM json_to_recordset($1::json) AS v(subscription_id text, ${columns.map((c) => `${c.name} ${c.type}`).join(', ')})
       WHERE s.subscription_id = v.subscription_id`,
      [JSON.stringify(rows)],
    );
    this.changed(tx, [...new Set(subs.map((s) => s.userId))]);
  }

  /** `userId`: the subscription's user (its cache entry is dropped after the commit; all entries when not given). */
  async update(tx: Tx, subscriptionId: string, patch: Partial<SubscriptionEntity>, userId?: string): Promise<void> {
    await managerOf(tx).update(SubscriptionEntity, { subscriptionId }, patch as QueryDeepPartialEntity<SubscriptionEntity>);
    this.changed(tx, userId === undefined ? undefined : [userId]);
  }

  /**
   * A page of subscriptions, newest first (seq order), before `beforeSeq` when given. Prepared SQL
   * without TypeORM's query builder, one statement name per combination of filters: building the
   * query and hydrating the entities, and PostgreSQL parsing and planning it on every call, had
   * halved a user's list's throughput (docs/performance.md).
   */
  async list(tx: Tx, f: SubscriptionFilters, limit: number, beforeSeq?: string): Promise<SubscriptionEntity[]> {
    const { conditions, params, key } = sqlFilters([
      ['u', 's.user_id', '=', f.userId],
      ['o', 's.organization_id', '=', f.organizationId],
      ['p', 's.plan_id', '=', f.planId],
      ['s', 's.status', '=', f.status],
      ['c', 's.seq', '<', beforeSeq, '::bigint'],
    ]);
    params.push(limit);
    const sql = `SELECT ${ENTITY_SELECT} FROM subscriptions s${conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : ''} ORDER BY s.seq DESC LIMIT $${params.length}`;
    const name = `subscriptions_list_${key}`;
    const rows = await managerOf(tx).query<object[]>(prepared(tx, name, sql), params);
    return rows.map(asEntity);
  }

  /**
   * Rows with something due (trial over, incomplete too old, past_due too long, period over, cancel
   * pending at period end), in seq order after `afterSeq`, locked `FOR UPDATE SKIP LOCKED` so
   * replicas sweeping at once take disjoint rows.
   */
  lockDue(tx: Tx, due: DueThresholds, afterSeq: string, limit: number): Promise<SubscriptionEntity[]> {
    return managerOf(tx)
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
        { now: due.now, incompleteBefore: due.incompleteBefore, pastDueBefore: due.pastDueBefore },
      )
      .orderBy('s.seq', 'ASC')
      .limit(limit)
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .getMany();
  }

  /** How many subscriptions are in each status (every status present, 0 when none). */
  async countByStatus(tx: Tx): Promise<Record<SubscriptionStatus, number>> {
    const rows = await managerOf(tx).query<{ status: SubscriptionStatus; n: number }[]>(
      `SELECT status, count(*)::int AS n FROM subscriptions GROUP BY status`,
    );
    const counts = Object.fromEntries(SUBSCRIPTION_STATUSES.map((s) => [s, 0])) as Record<SubscriptionStatus, number>;
    for (const r of rows) counts[r.status] = Number(r.n);
    return counts;
  }
}
