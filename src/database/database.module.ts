import { Global, Inject, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { buildDataSourceOptions, usesPglite } from './data-source.options.js';
import { UnitOfWork } from './unit-of-work.js';

/** Arbitrary constant: the advisory lock replicas take while one of them migrates. */
const MIGRATION_LOCK = 815_215;

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) =>
        buildDataSourceOptions({
          database: config.get('database', { infer: true }),
          serviceName: config.get('serviceName', { infer: true }),
        }),
    }),
  ],
  providers: [UnitOfWork],
  exports: [UnitOfWork],
})
export class DatabaseModule implements OnModuleInit {
  private readonly logger = new Logger('Database');

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  /** Applies pending migrations before any feature module starts (unless MIGRATIONS_RUN=false). */
  async onModuleInit(): Promise<void> {
    const database = this.config.get('database', { infer: true });
    const where = usesPglite(database) ? `embedded PGlite (${database.pgliteDataDir})` : 'PostgreSQL';
    if (!database.migrationsRun) {
      this.logger.log({ database: where }, 'Database connected; migrations not run at start (MIGRATIONS_RUN=false)');
      return;
    }
    const lock = usesPglite(database) ? undefined : this.dataSource.createQueryRunner();
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
