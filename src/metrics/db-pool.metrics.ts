import { Gauge, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';

/** The counters a `pg` Pool exposes. */
interface PgPoolCounters {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

const isPgPool = (pool: unknown): pool is PgPoolCounters =>
  typeof pool === 'object' && pool !== null && typeof (pool as PgPoolCounters).totalCount === 'number';

/**
 * Database pool gauges, read from the pg Pool behind TypeORM (`dataSource.driver.master`) when
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
export function registerDbPoolMetrics(registry: Registry, dataSource: DataSource, poolSize: number): void {
  const pool = (): unknown => (dataSource.isInitialized ? (dataSource.driver as { master?: unknown }).master : undefined);
  const embedded = (): boolean => !!(dataSource.options as { driver?: unknown }).driver;

  new Gauge({
    name: 'product_db_pool_max',
    help: 'Configured maximum number of database connections (DB_POOL_SIZE; 1 on embedded PGlite)',
    registers: [registry],
    collect() {
      this.set(embedded() ? 1 : poolSize);
    },
  });
  new Gauge({
    name: 'product_db_pool_total',
    help: 'Database connections currently open, busy or idle (1 on embedded PGlite)',
    registers: [registry],
    collect() {
      const p = pool();
      if (isPgPool(p)) this.set(p.totalCount);
      else if (embedded()) this.set(dataSource.isInitialized ? 1 : 0);
    },
  });
  if (embedded()) return;
  new Gauge({
    name: 'product_db_pool_idle',
    help: 'Database connections open and idle',
    registers: [registry],
    collect() {
      const p = pool();
      if (isPgPool(p)) this.set(p.idleCount);
    },
  });
  new Gauge({
    name: 'product_db_pool_waiting',
    help: 'Queries waiting for a free database connection',
    registers: [registry],
    collect() {
      const p = pool();
      if (isPgPool(p)) this.set(p.waitingCount);
    },
  });
}
