import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { ShutdownState } from '../common/shutdown/shutdown-state.js';
import { OutboxRelay } from './outbox/outbox.relay.js';
import { EventBusConnection } from './transport/event-bus.connection.js';
import { JetStreamServer } from './transport/jetstream.server.js';

/**
 * Graceful shutdown of the event bus, in order: (after the HTTP drain, when a signal started the
 * shutdown) consumers stop fetching and finish in-flight messages (their effects commit and land in
 * the outbox), the relay flushes the outbox once, then the connection drains. Runs in
 * beforeApplicationShutdown, i.e. before the database closes (onApplicationShutdown).
 */
@Injectable()
export class EventsLifecycle implements BeforeApplicationShutdown {
  private readonly logger = new Logger('EventBus');

  constructor(
    private readonly server: JetStreamServer,
    private readonly relay: OutboxRelay,
    private readonly connection: EventBusConnection,
    private readonly shutdown: ShutdownState,
  ) {}

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    await this.httpDrained(signal);
    await this.server.stopConsuming();
    await this.relay.stopAndFlush();
    await this.connection.close();
  }

  /** Waits for the HTTP grace period (ShutdownState) when a signal started the shutdown. */
  private async httpDrained(signal?: string): Promise<void> {
    if (!signal) return;
    await this.shutdown.drain(signal);
    this.logger.log({ signal }, 'Stopping event consumers and flushing the outbox');
  }
}
