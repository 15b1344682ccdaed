import { Gauge, type Registry } from 'prom-client';
import type { DatabaseRuntime } from '../database/database-runtime.js';

/**
 * Database pool gauges, read from the pg Pool (DatabaseRuntime.pool) when
 * Prometheus scrapes; nothing runs on the request path.
 *
 * - `product_db_pool_max`: configured size (`DB_POOL_SIZE`);
 * - `product_db_pool_total`: connections open (busy + idle);
 * - `product_db_pool_idle`: open and unused;
 * - `product_db_pool_waiting`: queries queued for a free connection (> 0 means the pool is the bottleneck).
 *
 * On embedded PGlite there is exactly one in-process connection and no pool: max and total are 1,
 * idle and waiting are not reported (PGlite has no such counters).
 */
export function registerDbPoolMetrics(registry: Registry, database: DatabaseRuntime): void {
  const embedded = database.embedded;

  new Gauge({
    name: 'product_db_pool_max',
    help: 'Configured maximum number of database connections (DB_POOL_SIZE; 1 on embedded PGlite)',
    registers: [registry],
    collect() {
      this.set(database.poolSize);
    },
  });
  new Gauge({
    name: 'product_db_pool_total',
    help: 'Database connections currently open, busy or idle (1 on embedded PGlite)',
    registers: [registry],
    collect() {
      const p = database.pool();
      if (p) this.set(p.total);
      else if (embedded) this.set(database.isInitialized ? 1 : 0);
    },
  });
  if (embedded) return;
  new Gauge({
    name: 'product_db_pool_idle',
    help: 'Database connections open and idle',
    registers: [registry],
    collect() {
      const p = database.pool();
      if (p) this.set(p.idle);
    },
  });
  new Gauge({
    name: 'product_db_pool_waiting',
    help: 'Queries waiting for a free database connection',
    registers: [registry],
    collect() {
      const p = database.pool();
      if (p) this.set(p.waiting);
    },
  });
}
