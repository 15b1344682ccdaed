import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { Clock } from '../../common/clock/clock.js';
import { asTransportPayload } from '../../common/validation/validation.pipe.js';
import type { AppConfig } from '../../config/app-config.js';
import { EventsMetrics } from '../events.metrics.js';
import { classifyEventError } from '../handlers/event-outcome.js';
import { decodeInbound, type InboundEvent } from '../models/envelope.js';
import { type DeadLetter, letterPayload, publishDeadLetter } from './dead-letter.js';
import { EventBusConnection } from './event-bus.connection.js';
import { JetStreamContext } from './jetstream.context.js';
import { consumedFilter, durableName } from './subjects.js';

export const JETSTREAM_TRANSPORT = Symbol('JETSTREAM');

const ACK_WAIT_MS = 30_000;
const MAX_NAK_DELAY_MS = 60_000;
/** a fetch ends after this long even when idle (bounds how long shutdown waits for it) */
const FETCH_EXPIRES_MS = 2000;

/** nak delay before delivery n+1: base × 2^(n-1), capped at 60 s. */
export function retryDelayMs(baseMs: number, deliveryCount: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, deliveryCount - 1), MAX_NAK_DELAY_MS);
}

interface ConsumerState {
  pattern: string;
  durable: string;
  filter: string;
  running?: Promise<void>;
  /** the @EventPattern handler, looked up once (not per message) */
  handler?: MessageHandler | null;
}

/**
 * A JetStream transport for `@EventPattern` handlers (modelled on Nest's ServerNats): one durable
 * pull consumer per handled event type (`<prefix>.*.<type>`, durable name derived from
 * SERVICE_NAME so replicas share it; one filter subject per consumer for NATS 2.9). Messages are
 * handled one at a time per consumer, acknowledged after the handler resolves, `nak`ed with an
 * exponential delay when it fails, and copied to `<prefix>.dlq.<service>.<type>` (then acked)
 * after EVENTS_MAX_DELIVER deliveries; malformed messages go to the DLQ at once.
 *
 * `listen` never waits for NATS: consumers start whenever the shared connection is up, and are
 * re-checked on every reconnection.
 */
@Injectable()
export class JetStreamServer extends Server implements CustomTransportStrategy {
  override readonly transportId = JETSTREAM_TRANSPORT;
  /** handler errors come back to us (as EventOutcome) instead of being logged by Nest */
  override readonly propagatesEventHandlerErrors = true;
  private readonly log = new Logger('EventConsumers');
  private readonly nats: AppConfig['nats'];
  private readonly serviceName: string;
  private readonly consumers = new Map<string, ConsumerState>();
  private readonly inFlight = new Set<Promise<void>>();
  /** messages being handled, with when they started: one timer tells the server about the slow ones */
  private readonly working = new Map<JsMsg, number>();
  private heartbeat?: NodeJS.Timeout;
  private stopping = false;
  private stopped?: Promise<void>;
  private unsubscribe?: () => void;
  private wakeSleepers = new Set<() => void>();
  /** PROCESS_ROLE=api: the workers consume */
  private readonly apiOnly: boolean;

  constructor(
    private readonly connection: EventBusConnection,
    private readonly metrics: EventsMetrics,
    private readonly clock: Clock,
    config: ConfigService<AppConfig, true>,
  ) {
    super();
    this.nats = config.get('nats', { infer: true });
    this.serviceName = config.get('serviceName', { infer: true });
    this.apiOnly = config.get('processRole', { infer: true }) === 'api';
  }

  /** The subjects this service consumes (one per registered @EventPattern). */
  subjects(): string[] {
    return [...this.messageHandlers.keys()].map((pattern) => consumedFilter(this.nats.subjectPrefix, pattern));
  }

  /** The durable consumer names, once listening (empty before, and when NATS_URL=off). */
  durables(): string[] {
    return this.connection.enabled && !this.apiOnly ? [...this.consumers.values()].map((c) => c.durable) : [];
  }

