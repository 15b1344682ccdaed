import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock/clock.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import type { OutboxBacklog } from './outbox-message.js';
import { OutboxRepository } from './outbox.repository.js';

export type { OutboxBacklog } from './outbox-message.js';

/** The outbox backlog, shared by the metrics and the health indicator. */
@Injectable()
export class OutboxStats {
  private pending?: Promise<OutboxBacklog>;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly outbox: OutboxRepository,
    private readonly clock: Clock,
  ) {}

  /** Concurrent callers (the two gauges of one scrape) share one query. */
  read(): Promise<OutboxBacklog> {
    this.pending ??= this.query().finally(() => setTimeout(() => (this.pending = undefined), 0));
    return this.pending;
  }

  private async query(): Promise<OutboxBacklog> {
    const { backlog, oldest, parked } = await this.uow.read((tx) => this.outbox.backlog(tx));
    return {
      backlog,
      parked,
      oldestAgeSeconds: oldest === undefined ? 0 : Math.max(0, (this.clock.now().getTime() - oldest.getTime()) / 1000),
    };
  }
}
