import { Injectable } from '@nestjs/common';
import { managerOf, ScriptedTx, sqlLiteral, type Tx } from '../../database/transaction.js';
import type { OutboxMessage, OutboxTemplate, PendingOutboxRow } from './outbox-message.js';

/** Arbitrary constant: the transaction-scoped advisory lock that makes one replica the relay at a time. */
const RELAY_LOCK = 815_216;

/** An outbox `seq` (a bigint, read as text) checked before it is inlined into SQL. */
const seqLiteral = (seq: string): string => {
  if (!/^\d{1,19}$/.test(seq)) throw new Error(`not an outbox seq: ${seq}`);
  return seq;
};

/** A message's columns as a row of the JSON parameter of insertManyStatement / insertManyForKeysStatement. */
const messageRow = (m: OutboxMessage) => ({
  id: m.id,
  type: m.type,
  subject: m.subject,
  aggregate_id: m.aggregateId,
  envelope: m.envelope,
  created_at: m.createdAt,
});

/**
 * The outbox_events table, a queue shared by the publisher (writes, in the business transaction),
 * the relay (reads pending rows in commit order, `seq`, and deletes them once JetStream acknowledged
 * them) and the stats (backlog).
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
    params.push(JSON.stringify(messages.map(messageRow)));
    return `INSERT INTO outbox_events (id, type, subject, aggregate_id, envelope, created_at)
      SELECT id, type, subject, aggregate_id, envelope, created_at
      FROM json_to_recordset($${params.length}::json) AS m(id uuid, type text, subject text, aggregate_id text, envelope json, created_at timestamptz)`;
  }

  /** A template's columns as a row of the JSON parameter a caller's statement reads (see insertTemplatesStatement). */
  templateJson(t: OutboxTemplate): Record<string, unknown> {
    return {
      event_id: t.id,
      event_type: t.type,
      event_subject: t.subject,
      aggregate_id: t.aggregateId,
      created_at: t.createdAt,
      parts: t.parts,
    };
  }

  /**
   * The INSERT of events from OutboxTemplates (see OutboxTemplate), for a statement that computes
   * the holes' values itself: each row of the caller's CTE `source` carries the columns of
   * `templateJson` (event_id uuid, event_type, event_subject, aggregate_id, created_at, parts text[])
   * and `fills` are SQL expressions over it, the JSON text of each hole in order. Rows are inserted
   * in `orderBy` order (their `seq`).
   */
  insertTemplatesStatement(source: string, fills: readonly string[], orderBy: string): string {
    const envelope = ['parts[1]', ...fills.flatMap((fill, i) => [`(${fill})`, `parts[${i + 2}]`])].join(' || ');
    return `INSERT INTO outbox_events (id, type, subject, aggregate_id, envelope, created_at)
      SELECT event_id, event_type, event_subject, aggregate_id, (${envelope})::json, created_at FROM ${source} ORDER BY ${orderBy}`;
  }

  /**
   * The INSERT of many messages from ONE JSON parameter (as insertManyStatement), each written only
   * when its `key` is among the values of `column` that the CTE `cte` (earlier in the caller's
   * statement) returned: rows and their events in one statement that writes each row with its
   * events, or neither. Messages go in the order given (their `seq`).
   */
  insertManyForKeysStatement(
    messages: readonly { key: string; message: OutboxMessage }[],
    params: unknown[],
    cte: string,
    column: string,
  ): string {
    params.push(JSON.stringify(messages.map(({ key, message }, ord) => ({ ord, key, ...messageRow(message) }))));
    return `INSERT INTO outbox_events (id, type, subject, aggregate_id, envelope, created_at)
      SELECT id, type, subject, aggregate_id, envelope, created_at
      FROM json_to_recordset($${params.length}::json)
        AS m(ord int, key text, id uuid, type text, subject text, aggregate_id text, envelope json, created_at timestamptz)
      WHERE key IN (SELECT ${column} FROM ${cte})
      ORDER BY ord`;
  }

  /**
   * The relay's read, in one statement: takes the relay lock for this transaction (`locked` false:
   * another replica holds it, and no rows are read), then the oldest pending rows in commit order,
   * each with its envelope as the wire text. A plain index scan of the primary key's head (`seq`):
   * no `FOR UPDATE`, the lock already makes this transaction the only relay. Embedded PGlite (one
   * process) passes `lock: false`. On a ScriptedTx it travels with the BEGIN (one round trip).
   *
   * The transaction commits without waiting for its WAL flush (`synchronous_commit = off`, this
   * transaction only): all it writes is the deletion of published rows, so a PostgreSQL crash can
   * at worst forget the last fraction of a second of deletions, and those events are published
   * again with the same Nats-Msg-Id, which JetStream drops inside its duplicate window. It saves a
   * disk flush per relay pass.
   *
   * Values inlined (the simple protocol has no parameters), and so planned every time, which it
   * should be: its best plan depends on the table's size (a generic plan made on an empty outbox
   * could sort a whole backlog on every pass).
   */
  async nextBatch(tx: Tx | ScriptedTx, limit: number, lock: boolean): Promise<{ locked: boolean; rows: PendingOutboxRow[] }> {
    const sql = `SELECT l.locked, o.seq::text AS seq, o.id::text AS id, o.type, o.subject, o.aggregate_id, o.envelope::text AS payload
         FROM (SELECT ${lock ? `pg_try_advisory_xact_lock(${sqlLiteral(RELAY_LOCK)})` : 'true'} AS locked,
                      set_config('synchronous_commit', 'off', true) AS async_commit) l
         LEFT JOIN LATERAL (
           SELECT e.seq, e.id, e.type, e.subject, e.aggregate_id, e.envelope FROM outbox_events e WHERE l.locked ORDER BY e.seq LIMIT ${sqlLiteral(limit)}
         ) o ON true
         ORDER BY o.seq`;
    type Row = PendingOutboxRow & { locked: boolean };
    const rows = tx instanceof ScriptedTx ? await tx.query<Row>(sql) : await managerOf(tx).query<Row[]>(sql);
    const locked = rows[0]?.locked === true;
    return { locked, rows: locked ? rows.filter((r) => r.seq !== null).map(({ locked: _, ...row }) => row) : [] };
  }

  /**
   * Ends a relay pass: removes the rows JetStream acknowledged (by `seq`), moves the rows the bus
   * refused for good (`parked`, e.g. larger than NATS's max_payload) to `outbox_parked_events` with
   * the reason, and counts a failed publish on the row that failed, with its error (it stays for
   * the next pass). On a ScriptedTx all travel with the COMMIT (one round trip).
   */
  async finishBatch(
    tx: Tx | ScriptedTx,
    published: readonly string[],
    failure?: { seq: string; error: string },
    parked: readonly { seq: string; reason: string }[] = [],
  ): Promise<void> {
    const statements: string[] = [];
    if (published.length > 0)
      statements.push(`DELETE FROM outbox_events WHERE seq = ANY('{${published.map(seqLiteral).join(',')}}'::bigint[])`);
    for (const { seq, reason } of parked) {
      statements.push(
        `WITH p AS (DELETE FROM outbox_events WHERE seq = ${seqLiteral(seq)} RETURNING *)
         INSERT INTO outbox_parked_events (seq, id, type, subject, aggregate_id, envelope, created_at, attempts, reason)
         SELECT seq, id, type, subject, aggregate_id, envelope, created_at, attempts + 1, ${sqlLiteral(reason)} FROM p`,
      );
    }
    if (failure) {
      statements.push(
        `UPDATE outbox_events SET attempts = attempts + 1, last_error = ${sqlLiteral(failure.error)} WHERE seq = ${seqLiteral(failure.seq)}`,
      );
    }
    if (tx instanceof ScriptedTx) return tx.commit(statements.join('; ') || undefined);
    for (const sql of statements) await managerOf(tx).query(sql);
  }

  /**
   * Pending rows, the creation time of the oldest (the oldest by `seq`: the index's head), and the
   * parked rows waiting for an operator.
   */
  async backlog(tx: Tx): Promise<{ backlog: number; oldest: Date | undefined; parked: number }> {
    const [row] = await managerOf(tx).query<{ backlog: number; oldest: Date | string | null; parked: number }[]>(
      `SELECT (SELECT count(*)::int FROM outbox_events) AS backlog,
              (SELECT created_at FROM outbox_events ORDER BY seq LIMIT 1) AS oldest,
              (SELECT count(*)::int FROM outbox_parked_events) AS parked`,
    );
    return { backlog: Number(row?.backlog ?? 0), oldest: row?.oldest ? new Date(row.oldest) : undefined, parked: Number(row?.parked ?? 0) };
  }
}
