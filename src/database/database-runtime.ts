import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import pg from 'pg';
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
export class DatabaseRuntime implements OnApplicationShutdown {
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
    this.url = database.url;
    this.applicationName = `${config.get('serviceName', { infer: true })}-probe`;
  }

  private readonly url: string | undefined;
  private readonly applicationName: string;
  /** PostgreSQL: the connection of the health pings, beside the pool (see `ping`) */
  private probe?: pg.Client;
  private probing?: Promise<pg.Client>;
  private closed = false;

  get isInitialized(): boolean {
    return this.dataSource.isInitialized;
  }

  /**
   * One round trip; rejects when the database cannot answer. On PostgreSQL on a connection of its
   * own, beside the pool: readiness must tell "the database is down" from "every pooled connection
   * is busy" (a saturated pool made the probe wait, and Kubernetes took a busy replica out of the
   * Service exactly when it was needed). One connection per replica; reopened after an error.
   */
  async ping(): Promise<void> {
    if (this.embedded || this.url === undefined) {
      await this.dataSource.query('SELECT 1');
      return;
    }
    const client = await this.probeClient();
    try {
      await client.query('SELECT 1');
    } catch (err) {
      this.dropProbe(client);
      throw err;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    const client = this.probe ?? (await this.probing?.catch(() => undefined));
    if (client) this.dropProbe(client);
  }

  private probeClient(): Promise<pg.Client> {
    if (this.probe) return Promise.resolve(this.probe);
    if (this.closed) return Promise.reject(new Error('shutting down'));
    this.probing ??= (async () => {
      const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 2000, application_name: this.applicationName });
      client.on('error', () => this.dropProbe(client)); // a dropped connection: the next ping opens a new one
      try {
        await client.connect();
      } catch (err) {
        void client.end().catch(() => undefined);
        throw err;
      }
      this.probe = client;
      return client;
    })().finally(() => (this.probing = undefined));
    return this.probing;
  }

  private dropProbe(client: pg.Client): void {
    if (this.probe === client) this.probe = undefined;
    void client.end().catch(() => undefined);
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
