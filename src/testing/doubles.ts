import { ConfigService } from '@nestjs/config';
import type { CallContext } from '../common/auth/principal.js';
import { type AppConfig, loadConfig } from '../config/app-config.js';
import type { AfterCommitHook, Tx } from '../database/transaction.js';
import type { UnitOfWork } from '../database/unit-of-work.js';
import type { OutboxMessage } from '../events/outbox/outbox-message.js';
import type { OutboxRepository } from '../events/outbox/outbox.repository.js';

/**
 * Test doubles for unit specs of services (never for e2e tests, which run the real database and
 * broker). Swap them in with `Test.createTestingModule(...).overrideProvider(X).useValue(double)`.
 */

/** A unit of work without a database: runs the work with a Tx whose after-commit hooks run when it resolves. */
export class FakeUnitOfWork {
  commits = 0;
  rollbacks = 0;

  /** Never inside a request transaction (the idempotency interceptor is not part of unit specs). */
  readonly inRequestTransaction = false;

  async run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const hooks: AfterCommitHook[] = [];
    try {
      const result = await work({ afterCommit: (hook) => void hooks.push(hook) });
      this.commits++;
      for (const hook of hooks) await hook();
      return result;
    } catch (err) {
      this.rollbacks++;
      throw err;
    }
  }

  /** One statement, atomic on its own: after-commit hooks run when it resolves. */
  async statement<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.run(work);
  }

  read<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return work({
      afterCommit: () => {
        throw new Error('no commit in read');
      },
    });
  }

  asUnitOfWork(): UnitOfWork {
    return this as unknown as UnitOfWork;
  }
}

/** An outbox that keeps what the publisher writes, in order (messages of rolled-back work stay: check commits). */
export class RecordingOutbox {
  readonly messages: OutboxMessage[] = [];

  insert(_tx: Tx, messages: readonly OutboxMessage[]): Promise<void> {
    this.messages.push(...messages);
    return Promise.resolve();
  }

  insertStatement(messages: readonly OutboxMessage[]): string {
    this.messages.push(...messages);
    return '';
  }

  types(): string[] {
    return this.messages.map((m) => m.type);
  }

  asRepository(): OutboxRepository {
    return this as unknown as OutboxRepository;
  }
}

/** The real configuration for `env` (defaults otherwise), as Nest's ConfigService. */
export function testConfig(env: Record<string, string> = {}): ConfigService<AppConfig, true> {
  const config = loadConfig({ NODE_ENV: 'test', ...env });
  return new ConfigService<AppConfig, true>(config);
}

export const internalCall: CallContext = { requestId: 'req-test', principal: { kind: 'internal' } };
export const userCall = (userId: string): CallContext => ({ requestId: 'req-test', principal: { kind: 'user', userId } });
