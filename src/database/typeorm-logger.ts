import { Logger as NestLogger } from '@nestjs/common';
import type { Logger as TypeOrmLoggerInterface } from 'typeorm';

/**
 * TypeORM's log output as JSON lines through the application logger, without query parameters
 * (they carry user data). Failed queries are warnings: the caller decides whether they are errors
 * (a unique violation is often an expected answer, e.g. 409).
 */
export class TypeOrmLogger implements TypeOrmLoggerInterface {
  private readonly logger = new NestLogger('Database');

  logQuery(): void {}

  logQueryError(error: string | Error, query: string): void {
    const err = error as { message?: string; code?: string };
    this.logger.warn({ query: String(query).slice(0, 500), code: err.code, error: err.message ?? String(error) }, 'query failed');
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn({ query: String(query).slice(0, 500), duration_ms: time }, 'slow query');
  }

  /** TypeORM 1.x reports migrations here ("Migration X has been executed successfully.", "No migrations are pending"). */
  logSchemaBuild(message: string): void {
    this.logger.log(message);
  }

  logMigration(message: string): void {
    this.logger.log(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(String(message));
  }
}
