import { Injectable } from '@nestjs/common';
import { managerOf } from '../database/transaction.js';
import { type Tx, UnitOfWork } from '../database/unit-of-work.js';
import { IdempotencyKeyEntity } from './idempotency-key.entity.js';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** An `in_progress` claim older than this is presumed abandoned (its process died) and may be re-claimed. */
export const STALE_CLAIM_MS = 5 * 60 * 1000;
const PRUNE_CHUNK = 1000;

export interface ClaimRequest {
  scope: string;
  key: string;
  method: string;
  path: string;
  requestHash: string;
  now: Date;
}

/**
 * The idempotency_keys table. A request claims its key inside its own request transaction
 * (`claim`, `complete`): the row is invisible to others until that transaction ends, and a
 * concurrent claim of the same key waits on the unique index until it does.
 */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /**
   * Claims the key for this request inside `tx`: inserts an `in_progress` row, or takes over an
   * expired one (or an `in_progress` row committed by a process of an earlier version and abandoned
   * for STALE_CLAIM_MS). Returns true when this request owns the key, false when a committed row
   * holds it. A request holding the key in an open transaction makes this wait (up to the request
   * transaction's lock_timeout) until it commits (then false) or rolls back (then true).
   */
  async claim(tx: Tx, r: ClaimRequest): Promise<boolean> {
    const rows: unknown[] = await managerOf(tx).query(
      `INSERT INTO idempotency_keys (scope, key, method, path, request_hash, state, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, 'in_progress', $6, $7)
       ON CONFLICT (scope, key) DO UPDATE
         SET method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash, state = 'in_progress',
             response_status = NULL, response_body = NULL, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
         WHERE idempotency_keys.expires_at <= $6
            OR (idempotency_keys.state = 'in_progress' AND idempotency_keys.created_at <= $8)
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

  find(tx: Tx, scope: string, key: string): Promise<IdempotencyKeyEntity | null> {
    return managerOf(tx).findOneBy(IdempotencyKeyEntity, { scope, key });
  }

  /** Stores the response in `tx`, the request transaction that also holds the effect. */
  async complete(tx: Tx, scope: string, key: string, status: number, body: unknown): Promise<void> {
    await managerOf(tx).query(
      `UPDATE idempotency_keys SET state = 'completed', response_status = $3, response_body = $4::jsonb WHERE scope = $1 AND key = $2`,
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
