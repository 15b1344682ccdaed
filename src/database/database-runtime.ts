import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { usesPglite } from './data-source.options.js';

/** The counters a `pg` Pool exposes. */
export interface PoolCounters {
  total: number;
  idle: number;
  waiting: number;
}

interface PgPoolShape {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

const isPgPool = (pool: unknown): pool is PgPoolShape =>
  typeof pool === 'object' && pool !== null && typeof (pool as PgPoolShape).totalCount === 'number';

/**
 * What the rest of the service may ask about the database itself (health, metrics, start-up):
 * which engine runs, whether it answers, whether migrations are pending, how the pool is doing.
 * The one place that decides "embedded PGlite or PostgreSQL".
 */
@Injectable()
export class DatabaseRuntime {
  /** true on embedded PGlite: one in-process connection, no pool, no LISTEN/NOTIFY between processes */
  readonly embedded: boolean;
  readonly poolSize: number;
  /** DB_PREPARED_STATEMENTS (meaningful on PostgreSQL only) */
  readonly preparedStatements: boolean;
  readonly description: string;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    config: ConfigService<AppConfig, true>,
  ) {
    const database = config.get('database', { infer: true });
    this.embedded = usesPglite(database);
    this.poolSize = this.embedded ? 1 : database.poolSize;
    this.preparedStatements = database.preparedStatements;
    this.description = this.embedded ? `embedded PGlite (${database.pgliteDataDir})` : 'PostgreSQL';
  }

  get isInitialized(): boolean {
    return this.dataSource.isInitialized;
  }

  /** One round trip; rejects when the database cannot answer. */
  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }

  migrationsPending(): Promise<boolean> {
    return this.dataSource.showMigrations();
  }

  /** The pg pool's counters, or undefined (PGlite, not connected). */
  pool(): PoolCounters | undefined {
    if (this.embedded || !this.dataSource.isInitialized) return undefined;
    const pool = (this.dataSource.driver as { master?: unknown }).master;
    return isPgPool(pool) ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } : undefined;
  }
}
