import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../../config/app-config.js';
import { DatabaseRuntime } from '../../database/database-runtime.js';
import { PgNotifications } from '../../database/pg-notifications.js';
import type { ScriptedTx, Tx } from '../../database/transaction.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import { EventsMetrics } from '../events.metrics.js';
import { MessageTooLarge } from '../transport/async-publisher.js';
import { EventBusConnection } from '../transport/event-bus.connection.js';
import type { PendingOutboxRow } from './outbox-message.js';
import { OutboxRepository } from './outbox.repository.js';
import { OutboxSignal } from './outbox.signal.js';

/** LISTEN/NOTIFY channel on which a replica wakes the relay lock holder for its own commits. */
const NOTIFY_CHANNEL = 'outbox_events';
/**
 * How long a wave waits for its PubAcks. JetStream acknowledges in milliseconds, also at three
 * replicas; a wave still unanswered after this long is failed and published again (same
 * Nats-Msg-Id). Short, because a stalled server (SIGSTOP in the chaos suite) holds the relay this
 * long after it wakes up: 5 s had the relay resume ~8 s after the stall ended.
 */
const PUBLISH_TIMEOUT_MS = 2000;
/**
 * Longest wait between failing passes. Short: while the connection is up and publishes fail
 * (JetStream electing a new stream leader after a node died, a stalled server), a pass costs one
 * short transaction and one publish attempt, and the relay should catch up within this long of
 * JetStream answering again; a reconnection cuts the wait short anyway.
 */
const MAX_BACKOFF_MS = 1000;
/**
 * While behind (a pass read a full batch), each pass reads twice as many rows as the last, up to
 * this many times OUTBOX_BATCH_SIZE (and at most 10,000). A pass costs a few loop turns and round
 * trips whatever its size; when request handling saturates the CPU each of those waits behind a
 * busy event loop, so only larger passes let the relay catch up. Back to OUTBOX_BATCH_SIZE once a
 * pass finds less than it asked for, or fails.
 */
const MAX_BATCH_GROWTH = 8;
const MAX_BATCH = 10_000;
/** PROCESS_ROLE=api: at most one NOTIFY per this many ms to wake a worker's relay (the commits in between ride along). */
const API_NOTIFY_SPACING_MS = 5;

type BatchResult = 'more' | 'idle' | 'busy' | 'failed';

/**
 * Splits rows (in seq order) into waves: the k-th event of an aggregate (subscription, usage record,
 * catalog entry) in the batch goes into wave k, so no aggregate appears twice in a wave, and each
 * wave keeps seq order. A wave's publishes are pipelined; the next wave starts only once the whole
 * wave is acknowledged, so an event can never overtake an earlier, failed event of the same
 * aggregate: per-aggregate order stays commit order even when a publish fails mid-batch. A batch
 * takes as many waves as one aggregate has events in it: two for the status_changed + activated of
 * a batch of payments (consecutive waves, cut wherever an aggregate repeated, had taken one wave
 * per subscription there: a PubAck round trip each).
 */
export function publishWaves<T extends { id: string; aggregate_id: string | null }>(rows: readonly T[]): T[][] {
  const waves: T[][] = [];
  const seen = new Map<string, number>();
  for (const row of rows) {
    const key = row.aggregate_id ?? row.id;
    const k = seen.get(key) ?? 0;
    seen.set(key, k + 1);
    (waves[k] ??= []).push(row);
  }
  return waves;
}

