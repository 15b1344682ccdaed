import { Injectable } from '@nestjs/common';
import { managerOf, type Tx } from '../../database/transaction.js';
import type { OutboxMessage, PendingOutboxRow } from './outbox-message.js';

/** Arbitrary constant: the transaction-scoped advisory lock that makes one replica the relay at a time. */
const RELAY_LOCK = 815_216;

/**
 * The outbox_events table, shared by the publisher (writes, in the business transaction), the
 * relay (reads unsent rows, marks them) and the stats (backlog). Rows are inserted in commit order
 * (`seq`), published in that order, pruned after OUTBOX_RETENTION.
 */
@Injectable()
export class OutboxRepository {
  async insert(tx: Tx, messages: readonly OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const params: unknown[] = [];
    // a few rows: plain VALUES; a group's worth: one JSON parameter (see insertManyStatement)
    const sql = messages.length <= 4 ? this.insertStatement(messages, params) : this.insertManyStatement(messages, params);
    await managerOf(tx).query(sql, params);
  }

  /**
   * The INSERT of `messages` as SQL whose parameters are appended to `params`, for another
   * repository that writes its rows and their events in one statement (a data-modifying CTE).
   */
  insertStatement(messages: readonly OutboxMessage[], params: unknown[]): string {
    const values = messages.map((m) => {
      params.push(m.id, m.type, m.subject, m.aggregateId, JSON.stringify(m.envelope), m.createdAt);
      const n = params.length;
      return `($${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}::json, $${n})`;
    });
    return `INSERT INTO outbox_events (id, type, subject, aggregate_id, envelope, created_at) VALUES ${values.join(', ')}`;
  }

  /**
   * The INSERT of many messages from ONE parameter (a JSON array, appended to `params`), for the
   * hot paths that write hundreds of events per statement: binding one text is far cheaper than
   * binding six parameters per row. The envelope goes in as the JSON text it is (`json` keeps it).
   */
  insertManyStatement(messages: readonly OutboxMessage[], params: unknown[]): string {
    params.push(
      JSON.stringify(
        messages.map((m) => ({
          id: m.id,
          type: m.type,
          subject: m.subject,
          aggregate_id: m.aggregateId,
          envelope: m.envelope,
          created_at: m.createdAt,
        })),
      ),
    );
    return `INSERT INTO outbox_events (id, type, subject, aggregate_id, envelope, created_at)
      SELECT id, type, subject, aggregate_id, envelope, created_at
      FROM json_to_recordset($${params.length}::json) AS m(id uuid, type text, subject text, aggregate_id text, envelope json, created_at timestamptz)`;
  }

  /**
   * The same INSERT, written only when the CTE `cte` (earlier in the caller's statement) returned a
   * row: a row and its event in one statement that writes both or neither.
   */
  insertStatementIfAny(messages: readonly OutboxMessage[], params: unknown[], cte: string): string {
    const values = messages.map((m) => {
      params.push(m.id, m.type, m.subject, m.aggregateId, JSON.stringify(m.envelope), m.createdAt);
      const n = params.length;
      return `($${n - 5}::uuid, $${n - 4}::text, $${n - 3}::text, $${n - 2}::text, $${n - 1}::json, $${n}::timestamptz)`;
    });
    return `INSERT INTO outbox_events (id, type, subject, aggregate_id, envelope, created_at)
      SELECT * FROM (VALUES ${values.join(', ')}) AS v(id, type, subject, aggregate_id, envelope, created_at)
      WHERE EXISTS (SELECT 1 FROM ${cte})`;
  }

  /**
   * Takes the relay lock for this transaction (false: another replica holds it). Not on embedded
   * PGlite, which is one process.
   */
  async tryRelayLock(tx: Tx): Promise<boolean> {
    const [row] = await managerOf(tx).query<{ locked: boolean }[]>('SELECT pg_try_advisory_xact_lock($1) AS locked', [RELAY_LOCK]);
    return row?.locked === true;
  }

  /** The oldest unsent rows, in commit order, locked for this transaction; each with its envelope as the wire text. */
  lockUnsent(tx: Tx, limit: number): Promise<PendingOutboxRow[]> {
    return managerOf(tx).query<PendingOutboxRow[]>(
      `SELECT id, type, subject, aggregate_id, envelope::text AS payload FROM outbox_events
       WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
  }

  async markPublished(tx: Tx, ids: readonly string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await managerOf(tx).query(
      `UPDATE outbox_events SET published_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = ANY($2::uuid[])`,
      [at, ids],
    );
  }

  async markFailed(tx: Tx, id: string, error: string): Promise<void> {
    await managerOf(tx).query(`UPDATE outbox_events SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, [id, error]);
  }

  /** Deletes up to `limit` rows published before `cutoff`; returns how many. */
  async prunePublished(tx: Tx, cutoff: Date, limit: number): Promise<number> {
    const [row] = await managerOf(tx).query<{ n: number }[]>(
      `WITH deleted AS (
         DELETE FROM outbox_events WHERE id IN (
           SELECT id FROM outbox_events WHERE published_at IS NOT NULL AND published_at < $1 ORDER BY published_at LIMIT $2
         ) RETURNING 1
       ) SELECT count(*)::int AS n FROM deleted`,
      [cutoff, limit],
    );
    return row?.n ?? 0;
  }

  /** Unsent rows and the creation time of the oldest (one indexed query). */
  async backlog(tx: Tx): Promise<{ backlog: number; oldest: Date | undefined }> {
    const [row] = await managerOf(tx).query<{ backlog: number; oldest: Date | string | null }[]>(
      `SELECT count(*)::int AS backlog, min(created_at) AS oldest FROM outbox_events WHERE published_at IS NULL`,
    );
    return { backlog: Number(row?.backlog ?? 0), oldest: row?.oldest ? new Date(row.oldest) : undefined };
  }
}
