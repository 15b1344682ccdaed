import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { AppConfig } from '../../config/app-config.js';
import { JetStreamAsyncPublisher } from './async-publisher.js';
import { ensureStream } from './stream.js';

export type EventBusState = 'disabled' | 'connecting' | 'connected' | 'disconnected' | 'closed';

/**
 * The one NATS connection of the service, shared by the outbox relay, the JetStream consumers and
 * the health indicator. Start-up never waits for it: `start()` connects in the background and the
 * client reconnects forever. Every (re)connection ensures the stream, logs "Event bus connected"
 * and tells the listeners (relay: catch up; consumers: re-check their durables).
 */
@Injectable()
export class EventBusConnection {
  private readonly logger = new Logger('EventBus');
  private readonly nats: AppConfig['nats'];
  private nc?: NatsConnection;
  private js?: JetStreamClient;
  private jsm?: JetStreamManager;
  private asyncPublisher?: JetStreamAsyncPublisher;
  /** the stream was found or created once by this process (so a later failing check is not a missing stream) */
  private streamEnsured = false;
  private stateValue: EventBusState;
  private readonly listeners = new Set<() => void>();
  private readonly waiters = new Set<() => void>();
  private starting?: Promise<void>;
  private lastError?: string;
  private wakeConnectLoop?: () => void;

  constructor(config: ConfigService<AppConfig, true>) {
    this.nats = config.get('nats', { infer: true });
    this.stateValue = this.nats.url ? 'connecting' : 'disabled';
  }

  get enabled(): boolean {
    return this.nats.url !== undefined;
  }

  get state(): EventBusState {
    return this.stateValue;
  }

  get isConnected(): boolean {
    return this.stateValue === 'connected' && !!this.nc && !this.nc.isClosed();
  }

  /** For health reports: state, server and last error, never credentials. */
  describe(): { state: EventBusState; server?: string; stream: string; error?: string } {
    return {
      state: this.stateValue,
      ...(this.nc && this.isConnected ? { server: this.nc.getServer() } : {}),
      stream: this.nats.stream,
      ...(this.lastError && !this.isConnected ? { error: this.lastError } : {}),
    };
  }

  /** Called on every (re)connection, after the stream is ensured. */
  onConnected(listener: () => void): () => void {
    this.listeners.add(listener);
    if (this.isConnected) listener();
    return () => this.listeners.delete(listener);
  }