/**
 * The outbox relay (SPEC section 3, "Delivery"). Publishes pending outbox rows to JetStream in
 * commit (seq) order with `Nats-Msg-Id` = event id, in batches: one transaction takes a
 * transaction-scoped advisory lock and reads the oldest rows in the same statement (so exactly
 * one replica relays at a time and order per subscription holds), publishes them wave by wave and
 * deletes the acknowledged ones; a failed publish stops the batch after its wave, and an event the
 * bus refuses for good (too large) is parked in `outbox_parked_events`. A crash between publish
 * and commit republishes with the same id, which JetStream drops inside its 2-minute duplicate
 * window.
 *
 * Wakes on the in-process commit signal, on LISTEN `outbox_events` (PostgreSQL: other replicas'
 * commits) and on a short poll (OUTBOX_POLL_MS); while NATS is unreachable it backs off and catches
 * up as soon as the connection returns.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap {
  private readonly logger = new Logger('OutboxRelay');
  private readonly nats: AppConfig['nats'];
  private running?: Promise<void>;
  private stopping = false;
  private wakeRequested = false;
  private wakeUp?: () => void;
  private wakeFilter: 'any' | 'reconnect' = 'any';
  /** Events committed by this replica since the last pass (set by OutboxSignal). */
  private localCommits = false;
  /** PROCESS_ROLE=api: no relay here; commits wake the relay lock holder (a worker) by NOTIFY */
  private readonly apiOnly: boolean;
  private notifying?: Promise<void>;
  private notifyAgain = false;
  /** rows the next pass reads (see MAX_BATCH_GROWTH) */
  private batchLimit: number;
  private readonly maxBatchLimit: number;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly outbox: OutboxRepository,
    private readonly connection: EventBusConnection,
    private readonly metrics: EventsMetrics,
    private readonly database: DatabaseRuntime,
    private readonly notifications: PgNotifications,
    signal: OutboxSignal,
    config: ConfigService<AppConfig, true>,
  ) {
    this.nats = config.get('nats', { infer: true });
    this.apiOnly = config.get('processRole', { infer: true }) === 'api';
    this.batchLimit = this.nats.outboxBatchSize;
    this.maxBatchLimit = Math.max(this.batchLimit, Math.min(this.batchLimit * MAX_BATCH_GROWTH, MAX_BATCH));
    signal.listen(() => {
      if (this.apiOnly) {
        this.notifyWorker();
        return;
      }
      this.localCommits = true;
      this.wake();
    });
  }

  onApplicationBootstrap(): void {
    if (!this.connection.enabled) {
      this.logger.log('NATS_URL=off: the outbox relay is disabled; events stay in the outbox');
      return;
    }
    this.connection.start();
    if (this.apiOnly) {
      this.logger.log('PROCESS_ROLE=api: no outbox relay in this process; its commits wake the relay of a worker (NOTIFY)');
      return;
    }
    this.connection.onConnected(() => this.wake('reconnect'));
    // other replicas' relays wake this one when it holds the lock (and on every reconnection of the listener)
    this.notifications.listen(NOTIFY_CHANNEL, () => this.wake());
    this.running = this.loop();
  }

  /** PROCESS_ROLE=api: one NOTIFY for the commits of the last few ms (one in flight, the next coalesced). */
  private notifyWorker(): void {
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = (async () => {
      do {
        this.notifyAgain = false;
        await this.notifications.notify(NOTIFY_CHANNEL);
        await new Promise((resolve) => setTimeout(resolve, API_NOTIFY_SPACING_MS));
      } while (this.notifyAgain);
    })().finally(() => (this.notifying = undefined));
  }

  /** Ask for a relay pass now (a commit), or after a reconnection / at shutdown (cuts a back-off short). */
  wake(reason: 'commit' | 'reconnect' | 'stop' = 'commit'): void {
    this.wakeRequested = true;
    if (this.wakeFilter === 'any' || reason !== 'commit') this.wakeUp?.();
  }

  /** Stops the loop, then publishes what is pending once (bounded), then stops listening. */
  async stopAndFlush(timeoutMs = 5000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.apiOnly) {
      await this.notifying; // the last commits' wake-up, before the database closes
      return;
    }
    this.wake('stop');
    await this.running;
    if (!this.connection.enabled || !this.connection.isConnected) return;
    const deadline = Date.now() + timeoutMs;
    let flushed = 0;
    for (let result: BatchResult = 'more'; result === 'more' && Date.now() < deadline;) {
      const batch = await this.relayBatch();
      result = batch.result;
      flushed += batch.published;
    }
    this.logger.log({ published: flushed }, 'Outbox relay flushed and stopped');
  }

  /** One pass until nothing is left (for tests and the shutdown flush). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const { result, published } = await this.relayBatch();
      total += published;
      if (result !== 'more') return total;
    }
  }

  private async loop(): Promise<void> {
    let backoff = 0;
    let lastPass = 0;
    while (!this.stopping) {
      // Commits keep coming: let the next pass start at least OUTBOX_RELAY_LINGER_MS after the last one,
      // so that it carries every event committed meanwhile (a pass costs two round trips to PostgreSQL
      // and one to NATS, whether it publishes one event or a thousand). After a quiet spell the pass
      // starts at once.
      const sinceLast = performance.now() - lastPass;
      if (sinceLast < this.nats.outboxLingerMs) await this.sleep(this.nats.outboxLingerMs - sinceLast, 'reconnect');
      lastPass = performance.now();
      this.wakeRequested = false;
      const localCommits = this.localCommits;
      this.localCommits = false;
      let result: BatchResult = 'idle';
      if (this.connection.isConnected) {
        try {
          result = (await this.relayBatch()).result;
          // another replica holds the relay lock: wake it for the events this replica just committed
          if (result === 'busy' && localCommits) await this.notifications.notify(NOTIFY_CHANNEL);
        } catch (err) {
          this.logger.error({ err }, 'outbox relay pass failed');
          result = 'failed';
        }
      }
      if (result === 'more') {
        backoff = 0;
        continue;
      }
      if (result === 'failed') {
        backoff = Math.min(backoff ? backoff * 2 : 500, MAX_BACKOFF_MS);
        await this.sleep(backoff, 'reconnect');
        continue;
      }
      backoff = 0;
      if (!this.wakeRequested) await this.sleep(this.nats.outboxPollMs, 'any');
    }
  }

  /** Waits `ms`, or less when woken: by anything, or (backing off) only by a reconnection or shutdown. */
  private sleep(ms: number, wakeOn: 'any' | 'reconnect'): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.wakeFilter = wakeOn;
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => (this.wakeUp = undefined));
  }

  private async relayBatch(): Promise<{ result: BatchResult; published: number }> {
    if (!this.connection.isConnected) return { result: 'failed', published: 0 };
    const sent: PendingOutboxRow[] = [];
    const limit = this.batchLimit;
    // PostgreSQL: two round trips (BEGIN + lock + read, then delete + COMMIT); PGlite: a plain transaction
    const result = this.database.embedded
      ? await this.uow.run((tx) => this.pass(tx, limit, false, sent))
      : await this.uow.scripted((tx) => this.pass(tx, limit, true, sent));
    this.batchLimit = result === 'more' ? Math.min(limit * 2, this.maxBatchLimit) : this.nats.outboxBatchSize;
    for (const row of sent) this.metrics.published.inc({ type: row.type });
    if (sent.length > 0) this.logger.debug({ published: sent.length }, 'outbox events published');
    return { result, published: sent.length };
  }

  /** One relay transaction: lock and read, publish wave by wave, delete what was acknowledged. */
  private async pass(tx: Tx | ScriptedTx, limit: number, lock: boolean, sent: PendingOutboxRow[]): Promise<BatchResult> {
    sent.length = 0;
    const { locked, rows } = await this.outbox.nextBatch(tx, limit, lock);
    if (!locked) return 'busy';
    if (rows.length === 0) return 'idle';
    // Pipelined per wave (see publishWaves): the publishes of a wave are written in seq order on the one
    // connection (JetStream stores them in that order), then their acks are awaited together. A wave
    // holds one event per aggregate, so every acknowledged row of it can go, also after a failed one:
    // deleted are the earlier waves and the failing wave's acknowledged rows, for each aggregate a
    // prefix of its events; the failed row and the later waves are published again on the next pass
    // with the same msgID, which JetStream deduplicates. A row the bus refuses for good (larger than it
    // takes) would stop the queue for ever: it is parked instead (outbox_parked_events, an error log,
    // a metric and an alert), and its aggregate's later events go on.
    const publisher = this.connection.publisher();
    let failure: { row: PendingOutboxRow; error: string } | undefined;
    const parked: { row: PendingOutboxRow; reason: string }[] = [];
    for (const wave of publishWaves(rows)) {
      const acks = await publisher.publishAll(
        wave.map((row) => ({ subject: row.subject, payload: row.payload, msgId: row.id })),
        PUBLISH_TIMEOUT_MS,
      );
      for (const [i, ack] of acks.entries()) {
        if (ack.status === 'fulfilled') sent.push(wave[i]);
        else if (ack.reason instanceof MessageTooLarge) parked.push({ row: wave[i], reason: ack.reason.message });
        else {
          const err: unknown = ack.reason;
          failure ??= { row: wave[i], error: err instanceof Error ? err.message : String(err) };
        }
      }
      if (failure) break;
    }
    await this.outbox.finishBatch(
      tx,
      sent.map((r) => r.seq),
      failure && { seq: failure.row.seq, error: failure.error },
      parked.map(({ row, reason }) => ({ seq: row.seq, reason })),
    );
    for (const { row, reason } of parked) {
      this.metrics.parked.inc({ type: row.type });
      this.logger.error(
        { event_id: row.id, type: row.type, aggregate_id: row.aggregate_id, bytes: Buffer.byteLength(row.payload), err: reason },
        'Outbox event refused by the bus for good (too large): parked in outbox_parked_events, see the runbook',
      );
    }
    if (failure) {
      this.logger.warn(
        { event_id: failure.row.id, type: failure.row.type, err: failure.error, published: sent.length },
        'Outbox publish failed; backing off',
      );
      return 'failed';
    }
    return rows.length === limit ? 'more' : 'idle';
  }
}
