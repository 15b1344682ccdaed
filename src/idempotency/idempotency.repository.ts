import { Injectable } from '@nestjs/common';
import { managerOf, prepared } from '../database/transaction.js';
import { type Tx, UnitOfWork } from '../database/unit-of-work.js';
import { IdempotencyKeyEntity } from './idempotency-key.entity.js';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** An `in_progress` claim older than this is presumed abandoned (its process died) and may be re-claimed. */
export const STALE_CLAIM_MS = 5 * 60 * 1000;
const PRUNE_CHUNK = 1000;
/**
 * The first key of the two-key advisory locks on idempotency keys (the second: hashtext of scope and
 * key). Every claim takes the key's lock in its transaction before it inserts: a request claims it
 * waiting (`claim`), a group only when free (`claimGroup`), so a group never waits for a key another
 * transaction holds. Two-key locks do not share the one-key locks' space (migration, relay, seed).
 */
export const KEY_LOCK_CLASS = 0x1de0;
/** The arguments of a key's advisory lock, from the scope and key columns of `alias`. */
const keyLock = (alias: string): string => `${KEY_LOCK_CLASS}, hashtext(${alias}.scope || chr(10) || ${alias}.key)`;

/** A key of a group's claim, by its position in the claim. */
export interface GroupClaimRow {
  ord: number;
  /** its advisory lock was free: no other open transaction claims it */
  locked: boolean;
  /** the group claimed it, with its response (inserted, or took over an expired or abandoned row) */
  owned: boolean;
  /** the committed row that holds it, when locked and not owned */
  state: 'in_progress' | 'completed' | null;
  requestHash: string | null;
  responseBody: unknown;
}

/** When a claim takes over a key's row: expired, or `in_progress` since before `stale` (SQL parameters: their positions). */
const takeOverWhen = (now: string, stale: string): string =>
  `k.expires_at <= ${now} OR (k.state = 'in_progress' AND k.created_at <= ${stale})`;

export interface ClaimRequest {
  scope: string;
  key: string;
  method: string;
  path: string;
  requestHash: string;
  now: Date;
}

/** A key a group claims, with the response it stores. */
export interface GroupKeyRequest extends Omit<ClaimRequest, 'now'> {
  status: number;
  body: unknown;
}