  /** Resolves once connected (immediately if connected now). Never rejects; never resolves when disabled. */
  whenConnected(): Promise<void> {
    if (this.isConnected) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  jetstream(): JetStreamClient {
    if (!this.js) throw new Error('event bus not connected');
    return this.js;
  }

  /** Pipelined JetStream publishes with asynchronous acks (the outbox relay's). */
  publisher(): JetStreamAsyncPublisher {
    if (!this.asyncPublisher) throw new Error('event bus not connected');
    return this.asyncPublisher;
  }

  manager(): JetStreamManager {
    if (!this.jsm) throw new Error('event bus not connected');
    return this.jsm;
  }

  /** Starts connecting in the background (idempotent). Never throws, never waits for NATS. */
  start(): void {
    if (!this.nats.url || this.starting || this.stateValue === 'closed') return;
    this.starting = this.connectLoop();
  }

  private async connectLoop(): Promise<void> {
    const servers = this.nats.url!.split(',');
    this.logger.log({ nats_url: servers.map(redact).join(','), stream: this.nats.stream }, 'Event bus connecting (in the background)');
    for (let attempt = 1; this.stateValue !== 'closed'; attempt++) {
      let nc: NatsConnection;
      try {
        nc = await connect({
          servers,
          name: 'product-service',
          timeout: 2000,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 1000,
          reconnectJitter: 500,
          pingInterval: 10_000,
          maxPingOut: 3,
          // no Error allocated per request for async stack traces (a few % of CPU per published event)
          noAsyncTraces: true,
        });
      } catch (err) {
        this.lastError = err instanceof Error ? err.message : String(err);
        const level = attempt === 1 || attempt % 60 === 0 ? 'warn' : 'debug';
        this.logger[level]({ err: this.lastError, attempt }, 'Event bus unreachable; retrying (events stay in the outbox)');
        await new Promise<void>((resolve) => {
          this.wakeConnectLoop = resolve;
          setTimeout(resolve, Math.min(1000 * attempt, 5000)).unref();
        });
        continue;
      }
      if ((this.stateValue as EventBusState) === 'closed') {
        await nc.close().catch(() => undefined);
        return;
      }
      this.nc = nc;
      this.js = jetstream(nc);
      this.asyncPublisher = new JetStreamAsyncPublisher(nc);
      this.jsm = await jetstreamManager(nc, { checkAPI: false });
      void this.watchStatus(nc);
      await this.connected('Event bus connected');
      return;
    }
  }

  private async connected(message: string): Promise<void> {
    try {
      const created = await ensureStream(this.manager(), this.nats.stream, this.nats.subjectPrefix);
      this.streamEnsured = true;
      this.stateValue = 'connected';
      this.lastError = undefined;
      this.logger.log({ nats_server: this.nc?.getServer(), stream: this.nats.stream, stream_created: created }, message);
    } catch (err) {
      this.lastError = this.streamError(err);
      if (this.streamEnsured) {
        // The stream existed before this reconnection (it is never deleted by us): its API not answering
        // yet is JetStream electing leaders after a node loss. Publishing and consuming may go on (a
        // publish without a leader fails and is retried by the relay); the check is repeated meanwhile.
        // Waiting for it instead had held the relay back for 5 s after each reconnection.
        this.stateValue = 'connected';
        this.logger.warn(
          { err: this.lastError },
          'Event bus reconnected; the stream does not answer yet (leader election?); checking again in 1 s',
        );
        setTimeout(() => void this.recheckStream(), 1000).unref();
      } else {
        // connected but JetStream not usable (disabled, not ready): stay "disconnected" and retry
        this.stateValue = 'disconnected';
        this.logger.error({ err: this.lastError }, 'Event bus connected but the stream is not available; retrying in 1 s');
        setTimeout(() => {
          if (this.stateValue === 'disconnected' && this.nc && !this.nc.isClosed()) void this.connected(message);
        }, 1000).unref();
        return;
      }
    }
    for (const resolve of this.waiters) resolve();
    this.waiters.clear();
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        this.logger.error({ err }, 'event bus listener failed');
      }
    }
  }

  /** After a reconnection whose stream check failed: check again every second until it answers (no listener is told again). */
  private async recheckStream(): Promise<void> {
    if (!this.nc || this.nc.isClosed() || this.stateValue !== 'connected' || !this.lastError) return;
    try {
      await ensureStream(this.manager(), this.nats.stream, this.nats.subjectPrefix);
      this.lastError = undefined;
      this.logger.log({ nats_server: this.nc.getServer(), stream: this.nats.stream }, 'Event bus stream answers again');
    } catch (err) {
      this.lastError = this.streamError(err);
      setTimeout(() => void this.recheckStream(), 1000).unref();
    }
  }

  private streamError(err: unknown): string {
    return `stream ${this.nats.stream}: ${err instanceof Error ? err.message : String(err)}`;
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        if (this.stateValue !== 'closed') this.stateValue = 'disconnected';
        this.lastError = 'disconnected';
        this.logger.warn({ nats_server: status.server }, 'Event bus disconnected; reconnecting');
      } else if (status.type === 'reconnect') {
        await this.connected('Event bus connected (reconnected)');
      } else if (status.type === 'error') {
        this.lastError = String(status.error);
        this.logger.error({ err: this.lastError }, 'Event bus error');
      }
    }
  }

  /** Drains the connection (flushes pending publishes and acks) and closes it. */
  async close(): Promise<void> {
    this.stateValue = 'closed';
    this.wakeConnectLoop?.();
    await this.starting;
    const nc = this.nc;
    this.nc = undefined;
    this.js = undefined;
    this.jsm = undefined;
    this.asyncPublisher?.close();
    this.asyncPublisher = undefined;
    if (nc && !nc.isClosed()) {
      try {
        await nc.drain();
      } catch {
        await nc.close().catch(() => undefined);
      }
      this.logger.log('Event bus connection drained and closed');
    }
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.username) u.username = '***';
    return u.toString();
  } catch {
    return '[invalid url]';
  }
}
