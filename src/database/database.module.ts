import { Global, Inject, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { buildDataSourceOptions } from './data-source.options.js';
import { DatabaseRuntime } from './database-runtime.js';
import { GroupCommits } from './group-commit.js';
import { PgNotifications } from './pg-notifications.js';
import { UnitOfWork } from './unit-of-work.js';

/** Arbitrary constant: the advisory lock replicas take while one of them migrates. */
const MIGRATION_LOCK = 815_215;

/**
 * The database, everywhere (global): the TypeORM data source (entities come from the feature
 * modules' `TypeOrmModule.forFeature`), the unit of work, LISTEN/NOTIFY, the group commit queues, and what health and
 * metrics may ask about the database. Applies pending migrations at start.
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: async (config: ConfigService<AppConfig, true>) => ({
        ...(await buildDataSourceOptions({
          database: config.get('database', { infer: true }),
          serviceName: config.get('serviceName', { infer: true }),
        })),
        autoLoadEntities: true,
      }),
    }),
  ],
  providers: [UnitOfWork, DatabaseRuntime, PgNotifications, GroupCommits],
  exports: [UnitOfWork, DatabaseRuntime, PgNotifications, GroupCommits],
})
export class DatabaseModule implements OnModuleInit {
  private readonly logger = new Logger('Database');

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly runtime: DatabaseRuntime,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  /** Applies pending migrations before any feature module starts (unless MIGRATIONS_RUN=false). */
  async onModuleInit(): Promise<void> {
    const where = this.runtime.description;
    if (!this.config.get('database', { infer: true }).migrationsRun) {
      this.logger.log({ database: where }, 'Database connected; migrations not run at start (MIGRATIONS_RUN=false)');
      return;
    }
    const lock = this.runtime.embedded ? undefined : this.dataSource.createQueryRunner();
    try {
      await lock?.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      const applied = await this.dataSource.runMigrations({ transaction: 'each' });
      this.logger.log(
        { database: where, applied: applied.map((m) => m.name) },
        `Database connected; ${applied.length} migration(s) applied`,
      );
    } finally {
      if (lock) {
        await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
        await lock.release();
      }
    }
  }
}
