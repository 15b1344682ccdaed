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
  ) {}

  afterCommit(hook: AfterCommitHook): void {
    if (!this.hooks) throw new Error('afterCommit is not available in UnitOfWork.read (there is no commit)');
    this.hooks.push(hook);
  }
}

/** For repositories only (lint-enforced): the EntityManager behind a Tx. */
export function managerOf(tx: Tx): EntityManager {
  if (!(tx instanceof ManagedTx)) throw new Error('not a transaction of this UnitOfWork');
  return tx.manager;
}