  listen(callback: (...optionalParams: unknown[]) => void): void {
    for (const pattern of this.messageHandlers.keys()) {
      this.consumers.set(pattern, {
        pattern,
        durable: durableName(this.serviceName, pattern),
        filter: consumedFilter(this.nats.subjectPrefix, pattern),
      });
    }
    if (!this.connection.enabled || this.apiOnly) {
      const why = this.apiOnly ? 'PROCESS_ROLE=api' : 'NATS_URL=off';
      this.log.log({ subjects: this.subjects() }, `${why}: event handlers registered but not consuming`);
      callback();
      return;
    }
    this.connection.start();
    this.unsubscribe = this.connection.onConnected(() => void this.onConnected());
    // a slow handler keeps its message: tell the server we are still working before ack_wait runs out
    // (one timer for every message in progress, not a timer per message)
    this.heartbeat = setInterval(() => {
      const due = performance.now() - ACK_WAIT_MS / 3;
      for (const [m, started] of this.working) if (started <= due) m.working();
    }, ACK_WAIT_MS / 3);
    this.heartbeat.unref();
    callback();
  }

  private async onConnected(): Promise<void> {
    if (this.stopping) return;
    const ensured = await Promise.allSettled([...this.consumers.values()].map((c) => this.ensureConsumer(c)));
    const failed = ensured.filter((r) => r.status === 'rejected').length;
    this.log.log(
      {
        subjects: this.subjects(),
        durables: [...this.consumers.values()].map((c) => c.durable),
        stream: this.nats.stream,
        ...(failed ? { consumers_failed: failed } : {}),
      },
      'Event handlers registered',
    );
    for (const consumer of this.consumers.values()) consumer.running ??= this.consumeLoop(consumer);
  }

  private async ensureConsumer(c: ConsumerState): Promise<void> {
    const jsm = this.connection.manager();
    try {
      await jsm.consumers.info(this.nats.stream, c.durable);
      return;
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
    }
    await jsm.consumers.add(this.nats.stream, {
      durable_name: c.durable,
      filter_subject: c.filter,
      ack_policy: AckPolicy.Explicit,
      // created once, at the service's first start: history from before it cannot concern our
      // subscriptions, and replaying an old wallet.insufficient_funds would wrongly mark a paying user
      deliver_policy: DeliverPolicy.New,
      ack_wait: nanos(ACK_WAIT_MS),
      // we count deliveries ourselves and dead-letter; the server must not drop silently
      max_deliver: -1,
      max_ack_pending: 1000,
    });
  }

  /**
   * Pulls in bounded fetches (at most EVENTS_CONSUMER_BATCH messages, FETCH_EXPIRES_MS) rather
   * than an endless consume(). The messages of a fetch are handed to the handler one after the
   * other, in stream order, without waiting for each to finish: the handlers of a type gather them
   * into group transactions (EventGroups), which keep that order. At most two fetches are in
   * flight: the next is pulled while the previous one commits. Once stopping, a message pulled but
   * not started is `nak`ed at once so another replica gets it without waiting for ack_wait.
   */
  private async consumeLoop(c: ConsumerState): Promise<void> {
    let failures = 0;
    const batchSize = this.nats.consumerBatchSize;
    while (!this.stopping) {
      await Promise.race([this.connection.whenConnected(), this.untilStopping()]);
      if (this.stopping) break;
      const fetches: Promise<unknown>[] = [];
      try {
        if (failures > 0) await this.ensureConsumer(c);
        const consumer = await this.connection.jetstream().consumers.get(this.nats.stream, c.durable);
        failures = 0;
        while (!this.stopping && this.connection.isConnected) {
          const batch = await consumer.fetch({ max_messages: batchSize, expires: FETCH_EXPIRES_MS });
          const started: Promise<void>[] = [];
          for await (const m of batch) {
            if (this.stopping) {
              m.nak(); // pulled but not started: give it back to another replica now
              continue;
            }
            const work = this.process(c, m);
            this.inFlight.add(work);
            started.push(work.finally(() => this.inFlight.delete(work)));
          }
          fetches.push(Promise.allSettled(started));
          if (fetches.length >= 2) await fetches.shift();
        }
      } catch (err) {
        failures++;
        if (this.stopping) break;
        this.log.warn({ durable: c.durable, err: err instanceof Error ? err.message : String(err) }, 'Consumer interrupted; restarting');
      }
      await Promise.allSettled(fetches);
      if (!this.stopping) await this.sleep(Math.min(250 * 2 ** failures, 10_000));
    }
  }

