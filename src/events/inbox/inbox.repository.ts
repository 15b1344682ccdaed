import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock/clock.js';
import { managerOf, type Tx } from '../../database/transaction.js';

/**
 * The inbox: `claim` records a consumed event's id in the caller's transaction. It returns false
 * when the id is already there (a redelivery or a duplicate), so the handler does nothing; a
 * concurrent claim of the same id waits for the first transaction and then sees the conflict.
 */
@Injectable()
export class InboxRepository {
  constructor(private readonly clock: Clock) {}

  async claim(tx: Tx, eventId: string, type: string): Promise<boolean> {
    const rows: unknown[] = await managerOf(tx).query(
      `INSERT INTO inbox_events (event_id, type, received_at) VALUES ($1, $2, $3) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
      [eventId, type, this.clock.now()],
    );
    return rows.length === 1;
  }
}
