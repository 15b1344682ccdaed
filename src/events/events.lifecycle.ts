import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { OutboxRelay } from './outbox/outbox.relay.js';
import { EventBusConnection } from './transport/event-bus.connection.js';
import { JetStreamServer } from './transport/jetstream.server.js';

/**
 * Graceful shutdown of the event bus, in order: consumers stop fetching and finish in-flight
 * messages (their effects commit and land in the outbox), the relay flushes the outbox once, then
 * the connection drains. Runs before the database closes (onApplicationShutdown).
 */
@Injectable()
export class EventsLifecycle implements BeforeApplicationShutdown {
  constructor(
    private readonly server: JetStreamServer,
    private readonly relay: OutboxRelay,
    private readonly connection: EventBusConnection,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    await this.server.stopConsuming();
    await this.relay.stopAndFlush();
    await this.connection.close();
  }
}
