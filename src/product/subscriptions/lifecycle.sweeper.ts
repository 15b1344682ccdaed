import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { systemContext } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock/clock.js';
import type { AppConfig } from '../../config/app-config.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import { IdempotencyRepository } from '../../idempotency/idempotency.repository.js';
import { SubscriptionLifecycle } from './subscription-lifecycle.service.js';

export const SWEEP_BATCH_SIZE = 100;

export interface SweepResult {
  /** subscriptions that changed */
  subscriptions: number;
  /** lifecycle steps applied (status changes, renewals, plan switches) */
  steps: number;
  /** expired idempotency keys deleted */
  idempotencyKeysPruned: number;
}

/**
 * The time-driven lifecycle (SPEC): every SWEEP_INTERVAL_MS, batches of due subscriptions are
 * locked `FOR UPDATE SKIP LOCKED` (so replicas sweep concurrently without doing a row twice) and
 * advanced in one transaction per batch, with their events in the outbox. Also prunes expired
 * idempotency keys. `sweepOnce()` is what the timer runs and what tests call after moving the clock.
 */
@Injectable()
export class LifecycleSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(LifecycleSweeper.name);
  private readonly intervalMs: number;
  /** false with PROCESS_ROLE=api: the workers sweep */
  private readonly enabled: boolean;
  private timer?: NodeJS.Timeout;
  private running?: Promise<SweepResult>;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
    private readonly lifecycle: SubscriptionLifecycle,
    private readonly idempotency: IdempotencyRepository,
    config: ConfigService<AppConfig, true>,
  ) {
    this.intervalMs = config.get('lifecycle', { infer: true }).sweepIntervalMs;
    this.enabled = config.get('processRole', { infer: true }) !== 'api';
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return; // PROCESS_ROLE=api: the workers sweep
    this.timer = setInterval(() => {
      if (this.running) return; // the previous sweep is still going
      this.sweepOnce().catch((err: unknown) => this.logger.error({ err }, 'Lifecycle sweep failed'));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** First thing on shutdown (before the database closes): no new sweeps, wait for a running one. */
  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One full pass over everything due now. Concurrent calls in one process share the pass. */
  sweepOnce(): Promise<SweepResult> {
    if (this.running) return this.running;
    this.running = this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<SweepResult> {
    const now = this.clock.now();
    const ctx = systemContext(`sweep-${randomUUID()}`);
    const result: SweepResult = { subscriptions: 0, steps: 0, idempotencyKeysPruned: 0 };
    let afterSeq = '0';
    for (;;) {
      const batch = await this.uow.run(async (tx) => {
        const due = await this.lifecycle.lockDue(tx, now, afterSeq, SWEEP_BATCH_SIZE);
        let changed = 0;
        let steps = 0;
        for (const sub of due) {
          const n = await this.lifecycle.advance(tx, sub, now, ctx);
          steps += n;
          if (n > 0) changed++;
        }
        return { size: due.length, lastSeq: due.length > 0 ? due[due.length - 1].seq : afterSeq, changed, steps };
      });
      result.subscriptions += batch.changed;
      result.steps += batch.steps;
      afterSeq = batch.lastSeq;
      if (batch.size < SWEEP_BATCH_SIZE) break;
    }
    result.idempotencyKeysPruned = await this.idempotency.pruneExpired(now);
    if (result.steps > 0 || result.idempotencyKeysPruned > 0) this.logger.log(result, 'Lifecycle sweep');
    return result;
  }
}