/**
 * The idempotency_keys table. A request claims its key inside its own request transaction
 * (`claim`, `complete`): the row is invisible to others until that transaction ends, and a
 * concurrent claim of the same key waits (on the key's advisory lock) until it does. A group commit
 * claims its requests' keys in its own transaction, with their responses (`claimGroup`).
 */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /**
   * Claims the key for this request inside `tx`: inserts an `in_progress` row, or takes over an
   * expired one (or an `in_progress` row committed by a process of an earlier version and abandoned
   * for STALE_CLAIM_MS). Returns true when this request owns the key, false when a committed row
   * holds it. A request holding the key in an open transaction makes this wait (up to the request
   * transaction's lock_timeout) until it commits (then false) or rolls back (then true): on the
   * key's advisory lock first, which every claim takes (see KEY_LOCK_CLASS).
   */
  async claim(tx: Tx, r: ClaimRequest): Promise<boolean> {
    const rows: unknown[] = await managerOf(tx).query(
      `WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(${keyLock('r')}) FROM (SELECT $1::text AS scope, $2::text AS key) r)
       INSERT INTO idempotency_keys AS k (scope, key, method, path, request_hash, state, created_at, expires_at)
       SELECT $1, $2, $3, $4, $5, 'in_progress', $6, $7 FROM lock
       ON CONFLICT (scope, key) DO UPDATE
         SET method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash, state = 'in_progress',
             response_status = NULL, response_body = NULL, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
         WHERE ${takeOverWhen('$6', '$8')}
       RETURNING key`,
      [
        r.scope,
        r.key,
        r.method,
        r.path,
        r.requestHash,
        r.now,
        new Date(r.now.getTime() + IDEMPOTENCY_TTL_MS),
        new Date(r.now.getTime() - STALE_CLAIM_MS),
      ],
    );
    return rows.length === 1;
  }

  /**
   * A group's keys, inside the group's transaction `tx` after its effects, in ONE statement: each
   * key whose advisory lock is free is claimed as `claim` does, but stored `completed` with its
   * response at once (the group's COMMIT makes effect and response visible together). A key held by
   * an open transaction is not waited for (reported not `locked`); for a key a committed row holds,
   * that row (the statement's snapshot: before its own inserts). The keys must be distinct.
   */
  async claimGroup(tx: Tx, keys: readonly GroupKeyRequest[], now: Date): Promise<GroupClaimRow[]> {
    const rows = await managerOf(tx).query<
      { ord: number; locked: boolean; owned: boolean; state: GroupClaimRow['state']; request_hash: string | null; response_body: unknown }[]
    >(
      prepared(
        tx,
        'idempotency_claim_group',
        `WITH req AS MATERIALIZED (
           SELECT r.*, pg_try_advisory_xact_lock(${keyLock('r')}) AS locked
           FROM json_to_recordset($1::json)
             AS r(ord int, scope text, key text, method text, path text, request_hash text, status int, body json)
         ),
         claimed AS (
           INSERT INTO idempotency_keys AS k
             (scope, key, method, path, request_hash, state, response_status, response_body, created_at, expires_at)
           SELECT scope, key, method, path, request_hash, 'completed', status, body, $2, $3 FROM req WHERE locked ORDER BY scope, key
           ON CONFLICT (scope, key) DO UPDATE
             SET method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash, state = 'completed',
                 response_status = EXCLUDED.response_status, response_body = EXCLUDED.response_body,
                 created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
             WHERE ${takeOverWhen('$2', '$4')}
           RETURNING k.scope, k.key
         )
         SELECT req.ord, req.locked, c.key IS NOT NULL AS owned, k.state, k.request_hash, k.response_body
         FROM req
         LEFT JOIN claimed c ON c.scope = req.scope AND c.key = req.key
         LEFT JOIN idempotency_keys k ON req.locked AND c.key IS NULL AND k.scope = req.scope AND k.key = req.key
         ORDER BY req.ord`,
      ),
      [
        JSON.stringify(
          keys.map((k, ord) => ({
            ord,
            scope: k.scope,
            key: k.key,
            method: k.method,
            path: k.path,
            request_hash: k.requestHash,
            status: k.status,
            body: k.body ?? null,
          })),
        ),
        now,
        new Date(now.getTime() + IDEMPOTENCY_TTL_MS),
        new Date(now.getTime() - STALE_CLAIM_MS),
      ],
    );
    return rows.map((r) => ({
      ord: r.ord,
      locked: r.locked,
      owned: r.owned,
      state: r.state,
      requestHash: r.request_hash,
      responseBody: r.response_body,
    }));
  }

  find(tx: Tx, scope: string, key: string): Promise<IdempotencyKeyEntity | null> {
    return managerOf(tx).findOneBy(IdempotencyKeyEntity, { scope, key });
  }

  /** Stores the response in `tx`, the request transaction that also holds the effect. */
  async complete(tx: Tx, scope: string, key: string, status: number, body: unknown): Promise<void> {
    await managerOf(tx).query(
      `UPDATE idempotency_keys SET state = 'completed', response_status = $3, response_body = $4::json WHERE scope = $1 AND key = $2`,
      [scope, key, status, JSON.stringify(body ?? null)],
    );
  }

  /** Bounds how long this request transaction waits for a lock, e.g. on a key another request holds. */
  async setLockTimeout(tx: Tx, ms: number): Promise<void> {
    await managerOf(tx).query(`SELECT set_config('lock_timeout', $1, true)`, [`${ms}ms`]);
  }

  /** Deletes expired keys in chunks; returns how many. */
  async pruneExpired(now: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.uow.run(async (tx) => {
        const rows: unknown[] = await managerOf(tx).query(
          `DELETE FROM idempotency_keys WHERE (scope, key) IN
             (SELECT scope, key FROM idempotency_keys WHERE expires_at <= $1 LIMIT ${PRUNE_CHUNK} FOR UPDATE SKIP LOCKED)
           RETURNING key`,
          [now],
        );
        return rows.length;
      });
      total += deleted;
      if (deleted < PRUNE_CHUNK) return total;
    }
  }
}
