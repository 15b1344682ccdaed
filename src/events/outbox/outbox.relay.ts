import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import pg from 'pg';
import { Clock } from '../../common/clock/clock.js';
import type { AppConfig } from '../../config/app-config.js';
import { usesPglite } from '../../database/data-source.options.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import { EventsMetrics } from '../events.metrics.js';
import type { EventEnvelope } from '../models/envelope.js';
import { payloadClassOf } from '../models/event-catalog.js';
import { fieldNamesOf } from '../models/event-field.js';
import { EventBusConnection } from '../transport/event-bus.connection.js';
import { OutboxSignal } from './outbox.signal.js';

/** Arbitrary constant: the transaction-scoped advisory lock that makes one replica the relay at a time. */
const RELAY_LOCK = 815_216;
const PUBLISH_TIMEOUT_MS = 5000;
const MAX_BACKOFF_MS = 30_000;
const PRUNE_EVERY_MS = 60_000;
const PRUNE_CHUNK = 5000;

type BatchResult = 'more' | 'idle' | 'busy' | 'failed';

interface OutboxRow {
  id: string;
  type: string;
  subject: string;
  aggregate_id: string | null;
  envelope: EventEnvelope;
}

/**
 * Splits rows (in seq order) into consecutive waves in which no aggregate (subscription, usage
 * record, catalog entry) appears twice. A wave's publishes are pipelined; the next wave starts only
 * once the whole wave is acknowledged, so an event can never overtake an earlier, failed event of
 * the same aggregate: per-aggregate order stays commit order even when a publish fails mid-batch.
 */
export function publishWaves<T extends { id: string; aggregate_id: string | null }>(rows: readonly T[]): T[][] {
  const waves: T[][] = [];
  let current: T[] = [];
  let seen = new Set<string>();
  for (const row of rows) {
    const key = row.aggregate_id ?? row.id;
    if (seen.has(key)) {
      waves.push(current);
      current = [];
      seen = new Set();
    }
    current.push(row);
    seen.add(key);
  }
  if (current.length > 0) waves.push(current);
  return waves;
}

/** The envelope in the SPEC's key order, data in its class's field order (jsonb does not keep key order). */
export function canonicalEnvelope(envelope: EventEnvelope): EventEnvelope {
  const cls = payloadClassOf(envelope.type);
  const data: Record<string, unknown> = {};
  if (cls) for (const key of fieldNamesOf(cls)) if (key in envelope.data) data[key] = envelope.data[key];
  Object.assign(data, envelope.data);
  const metadata: EventEnvelope['metadata'] = {};
  if (envelope.metadata?.request_id !== undefined) metadata.request_id = envelope.metadata.request_id;
  if (envelope.metadata?.correlation_id !== undefined) metadata.correlation_id = envelope.metadata.correlation_id;
  return {
    id: envelope.id,
    type: envelope.type,
    source: envelope.source,
    subject: envelope.subject ?? null,
    timestamp: envelope.timestamp,
    data,
    metadata: { ...metadata, ...envelope.metadata },
    version: envelope.version,
  };
}

