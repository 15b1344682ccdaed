import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';

/** Where a keyed request on a grouped route was settled: in its group commit, or run again alone (a request transaction). */
export type GroupedKeyOutcome = 'group' | 'alone';

/**
 * `product_idempotency_grouped_requests_total{route,outcome}`: requests with an `Idempotency-Key`
 * on a route whose group commit settles keys (`@Idempotent({ grouped: true })`), by where they were
 * answered: `group` (their group committed them, replayed them or refused them; or, failed before
 * their group, their own error or the key's stored response), `alone` (the group did not settle them,
 * see GroupedKey: a busy or repeated key, a key still held by another request). A growing share of `alone` means keyed requests pay twice (retries of failures, many
 * replays, or keys contended across replicas). Only keyed requests are counted.
 */
@Injectable()
export class IdempotencyMetrics {
  private readonly grouped: Counter<'route' | 'outcome'>;

  constructor(registry: Registry) {
    this.grouped = new Counter({
      name: 'product_idempotency_grouped_requests_total',
      help: 'Requests with an Idempotency-Key on a grouped route, by route pattern and where they were settled (group or alone)',
      labelNames: ['route', 'outcome'],
      registers: [registry],
    });
  }

  settled(route: string, outcome: GroupedKeyOutcome): void {
    this.grouped.inc({ route, outcome });
  }
}
