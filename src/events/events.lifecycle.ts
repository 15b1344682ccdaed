import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ModuleRef } from '@nestjs/core';
import type { AppConfig } from '../config/app-config.js';
import { ShutdownState } from '../health/shutdown-state.js';
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
    private readonly moduleRef: ModuleRef,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    await this.httpDrained(signal);
    await this.server.stopConsuming();
    await this.relay.stopAndFlush();
    await this.connection.close();
  }

  /** Waits for the HTTP grace period (ShutdownState), bounded so hook order can never deadlock. */
  private async httpDrained(signal?: string): Promise<void> {
    if (!signal) return;
    let state: ShutdownState;
    try {
      state = this.moduleRef.get(ShutdownState, { strict: false });
    } catch {
      return;
    }
    const bound = this.config.get('shutdownGraceMs', { infer: true }) + 1000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([state.drained(), new Promise((resolve) => (timer = setTimeout(resolve, bound)))]);
    clearTimeout(timer);
    this.logger.log({ signal }, 'Stopping event consumers and flushing the outbox');
  }
}
