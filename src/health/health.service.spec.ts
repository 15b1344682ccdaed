import type { ConfigService } from '@nestjs/config';
import type { HttpAdapterHost } from '@nestjs/core';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import type { AppConfig } from '../config/app-config.js';
import { HealthService, sharedWhileRunning } from './health.service.js';
import type { AccountServiceHealthIndicator } from './indicators/account-service.health.js';
import type { DatabaseHealthIndicator } from './indicators/database.health.js';
import type { LifecycleHealthIndicator } from './indicators/lifecycle.health.js';
import type { NatsHealthIndicator } from './indicators/nats.health.js';
import type { OrganizationServiceHealthIndicator } from './indicators/organization-service.health.js';
import type { OutboxHealthIndicator } from './indicators/outbox.health.js';

type Up = Record<'database' | 'nats' | 'account_service' | 'organization_service', boolean>;

const result = (key: string, up: boolean, details: Record<string, unknown> = {}): HealthIndicatorResult => ({
  [key]: { status: up ? 'up' : 'down', ...details },
});

function service(up: Up, natsUpDetails: Record<string, unknown> = {}): HealthService {
  const config = {
    get: (key: string) => ({ serviceName: 'product_service', version: '1.0.0', http: { port: 8215 } })[key],
  } as unknown as ConfigService<AppConfig, true>;
  return new HealthService(
    {
      isHealthy: (key: string) => Promise.resolve(result(key, up.database, { migrations: 'applied' })),
    } as unknown as DatabaseHealthIndicator,
    {
      isHealthy: (key: string) => result(key, up.nats, up.nats ? natsUpDetails : { message: 'event bus not configured' }),
    } as unknown as NatsHealthIndicator,
    { isHealthy: (key: string) => Promise.resolve(result(key, up.account_service)) } as unknown as AccountServiceHealthIndicator,
    { isHealthy: (key: string) => Promise.resolve(result(key, up.organization_service)) } as unknown as OrganizationServiceHealthIndicator,
    { isHealthy: (key: string) => result(key, true) } as unknown as LifecycleHealthIndicator,
    config,
    { isHealthy: (key: string) => Promise.resolve(result(key, true, { backlog: 0 })) } as unknown as OutboxHealthIndicator,
    { httpAdapter: undefined } as unknown as HttpAdapterHost,
  );
}

const allUp: Up = { database: true, nats: true, account_service: true, organization_service: true };

describe('HealthService.summary', () => {
  it('should report a bus turned off on purpose as disabled without degrading the service', async () => {
    const summary = await service(allUp, { state: 'disabled', message: 'NATS_URL=off' }).summary();
    expect(summary.status).toBe('healthy');
    expect(summary.dependencies.nats).toEqual({ status: 'disabled', state: 'disabled', message: 'NATS_URL=off' });
  });

  it('should be healthy when every dependency is up', async () => {
    const summary = await service(allUp).summary();
    expect(summary).toMatchObject({
      status: 'healthy',
      service: 'product_service',
      version: '1.0.0',
      port: 8215,
      dependencies: {
        database: { status: 'healthy', migrations: 'applied' },
        nats: { status: 'healthy' },
        account_service: { status: 'healthy' },
        organization_service: { status: 'healthy' },
      },
    });
  });

  it.each(['nats', 'account_service', 'organization_service'] as const)('should be degraded when only %s is down', async (name) => {
    const summary = await service({ ...allUp, [name]: false }).summary();
    expect(summary.status).toBe('degraded');
    expect(summary.dependencies[name].status).toBe('unhealthy');
  });

  it('should be unhealthy when the database is down, whatever else is up', async () => {
    expect((await service({ ...allUp, database: false }).summary()).status).toBe('unhealthy');
    expect((await service({ database: false, nats: false, account_service: false, organization_service: false }).summary()).status).toBe(
      'unhealthy',
    );
  });

  it('should keep the details and drop the indicator status', async () => {
    const summary = await service({ ...allUp, nats: false }).summary();
    expect(summary.dependencies.nats).toEqual({ status: 'unhealthy', message: 'event bus not configured' });
  });
});

describe('HealthService.dependencyReport', () => {
  it('should add the outbox backlog to the dependencies but not to the summary', async () => {
    const svc = service(allUp);
    const report = await Promise.all(svc.dependencyReport().map((check) => Promise.resolve(check())));
    expect(report.map((r) => Object.keys(r)[0])).toEqual(['database', 'nats', 'account_service', 'organization_service', 'outbox']);
    expect(Object.keys((await svc.summary()).dependencies)).not.toContain('outbox');
  });
});

describe('sharedWhileRunning', () => {
  const deferred = () => {
    let resolve!: (r: HealthIndicatorResult) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<HealthIndicatorResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };

  it('gives the calls made while a check runs that check, and starts a new one after it ends', async () => {
    const runs: ReturnType<typeof deferred>[] = [];
    const check = sharedWhileRunning(() => {
      runs.push(deferred());
      return runs[runs.length - 1].promise;
    });
    const burst = [check(), check(), check()];
    expect(runs).toHaveLength(1);
    runs[0].resolve(result('account_service', false));
    expect(await Promise.all(burst)).toEqual([1, 2, 3].map(() => result('account_service', false)));
    // ended: the next call asks again and sees the new state
    const next = check();
    expect(runs).toHaveLength(2);
    runs[1].resolve(result('account_service', true));
    expect(await next).toEqual(result('account_service', true));
  });

  it('starts a new check after one that failed', async () => {
    let calls = 0;
    const check = sharedWhileRunning(() => (++calls === 1 ? Promise.reject(new Error('boom')) : Promise.resolve(result('database', true))));
    await expect(Promise.all([check(), check()])).rejects.toThrow('boom');
    expect(calls).toBe(1);
    await expect(check()).resolves.toEqual(result('database', true));
    expect(calls).toBe(2);
  });
});