/**
 * The outbox relay (SPEC section 3, "Delivery"). Publishes unsent outbox rows to JetStream in
 * commit (seq) order with `Nats-Msg-Id` = event id, in batches: one transaction takes a
 * transaction-scoped advisory lock (so exactly one replica relays at a time and order per
 * subscription holds), selects the oldest unsent rows `FOR UPDATE SKIP LOCKED`, publishes them one
 * after the other and marks them sent; a failed publish stops the batch there. A crash between
 * publish and commit republishes with the same id, which JetStream drops inside its 2-minute
 * duplicate window.
 *
 * Wakes on the in-process commit signal, on LISTEN `outbox_events` (PostgreSQL: other replicas'
 * commits) and on a short poll (OUTBOX_POLL_MS); while NATS is unreachable it backs off and catches
 * up as soon as the connection returns. Published rows older than OUTBOX_RETENTION are pruned.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap {
  private readonly logger = new Logger('OutboxRelay');
  private readonly nats: AppConfig['nats'];
  private readonly database: AppConfig['database'];
  private running?: Promise<void>;
  private stopping = false;
  private wakeRequested = false;
  private wakeUp?: () => void;
  private wakeFilter: 'any' | 'reconnect' = 'any';
  private listener?: pg.Client;
  private listenerRetry?: NodeJS.Timeout;
  private lastPrune = 0;
  /** Events committed by this replica since the last pass (set by OutboxSignal). */
  private localCommits = false;
  /** Payload of this replica's NOTIFYs, so its own listener ignores them. */
  private readonly instanceId = randomUUID();

  constructor(
    private readonly uow: UnitOfWork,
    private readonly connection: EventBusConnection,
    private readonly clock: Clock,
    private readonly metrics: EventsMetrics,
    signal: OutboxSignal,
    config: ConfigService<AppConfig, true>,
  ) {
    this.nats = config.get('nats', { infer: true });
    this.database = config.get('database', { infer: true });
    signal.listen(() => {
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
    this.connection.onConnected(() => this.wake('reconnect'));
    if (!usesPglite(this.database)) void this.listen();
    this.running = this.loop();
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
    this.wake('stop');
    await this.running;
    clearTimeout(this.listenerRetry);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
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
    while (!this.stopping) {
      this.wakeRequested = false;
      const localCommits = this.localCommits;
      this.localCommits = false;
      let result: BatchResult = 'idle';
      if (this.connection.isConnected) {
        try {
          result = (await this.relayBatch()).result;
          // another replica holds the relay lock: wake it for the events this replica just committed
          if (result === 'busy' && localCommits) await this.notifyOtherReplicas();
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
      await this.prune();
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
    const js = this.connection.jetstream();
    const sent: OutboxRow[] = [];
    const result = await this.uow.run(async (tx): Promise<BatchResult> => {
      sent.length = 0;
      if (!usesPglite(this.database)) {
        const [lock] = await tx.manager.query<{ locked: boolean }[]>('SELECT pg_try_advisory_xact_lock($1) AS locked', [RELAY_LOCK]);
        if (!lock?.locked) return 'busy';
      }
      const rows = await tx.manager.query<OutboxRow[]>(
        `SELECT id, type, subject, aggregate_id, envelope FROM outbox_events WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.nats.outboxBatchSize],
      );
      if (rows.length === 0) return 'idle';
      // Pipelined per wave (see publishWaves): the publishes of a wave are written in seq order on the one
      // connection (JetStream stores them in that order), then their acks are awaited together. Only the
      // acknowledged prefix is marked published; anything after the first failure is published again on
      // the next pass with the same msgID, which JetStream deduplicates.
      let failure: { row: OutboxRow; error: string } | undefined;
      for (const wave of publishWaves(rows)) {
        const acks = await Promise.allSettled(
          wave.map((row) =>
            js.publish(row.subject, JSON.stringify(canonicalEnvelope(row.envelope)), { msgID: row.id, timeout: PUBLISH_TIMEOUT_MS }),
          ),
        );
        for (const [i, ack] of acks.entries()) {
          if (ack.status === 'rejected') {
            const err: unknown = ack.reason;
            failure = { row: wave[i], error: err instanceof Error ? err.message : String(err) };
            break;
          }
          sent.push(wave[i]);
        }
        if (failure) break;
      }
      const now = this.clock.now();
      if (sent.length > 0) {
        await tx.manager.query(
          `UPDATE outbox_events SET published_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = ANY($2::uuid[])`,
          [now, sent.map((r) => r.id)],
        );
      }
      if (failure) {
        await tx.manager.query(`UPDATE outbox_events SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, [
          failure.row.id,
          failure.error,
        ]);
        this.logger.warn(
          { event_id: failure.row.id, type: failure.row.type, err: failure.error, published: sent.length },
          'Outbox publish failed; backing off',
        );
        return 'failed';
      }
      return rows.length === this.nats.outboxBatchSize ? 'more' : 'idle';
    });
    for (const row of sent) this.metrics.published.inc({ type: row.type });
    if (sent.length > 0) this.logger.debug({ published: sent.length }, 'outbox events published');
    return { result, published: sent.length };
  }

  /** Deletes published rows older than OUTBOX_RETENTION, in chunks, at most once a minute. */
  private async prune(force = false): Promise<number> {
    const now = Date.now();
    if (!force && now - this.lastPrune < PRUNE_EVERY_MS) return 0;
    this.lastPrune = now;
    const cutoff = new Date(this.clock.now().getTime() - this.nats.outboxRetentionMs);
    let total = 0;
    try {
      for (;;) {
        const deleted = await this.uow.run(async (tx) => {
          const [row] = await tx.manager.query<{ n: number }[]>(
            `WITH deleted AS (
               DELETE FROM outbox_events WHERE id IN (
                 SELECT id FROM outbox_events WHERE published_at IS NOT NULL AND published_at < $1 ORDER BY published_at LIMIT $2
               ) RETURNING 1
             ) SELECT count(*)::int AS n FROM deleted`,
            [cutoff, PRUNE_CHUNK],
          );
          return row?.n ?? 0;
        });
        total += deleted;
        if (deleted < PRUNE_CHUNK) break;
      }
      if (total > 0) this.logger.log({ deleted: total, older_than: cutoff.toISOString() }, 'Pruned published outbox events');
    } catch (err) {
      this.logger.warn({ err }, 'outbox prune failed');
    }
    return total;
  }

  /** Prunes now (tests, operations). */
  pruneNow(): Promise<number> {
    return this.prune(true);
  }

  /**
   * One NOTIFY outside any business transaction (business transactions do not NOTIFY: PostgreSQL
   * serialises the commits of notifying transactions). Failure only delays the other relay to its poll.
   */
  private async notifyOtherReplicas(): Promise<void> {
    if (usesPglite(this.database)) return;
    try {
      await this.uow.read((tx) => tx.manager.query('SELECT pg_notify($1, $2)', ['outbox_events', this.instanceId]));
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'outbox NOTIFY failed; the relay lock holder will poll');
    }
  }

  /** LISTEN outbox_events on a dedicated connection (NOTIFYs of other replicas' relays); reconnects on error. */
  private async listen(): Promise<void> {
    if (this.stopping || !this.database.url) return;
    const client = new pg.Client({ connectionString: this.database.url, application_name: 'outbox-relay-listener' });
    const retry = () => {
      if (this.listener === client) this.listener = undefined;
      client.removeAllListeners();
      void client.end().catch(() => undefined);
      if (!this.stopping) this.listenerRetry = setTimeout(() => void this.listen(), 2000).unref();
    };
    try {
      client.on('error', (err) => {
        this.logger.warn({ err: err.message }, 'outbox LISTEN connection lost; reconnecting');
        retry();
      });
      client.on('notification', (n) => {
        if (n.payload !== this.instanceId) this.wake();
      });
      await client.connect();
      await client.query('LISTEN outbox_events');
      if (this.stopping) {
        await client.end();
        return;
      }
      this.listener = client;
      this.wake(); // anything committed while we were not listening
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'outbox LISTEN failed; polling meanwhile');
      retry();
    }
  }
}
