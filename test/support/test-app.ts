import { Test } from '@nestjs/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { RouteOptions } from 'fastify';
import type { Writable } from 'node:stream';
import { PARAMS_PROVIDER_TOKEN } from 'nestjs-pino';
import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { AppModule } from '../../src/app.module.js';
import { APP_OPTIONS, configureApp, createAdapter, startListening } from '../../src/bootstrap.js';
import { Clock } from '../../src/common/clock/clock.js';
import { loadConfig } from '../../src/config/app-config.js';
import { loggerOptions } from '../../src/common/logging/logger.options.js';
import { createTestDatabase } from './database.js';

export const API = '/api/v1/product';
export const INTERNAL_SECRET = 'test-internal-secret';
/** Headers of an internal platform service. */
export const INTERNAL = { 'X-Internal-Service': 'true', 'X-Internal-Service-Secret': INTERNAL_SECRET };

export interface TestApp {
  app: INestApplication;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  /** http://127.0.0.1:<HEALTH_PORT>, when the test's env sets HEALTH_PORT (0: a free port) */
  healthUrl?: string;
  /** The PostgreSQL URL of this app's database (undefined on PGlite). */
  databaseUrl?: string;
  close: () => Promise<void>;
}

export interface TestAppOptions {
  /** environment on top of the test defaults */
  env?: Record<string, string | undefined>;
  /** a clock to install instead of the system clock */
  clock?: Clock;
  /** reuse an existing database URL instead of creating a fresh one */
  databaseUrl?: string;
  /** use embedded PGlite (in memory) instead of PostgreSQL */
  pglite?: boolean;
  /** extra modules beside AppModule (test doubles of ports not bound yet) */
  imports?: ModuleMetadata['imports'];
  /** providers to replace (Test.overrideProvider(...).useValue(...)) */
  overrides?: Array<{ provide: unknown; useValue: unknown }>;
  /** filled with every route Fastify registers (its onRoute hook, installed before any route exists) */
  routes?: RegisteredRoute[];
  /** where the app's log lines go (the service's own logger options, LOG_LEVEL from env), instead of stdout */
  logSink?: Writable;
}

/** One entry of Fastify's route table: a method (HEAD routes of GETs included) and the URL pattern. */
export interface RegisteredRoute {
  method: string;
  url: string;
}

/**
 * The whole AppModule on Fastify, configured exactly as main.ts does, listening on a free port,
 * against a fresh PostgreSQL database (or PGlite). NATS is off unless the test's env turns it on.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = options.pglite || options.databaseUrl ? undefined : await createTestDatabase();
  const databaseUrl = options.pglite ? 'pglite://memory' : (options.databaseUrl ?? db?.url);
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: databaseUrl,
    NATS_URL: 'off',
    INTERNAL_SERVICE_SECRET: INTERNAL_SECRET,
    AUTH_TRUST_USER_HEADER: 'true',
    ACCOUNT_SERVICE_URL: 'http://127.0.0.1:9',
    ORGANIZATION_SERVICE_URL: 'http://127.0.0.1:9',
    // generous: the fake account and organization services run in this jest worker's event loop, beside the app; a
    // burst of lookups on a busy CI runner missed 500 ms once and opened the circuit (tests of timeouts set their own)
    CLIENT_TIMEOUT_MS: '2000',
    SWEEP_INTERVAL_MS: '1h',
    // one jest worker runs many apps: their idle collections would pause it at random (test/idle-memory.e2e-spec.ts)
    MEMORY_IDLE_GC_MS: '0',
    ...options.env,
  };
  const config = loadConfig(env);
  let builder = Test.createTestingModule({ imports: [AppModule.forRoot(env, config), ...(options.imports ?? [])] });
  if (options.clock) builder = builder.overrideProvider(Clock).useValue(options.clock);
  if (options.logSink) {
    // nestjs-pino builds one root logger per module registry (per test file): the first app's sink wins
    const params = loggerOptions(config);
    builder = builder.overrideProvider(PARAMS_PROVIDER_TOKEN).useValue({ ...params, pinoHttp: [params.pinoHttp, options.logSink] });
  }
  for (const { provide, useValue } of options.overrides ?? []) builder = builder.overrideProvider(provide).useValue(useValue);
  let app: NestFastifyApplication | undefined;
  let ports: { port: number; healthPort?: number };
  try {
    const moduleRef = await builder.compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(createAdapter(config.http), APP_OPTIONS);
    const routes = options.routes;
    if (routes) {
      app
        .getHttpAdapter()
        .getInstance()
        .addHook('onRoute', (route: RouteOptions) => {
          for (const method of [route.method].flat()) routes.push({ method, url: route.url });
        });
    }
    configureApp(app);
    ports = await startListening(app, config.http, { port: 0, host: '127.0.0.1' });
    await app.startAllMicroservices();
  } catch (err) {
    // a failed start must not leave its database behind
    await app?.close().catch(() => undefined);
    await db?.drop();
    throw err;
  }
  const started = app;
  return {
    app: started,
    baseUrl: `http://127.0.0.1:${ports.port}`,
    healthUrl: ports.healthPort === undefined ? undefined : `http://127.0.0.1:${ports.healthPort}`,
    databaseUrl: options.pglite ? undefined : databaseUrl,
    close: async () => {
      await started.close();
      await db?.drop();
    },
  };
}
