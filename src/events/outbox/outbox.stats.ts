import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock/clock.js';
import { UnitOfWork } from '../../database/unit-of-work.js';

export interface OutboxBacklog {
  /** events written and not yet published */
  backlog: number;
  /** age of the oldest of them (0 when none) */
  oldestAgeSeconds: number;
}

/** Reads the outbox backlog (one indexed query); shared by the metrics and the health indicator. */
@Injectable()
export class OutboxStats {
  private pending?: Promise<OutboxBacklog>;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  /** Concurrent callers (the two gauges of one scrape) share one query. */
  read(): Promise<OutboxBacklog> {
    this.pending ??= this.query().finally(() => setTimeout(() => (this.pending = undefined), 0));
    return this.pending;
  }

  private async query(): Promise<OutboxBacklog> {
    const [row] = await this.uow.read((tx) =>
      tx.manager.query<{ backlog: number; oldest: Date | string | null }[]>(
        `SELECT count(*)::int AS backlog, min(created_at) AS oldest FROM outbox_events WHERE published_at IS NULL`,
      ),
    );
    const oldest = row?.oldest ? new Date(row.oldest).getTime() : undefined;
    return {
      backlog: Number(row?.backlog ?? 0),
      oldestAgeSeconds: oldest === undefined ? 0 : Math.max(0, (this.clock.now().getTime() - oldest) / 1000),
    };
  }
}
