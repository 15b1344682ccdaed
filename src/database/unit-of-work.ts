import { Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { pgCode } from './pg-errors.js';

/** A running transaction: its EntityManager plus hooks that fire only once it has committed. */
export interface Tx {
  readonly manager: EntityManager;
  /** Runs `hook` after a successful commit (never on rollback). Errors in hooks are logged, not thrown. */
  afterCommit(hook: () => void): void;
}

const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected
const MAX_ATTEMPTS = 3;

/**
 * The single unit-of-work helper: every write opens one transaction here, changes state and
 * writes its events (outbox) with the same EntityManager, so state and events commit together.
 *
 * Serialization failures and deadlocks are retried (the whole unit of work re-runs). On embedded
 * PGlite, which has one connection, transactions are serialized in-process.
 */
@Injectable()
export class UnitOfWork {
  private readonly logger = new Logger(UnitOfWork.name);
  private readonly serialize: boolean;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly dataSource: DataSource) {
    this.serialize = !!(dataSource.options as { driver?: unknown }).driver;
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
    const tx: Tx = {
      manager: this.dataSource.manager,
      afterCommit: () => {
        throw new Error('afterCommit is not available in UnitOfWork.read');
      },
    };
    if (!this.serialize) return work(tx);
    return this.enqueue(() => work(tx));
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
        const result = await this.dataSource.transaction((manager) => work({ manager, afterCommit: (hook) => hooks.push(hook) }));
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
        throw err;
      }
    }
  }
}
