import { AsyncLocalStorage } from 'node:async_hooks';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { translateDatabaseError } from './database-errors.js';
import { DatabaseRuntime } from './database-runtime.js';
import { pgCode } from './pg-errors.js';
import { type AfterCommitHook, ManagedTx, ScriptedTx, type Tx } from './transaction.js';

export type { Tx } from './transaction.js';

const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

/** A unit of work that committed: its result and the hooks still to run. */
interface Committed<T> {
  result: T;
  hooks: AfterCommitHook[];
}
const MAX_ATTEMPTS = 3;

/** The node-postgres pool behind TypeORM's PostgreSQL driver (`driver.master`), as far as `scripted` uses it. */
interface PgPoolClient {
  query(sql: string): Promise<unknown>;
  release(err?: Error): void;
}
interface PgPool {
  connect(): Promise<PgPoolClient>;
}

/**
 * The single unit-of-work helper: every write opens one transaction here, changes state and
 * writes its events (outbox) through repositories with the same `Tx`, so state and events commit
 * together.
 *
 * Serialization failures and deadlocks are retried (the whole unit of work re-runs). A database
 * that cannot answer (connection refused or lost, shutting down, pool exhausted) surfaces as a
 * DomainError of kind `unavailable` (HTTP 503, events: retry). On embedded PGlite, which has one
 * connection, transactions and reads are serialized in-process.
 *
 * A **request transaction** (`around`) encloses a whole request: every unit of work started inside
 * it (in its async context) joins it, each `run` / `statement` as a savepoint (so it still rolls
 * back alone, and is retried alone), each `read` on the same connection; their after-commit hooks
 * run once the request transaction commits. It is how an idempotent request stores its response
 * in the same transaction as its effect.
 */
@Injectable()
export class UnitOfWork {
  private readonly logger = new Logger(UnitOfWork.name);
  private readonly serialize: boolean;
  /** hot statements may be prepared (see `prepared`): PostgreSQL with DB_PREPARED_STATEMENTS */
  private readonly prepare: boolean;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly enclosing = new AsyncLocalStorage<ManagedTx>();

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    runtime: DatabaseRuntime,
  ) {
    this.serialize = runtime.embedded;
    this.prepare = !runtime.embedded && runtime.preparedStatements;
  }

  /** Whether the caller runs inside a request transaction (its units of work join it). */
  get inRequestTransaction(): boolean {
    return this.enclosing.getStore() !== undefined;
  }

  async run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const outer = this.enclosing.getStore();
    if (outer) return (await this.transact(work, outer)).result;
    return this.afterCommit(await this.queued(() => this.transact(work)));
  }

  /**
   * Read-only work outside a transaction: on PostgreSQL straight on the pool (no BEGIN/COMMIT round
   * trips); on PGlite queued behind open transactions, so a read never lands inside someone else's.
   * `afterCommit` is not available here. Inside a request transaction: on its connection.
   */
  async read<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const outer = this.enclosing.getStore();
    const tx = new ManagedTx(outer?.manager ?? this.dataSource.manager, undefined, this.prepare);
    const job = async (): Promise<T> => {
      try {
        return await work(tx);
      } catch (err) {
        throw translateDatabaseError(err);
      }
    };
    return outer ? job() : this.queued(job);
  }

  /**
   * One statement that is atomic on its own (a data-modifying CTE writing a row and its event):
   * no BEGIN / COMMIT round trips. `work` must issue exactly one statement through the Tx; the
   * after-commit hooks run once it has succeeded (it committed when it returned). Inside a request
   * transaction it is a savepoint like `run`.
   */
  async statement<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const outer = this.enclosing.getStore();
    if (outer) return (await this.transact(work, outer)).result;
    const job = async (): Promise<Committed<T>> => {
      const hooks: AfterCommitHook[] = [];
      try {
        return { result: await work(new ManagedTx(this.dataSource.manager, hooks, this.prepare)), hooks };
      } catch (err) {
        throw translateDatabaseError(err);
      }
    };
    return this.afterCommit(await this.queued(job));
  }

  /**
   * Runs `work` in a request transaction (see the class comment): one transaction, not retried
   * (it is a whole request), committed when `work` resolves, rolled back when it throws.
   */
  async around<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.enclosing.getStore()) throw new Error('request transactions do not nest');
    const job = async (): Promise<Committed<T>> => {
      const hooks: AfterCommitHook[] = [];
      try {
        const result = await this.dataSource.transaction((manager) => {
          const tx = new ManagedTx(manager, hooks, this.prepare);
          return this.enclosing.run(tx, () => work(tx));
        });
        return { result, hooks };
      } catch (err) {
        throw translateDatabaseError(err);
      }
    };
    return this.afterCommit(await this.queued(job));
  }

  /**
   * A short transaction sent as SQL text, BEGIN with its first statement and COMMIT with its last
   * (see ScriptedTx): for a loop that runs one hundreds of times a second (the outbox relay), where
   * every round trip is a syscall pair and, under load, a turn of a busy event loop. On one pooled
   * connection; rolled back when `work` throws, committed when it returns without having committed.
   * Not retried, no after-commit hooks, not inside a request transaction. PostgreSQL only: on
   * embedded PGlite use `run`.
   */
  async scripted<T>(work: (tx: ScriptedTx) => Promise<T>): Promise<T> {
    const pool = (this.dataSource.driver as { master?: PgPool }).master;
    if (this.serialize || !pool || typeof pool.connect !== 'function') throw new Error('scripted transactions need PostgreSQL');
    let client: PgPoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw translateDatabaseError(err);
    }
    const tx = new ScriptedTx((sql) => client.query(sql));
    let broken: Error | undefined;
    try {
      const result = await work(tx);
      await tx.commit();
      return result;
    } catch (err) {
      try {
        await tx.abort();
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError)); // the connection is gone
      }
      throw translateDatabaseError(err);
    } finally {
      client.release(broken);
    }
  }

  /** On PGlite, behind the other units of work (one connection); on PostgreSQL at once. */
  private queued<T>(job: () => Promise<T>): Promise<T> {
    if (!this.serialize) return job();
    const result = this.queue.then(job);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * A transaction (or, inside `outer`, a savepoint whose hooks go to the outer transaction),
   * retried on serialization failures and deadlocks.
   */
  private async transact<T>(work: (tx: Tx) => Promise<T>, outer?: ManagedTx): Promise<Committed<T>> {
    const manager: EntityManager = outer?.manager ?? this.dataSource.manager;
    for (let attempt = 1; ; attempt++) {
      const hooks: AfterCommitHook[] = [];
      try {
        const result = await manager.transaction((m) => work(new ManagedTx(m, hooks, this.prepare)));
        if (outer) outer.hooks?.push(...hooks.splice(0));
        return { result, hooks };
      } catch (err) {
        const code = pgCode(err);
        if (attempt < MAX_ATTEMPTS && code !== undefined && RETRYABLE.has(code)) continue;
        throw translateDatabaseError(err);
      }
    }
  }

  /**
   * Runs the hooks of a committed unit of work, then answers its result. Outside the PGlite queue,
   * so a hook may start units of work of its own (the catalog refresh reads the catalog).
   */
  private async afterCommit<T>({ result, hooks }: Committed<T>): Promise<T> {
    for (const hook of hooks) {
      try {
        await hook();
      } catch (err) {
        this.logger.error({ err }, 'after-commit hook failed');
      }
    }
    return result;
  }
}
