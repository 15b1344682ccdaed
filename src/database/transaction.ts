import pg from 'pg';
import type { EntityManager } from 'typeorm';

/**
 * A running unit of work, as services see it: an opaque handle they pass on to repositories, plus
 * hooks that run only once it has committed. Services never reach the database through it; only
 * repositories do (`managerOf`).
 */
export interface Tx {
  /**
   * Runs `hook` after a successful commit (never on rollback), before the unit of work returns
   * (an async hook is awaited). Errors in hooks are logged, not thrown.
   */
  afterCommit(hook: AfterCommitHook): void;
}

export type AfterCommitHook = () => void | Promise<void>;

/** The TypeORM-backed handle UnitOfWork hands out. */
export class ManagedTx implements Tx {
  constructor(
    readonly manager: EntityManager,
    readonly hooks: AfterCommitHook[] | undefined,
    /** whether `prepared` may name statements (PostgreSQL with DB_PREPARED_STATEMENTS) */
    readonly prepare = false,
  ) {}

  afterCommit(hook: AfterCommitHook): void {
    if (!this.hooks) throw new Error('afterCommit is not available in UnitOfWork.read (there is no commit)');
    this.hooks.push(hook);
  }
}

/**
 * For repositories only: a hot statement run under `name`, so that node-postgres prepares it once
 * per connection and PostgreSQL skips parsing and planning on every later run (a group commit's
 * statement spent 1.4 ms of its 2.9 ms in parse and plan). `text` must be the same on every call
 * with that name. On embedded PGlite, or with DB_PREPARED_STATEMENTS=false (a pooler that cannot
 * keep named statements), it is the plain text. Pass the result to `managerOf(tx).query`.
 */
export function prepared(tx: Tx, name: string, text: string): string {
  if (!(tx instanceof ManagedTx) || !tx.prepare) return text;
  // TypeORM hands the query to node-postgres as it is; node-postgres takes a query config in its place
  return { name, text, toString: () => text } as unknown as string;
}

/** For repositories only (lint-enforced): the EntityManager behind a Tx. */
export function managerOf(tx: Tx): EntityManager {
  if (!(tx instanceof ManagedTx)) throw new Error('not a transaction of this UnitOfWork');
  return tx.manager;
}

/**
 * A transaction sent as SQL text over PostgreSQL's simple query protocol, several statements per
 * message: BEGIN travels with the first statement and COMMIT with the last, so a short transaction
 * of two statements costs two round trips instead of four. No parameters: repositories inline their
 * values as literals (`sqlLiteral`). Handed out by `UnitOfWork.scripted` (PostgreSQL only).
 */
export class ScriptedTx {
  private begun = false;
  private ended = false;

  constructor(private readonly send: (sql: string) => Promise<unknown>) {}

  /** Runs `sql` (with BEGIN before it, the first time); answers the rows of its last statement. */
  async query<R>(sql: string): Promise<R[]> {
    if (this.ended) throw new Error('the scripted transaction has ended');
    const first = !this.begun;
    this.begun = true;
    return lastRows<R>(await this.send(first ? `BEGIN; ${sql}` : sql));
  }

  /**
   * Runs `sql` (if any) and COMMIT in one message; the transaction ends. When `sql` fails, PostgreSQL
   * skips the rest of the message: the transaction stays open (aborted) for `abort` to roll back.
   */
  async commit(sql?: string): Promise<void> {
    if (this.ended) return;
    if (!this.begun && !sql) {
      this.ended = true;
      return;
    }
    const text = [this.begun ? undefined : 'BEGIN', sql, 'COMMIT'].filter(Boolean).join('; ');
    this.begun = true;
    await this.send(text);
    this.ended = true;
  }

  /**
   * After a failure: ROLLBACK if the transaction began and did not end (by the caller, UnitOfWork).
   * After a failed COMMIT message that is harmless: PostgreSQL only warns when no transaction is open.
   */
  async abort(): Promise<void> {
    if (this.ended || !this.begun) return;
    this.ended = true;
    await this.send('ROLLBACK');
  }

  get open(): boolean {
    return this.begun && !this.ended;
  }
}

/** node-postgres answers one result for one statement and an array of results for several. */
function lastRows<R>(result: unknown): R[] {
  const last = (Array.isArray(result) ? result[result.length - 1] : result) as { rows?: R[] } | undefined;
  return last?.rows ?? [];
}

/** A value as an SQL literal for a ScriptedTx (strings quoted and escaped; integers checked). */
export function sqlLiteral(value: string | number | boolean | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`not an integer literal: ${value}`);
    return String(value);
  }
  // quotes doubled, and E'...' with doubled backslashes when there are any (whatever standard_conforming_strings says)
  return pg.escapeLiteral(value.replaceAll('\0', ''));
}
