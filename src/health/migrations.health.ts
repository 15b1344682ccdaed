import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { DataSource } from 'typeorm';

/** Database reachable (with a timeout) and no migration pending. */
@Injectable()
export class MigrationsHealthIndicator {
  constructor(
    private readonly dataSource: DataSource,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async isHealthy(key: string, timeoutMs = 2000): Promise<HealthIndicatorResult> {
    const check = this.indicator.check(key);
    try {
      const pending = await withTimeout(this.dataSource.showMigrations(), timeoutMs);
      return pending ? check.down({ message: 'migrations pending' }) : check.up({ migrations: 'applied' });
    } catch (err) {
      return check.down({ message: err instanceof Error ? err.message : 'unreachable' });
    }
  }
}

export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
