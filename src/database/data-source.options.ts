import { mkdirSync } from 'node:fs';
import pg from 'pg';
import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { MIGRATIONS } from './migrations/index.js';
import { SnakeNamingStrategy } from './snake-naming.strategy.js';
import { TypeOrmLogger } from './typeorm-logger.js';

/** True when the configuration selects embedded PGlite rather than a PostgreSQL server. */
export const usesPglite = (database: AppConfig['database']): boolean => database.url === undefined;

/**
 * The pool's connections, each with an 'error' listener for its whole life. pg-pool listens only
 * while a connection is idle: an error arriving while one is checked out but between two queries
 * (PostgreSQL terminating it while a transaction awaits something else, such as the relay awaiting
 * PubAcks) was an unhandled 'error' event, i.e. a crash (found by the chaos suite's fast shutdown).
 * Nothing else to do: the connection is closed, its next query fails, and the pool drops it.
 */
class PooledClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

/**
 * The one data-source definition, shared by Nest (DatabaseModule) and the TypeORM CLI (ormconfig.ts).
 * PostgreSQL when DATABASE_URL is set; embedded PGlite otherwise (loaded only then: its WebAssembly
 * Postgres is a large module a PostgreSQL deployment never needs). Schema only from migrations.
 * Entities: in the application each feature module registers its own (`TypeOrmModule.forFeature`,
 * collected by `autoLoadEntities`); the CLI passes its list.
 */
export async function buildDataSourceOptions(
  config: Pick<AppConfig, 'database' | 'serviceName'>,
  entities: DataSourceOptions['entities'] = [],
): Promise<DataSourceOptions> {
  const common = {
    type: 'postgres' as const,
    entities,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each' as const,
    migrationsRun: false, // run explicitly by DatabaseModule so start-up logs say so
    synchronize: false,
    namingStrategy: new SnakeNamingStrategy(),
    logger: new TypeOrmLogger(),
    maxQueryExecutionTime: 1000,
  };
  if (usesPglite(config.database)) {
    const dataDir = config.database.pgliteDataDir;
    if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
    const { PGliteDriver } = await import('typeorm-pglite');
    return { ...common, driver: new PGliteDriver({ dataDir }).driver };
  }
  return {
    ...common,
    // the pg this module imports (bundled with the service): TypeORM would otherwise require its own
    // copy from node_modules at start-up (~30 files: ~35 ms), and look for pg-native, not installed
    // (false, not undefined: TypeORM loads it unless given a value that is not null or undefined)
    driver: pg,
    nativeDriver: false,
    url: config.database.url,
    extra: {
      max: config.database.poolSize,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
      application_name: config.serviceName,
      Client: PooledClient,
    },
  };
}