  private async process(c: ConsumerState, m: JsMsg): Promise<void> {
    const decoded = decodeInbound(m.data, m.subject, m.seq, this.clock.now());
    if (!decoded.ok) {
      this.metrics.failed.inc({ type: c.pattern });
      await this.deadLetter(m, c.pattern, 'malformed', decoded.error, null);
      return;
    }
    const event = decoded.event;
    // built only when a line is logged (m.info parses the message's reply subject)
    const logCtx = () => ({
      event_id: event.id,
      type: c.pattern,
      source: event.source,
      subject: m.subject,
      stream_seq: m.seq,
      delivery: m.info.deliveryCount,
      request_id: event.metadata.request_id,
      correlation_id: event.id,
    });
    c.handler ??= this.getHandlerByPattern(c.pattern);
    const handler = c.handler;
    if (!handler) {
      m.nak(5000);
      return;
    }
    this.working.set(m, performance.now());
    try {
      await this.invoke(handler, asTransportPayload(event), new JetStreamContext([m.subject, m, event]));
      this.working.delete(m);
      m.ack();
      this.metrics.handled.inc({ type: c.pattern });
    } catch (err) {
      this.working.delete(m);
      const outcome = classifyEventError(err);
      if (outcome.action === 'ack') {
        m.ack();
        this.metrics.handled.inc({ type: c.pattern });
        this.log.warn({ ...logCtx(), code: outcome.code, err: outcome.message }, 'Event refused by a business rule; acknowledged');
        return;
      }
      this.metrics.failed.inc({ type: c.pattern });
      if (outcome.action === 'dead_letter') {
        await this.deadLetter(m, c.pattern, 'rejected', outcome.message, event.raw ? null : event.id);
        return;
      }
      // a dependency outage ('wait') uses up the deliveries too, unless EVENTS_WAIT_OUT_OUTAGES
      const counted = outcome.action === 'retry' || !this.nats.waitOutOutages;
      if (counted && m.info.deliveryCount >= this.nats.maxDeliver) {
        await this.deadLetter(m, c.pattern, 'max_deliveries', outcome.message, event.raw ? null : event.id);
        return;
      }
      const delay = retryDelayMs(this.nats.retryBackoffMs, m.info.deliveryCount);
      m.nak(delay);
      this.log.warn({ ...logCtx(), err: outcome.message, retry_in_ms: delay }, 'Event handler failed; will retry');
    }
  }

  /** Runs the Nest handler (with its filters, pipes and interceptors) and waits for its result stream. */
  private async invoke(handler: MessageHandler, event: InboundEvent, ctx: JetStreamContext): Promise<void> {
    const result: unknown = await handler(event, ctx);
    await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
  }

  private async deadLetter(m: JsMsg, type: string, reason: DeadLetter['reason'], error: string, eventId: string | null): Promise<void> {
    const letter: DeadLetter = {
      reason,
      error,
      service: this.serviceName,
      type,
      event_id: eventId,
      original_subject: m.subject,
      original_stream: m.info.stream,
      original_stream_seq: m.seq,
      deliveries: m.info.deliveryCount,
      failed_at: this.clock.now().toISOString(),
      ...letterPayload(m.data),
    };
    try {
      const subject = await publishDeadLetter(this.connection.jetstream(), this.nats.subjectPrefix, letter);
      m.ack();
      this.metrics.deadLettered.inc({ type });
      this.log.error({ event_id: eventId, type, stream_seq: m.seq, reason, err: error, dlq_subject: subject }, 'Event dead-lettered');
    } catch (err) {
      m.nak(5000);
      this.log.error(
        { stream_seq: m.seq, type, err: err instanceof Error ? err.message : String(err) },
        'Could not dead-letter; will retry',
      );
    }
  }

  private untilStopping(): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping) resolve();
      else this.wakeSleepers.add(resolve);
    });
  }

  private sleep(ms: number): Promise<void> {
    return Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms).unref()), this.untilStopping()]);
  }

  /** Graceful stop: no more fetching, messages already pulled go back, in-flight handlers finish. */
  stopConsuming(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      this.unsubscribe?.();
      for (const wake of this.wakeSleepers) wake();
      this.wakeSleepers.clear();
      await Promise.allSettled([...this.inFlight]);
      await Promise.allSettled([...this.consumers.values()].map((c) => c.running ?? Promise.resolve()));
      if (this.consumers.size > 0 && this.connection.enabled) this.log.log('Event consumers stopped (in-flight messages finished)');
    })();
    return this.stopped;
  }

  async close(): Promise<void> {
    await this.stopConsuming();
    clearInterval(this.heartbeat);
  }

  on(): void {
    // status events are logged by EventBusConnection
  }

  unwrap<T>(): T {
    return this.connection as unknown as T;
  }
}
