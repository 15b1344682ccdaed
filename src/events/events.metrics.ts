import { Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { type OutboxBacklog, OutboxStats } from './outbox/outbox.stats.js';

/**
 * The event metrics, on the app's prom-client Registry: counters by type, and the outbox backlog
 * and age of its oldest unpublished event, read from the database when Prometheus scrapes.
 */
@Injectable()
export class EventsMetrics {
  private readonly logger = new Logger('EventsMetrics');
  readonly published: Counter<'type'>;
  readonly handled: Counter<'type'>;
  readonly failed: Counter<'type'>;
  readonly deadLettered: Counter<'type'>;
  readonly parked: Counter<'type'>;

  constructor(registry: Registry, stats: OutboxStats) {
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: ['type'] as const, registers: [registry] });
    this.published = counter('product_events_published_total', 'Events relayed from the outbox to JetStream, by type');
    this.handled = counter('product_events_handled_total', 'Consumed events handled and acknowledged, by type');
    this.failed = counter(
      'product_events_failed_total',
      'Consumed event deliveries whose handler failed (retried or dead-lettered), by type',
    );
    this.deadLettered = counter('product_events_dead_lettered_total', 'Consumed events copied to the dead-letter subject, by type');
    this.parked = counter(
      'product_events_parked_total',
      'Outbox events the bus refused for good (larger than it takes), moved to outbox_parked_events, by type',
    );

    // The query starts after the scrape's synchronous collectors ran (setImmediate), so the DB pool
    // gauges describe the pool as the service uses it, not as this scrape's own query does.
    const read = async (): Promise<OutboxBacklog> => {
      await new Promise((resolve) => setImmediate(resolve));
      return stats.read().catch((err: unknown) => {
        this.logger.warn({ err }, 'outbox metrics query failed');
        return { backlog: 0, oldestAgeSeconds: 0, parked: 0 };
      });
    };
    new Gauge({
      name: 'product_outbox_backlog',
      help: 'Events written to the outbox and not yet published to JetStream',
      registers: [registry],
      async collect() {
        this.set((await read()).backlog);
      },
    });
    new Gauge({
      name: 'product_outbox_oldest_age_seconds',
      help: 'Age of the oldest unpublished outbox event (0 when none)',
      registers: [registry],
      async collect() {
        this.set((await read()).oldestAgeSeconds);
      },
    });
    new Gauge({
      name: 'product_outbox_parked_events',
      help: 'Outbox events the bus refused for good, waiting in outbox_parked_events for an operator (see the runbook)',
      registers: [registry],
      async collect() {
        this.set((await read()).parked);
      },
    });
  }
}
