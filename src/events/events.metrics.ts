import { Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { Clock } from '../common/clock/clock.js';
import { UnitOfWork } from '../database/unit-of-work.js';

/**
 * The event metrics, on the app's prom-client Registry: counters by type, and the outbox backlog
 * and age of its oldest unpublished event read from the database when Prometheus scrapes.
 */
@Injectable()
export class EventsMetrics {
  private readonly logger = new Logger('EventsMetrics');
  readonly published: Counter<'type'>;
  readonly handled: Counter<'type'>;
  readonly failed: Counter<'type'>;
  readonly deadLettered: Counter<'type'>;

  constructor(registry: Registry, uow: UnitOfWork, clock: Clock) {
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: ['type'] as const, registers: [registry] });
    this.published = counter('product_events_published_total', 'Events relayed from the outbox to JetStream, by type');
    this.handled = counter('product_events_handled_total', 'Consumed events handled and acknowledged, by type');
    this.failed = counter(
      'product_events_failed_total',
      'Consumed event deliveries whose handler failed (retried or dead-lettered), by type',
    );
    this.deadLettered = counter('product_events_dead_lettered_total', 'Consumed events copied to the dead-letter subject, by type');

    let pending: Promise<{ backlog: number; oldestAgeSeconds: number }> | undefined;
    const stats = () => {
      // one query per scrape for both gauges
      pending ??= uow
        .run(async (tx) => {
          const [row] = await tx.manager.query<{ backlog: number; oldest: Date | string | null }[]>(
            `SELECT count(*)::int AS backlog, min(created_at) AS oldest FROM outbox_events WHERE published_at IS NULL`,
          );
          const oldest = row?.oldest ? new Date(row.oldest).getTime() : undefined;
          return {
            backlog: Number(row?.backlog ?? 0),
            oldestAgeSeconds: oldest === undefined ? 0 : Math.max(0, (clock.now().getTime() - oldest) / 1000),
          };
        })
        .catch((err: unknown) => {
          this.logger.warn({ err }, 'outbox metrics query failed');
          return { backlog: 0, oldestAgeSeconds: 0 };
        })
        .finally(() => setTimeout(() => (pending = undefined), 0));
      return pending;
    };
    new Gauge({
      name: 'product_outbox_backlog',
      help: 'Events written to the outbox and not yet published to JetStream',
      registers: [registry],
      async collect() {
        this.set((await stats()).backlog);
      },
    });
    new Gauge({
      name: 'product_outbox_oldest_age_seconds',
      help: 'Age of the oldest unpublished outbox event (0 when none)',
      registers: [registry],
      async collect() {
        this.set((await stats()).oldestAgeSeconds);
      },
    });
  }
}
