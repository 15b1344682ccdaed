import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock/clock.js';
import { managerOf, type Tx } from '../../database/transaction.js';

/** A consumed event to record in the inbox. */
export interface InboxEntry {
  id: string;
  type: string;
}

/**
 * The inbox: `claim` records consumed events' ids in the caller's transaction and says which ids
 * were new. An id already there (a redelivery or a duplicate) is not claimed, so its handler does
 * nothing; a concurrent claim of the same id waits for the first transaction and then sees the
 * conflict. One statement for any number of events.
 */
@Injectable()
export class InboxRepository {
  constructor(private readonly clock: Clock) {}

  /** The ids newly recorded (an id given twice is claimed once). */
  async claim(tx: Tx, entries: readonly InboxEntry[]): Promise<Set<string>> {
    if (entries.length === 0) return new Set();
    const rows: { event_id: string }[] = await managerOf(tx).query(
      `INSERT INTO inbox_events (event_id, type, received_at)
       SELECT e.id, e.type, $2 FROM json_to_recordset($1::json) AS e(id text, type text)
       ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
      [JSON.stringify(entries.map(({ id, type }) => ({ id, type }))), this.clock.now()],
    );
    return new Set(rows.map((r) => r.event_id));
  }

  /** Deletes up to `limit` ids received before `cutoff` (replicas pruning at once take disjoint rows); returns how many. */
  async pruneBefore(tx: Tx, cutoff: Date, limit: number): Promise<number> {
    const rows: unknown[] = await managerOf(tx).query(
      `DELETE FROM inbox_events WHERE event_id IN
         (SELECT event_id FROM inbox_events WHERE received_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING event_id`,
      [cutoff, limit],
    );
    return rows.length;
  }
}
