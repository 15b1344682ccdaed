import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { translateDatabaseError } from './database-errors.js';
import { DatabaseRuntime } from './database-runtime.js';
import { pgCode } from './pg-errors.js';
import { ManagedTx, type Tx } from './transaction.js';

export type { Tx } from './transaction.js';

const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected
const MAX_ATTEMPTS = 3;

/**
 * The single unit-of-work helper: every write opens one transaction here, changes state and
 * writes its events (outbox) through repositories with the same `Tx`, so state and events commit
 * together.
 *
 * Serialization failures and deadlocks are retried (the whole unit of work re-runs). A database
 * that cannot answer (connection refused or lost, shutting down, pool exhausted) surfaces as a
 * DomainError of kind `unavailable` (HTTP 503, events: retry). On embedded PGlite, which has one
 * connection, transactions and reads are serialized in-process.
 */
@Injectable()
export class UnitOfWork {
  private readonly logger = new Logger(UnitOfWork.name);
  private readonly serialize: boolean;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    runtime: DatabaseRuntime,
  ) {
    this.serialize = runtime.embedded;
  }

  async run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    if (!this.serialize) return this.runWithRetry(work);
    return this.enqueue(() => this.runWithRetry(work));
  }

  /**
   * Read-only work outside a transaction: on PostgreSQL straight on the pool (no BEGIN/COMMIT round
   * trips); on PGlite queued behind open transactions, so a read never lands inside someone else's.
   * `afterCommit` is not available here.
   */
  async read<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const tx = new ManagedTx(this.dataSource.manager, undefined);
    const job = async (): Promise<T> => {
      try {
        return await work(tx);
      } catch (err) {
        throw translateDatabaseError(err);
      }
    };
    if (!this.serialize) return job();
    return this.enqueue(job);
  }

  /**
   * One statement that is atomic on its own (a data-modifying CTE writing a row and its event):
   * no BEGIN / COMMIT round trips. `work` must issue exactly one statement through the Tx; the
   * after-commit hooks run once it has succeeded (it committed when it returned).
   */
  async statement<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const hooks: (() => void)[] = [];
    const job = async (): Promise<T> => {
      try {
        const result = await work(new ManagedTx(this.dataSource.manager, hooks));
        for (const hook of hooks) {
          try {
            hook();
          } catch (err) {
            this.logger.error({ err }, 'after-commit hook failed');
          }
        }
        return result;
      } catch (err) {
        throw translateDatabaseError(err);
      }
    };
    if (!this.serialize) return job();
    return this.enqueue(job);
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const result = this.queue.then(job);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runWithRetry<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const hooks: (() => void)[] = [];
      try {
        const result = await this.dataSource.transaction((manager) => work(new ManagedTx(manager, hooks)));
        for (const hook of hooks) {
          try {
            hook();
          } catch (err) {
            this.logger.error({ err }, 'after-commit hook failed');
          }
        }
        return result;
      } catch (err) {
        const code = pgCode(err);
        if (attempt < MAX_ATTEMPTS && code !== undefined && RETRYABLE.has(code)) continue;
        throw translateDatabaseError(err);
      }
    }
  }
}
