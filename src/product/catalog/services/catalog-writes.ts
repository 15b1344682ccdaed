import { Injectable } from '@nestjs/common';
import { PgNotifications } from '../../../database/pg-notifications.js';
import { type Tx, UnitOfWork } from '../../../database/unit-of-work.js';
import { CATALOG_CHANNEL, CatalogStore } from '../catalog-store.js';

/**
 * How every catalog write runs: one unit of work that also NOTIFYs the other replicas (delivered
 * at commit), answering once this replica's in-memory catalog has the change (read your writes).
 */
@Injectable()
export class CatalogWrites {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly notifications: PgNotifications,
    private readonly store: CatalogStore,
  ) {}

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.uow.run(async (tx) => {
      const out = await work(tx);
      await this.notifications.notifyInTransaction(tx, CATALOG_CHANNEL);
      // once committed (also when the write is part of a request transaction), before the answer
      tx.afterCommit(() => this.store.refresh());
      return out;
    });
  }
}
