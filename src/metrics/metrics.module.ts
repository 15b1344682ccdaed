import { Global, Inject, Module, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { registerDbPoolMetrics } from './db-pool.metrics.js';
import { HttpMetrics } from './http-metrics.js';
import { MetricsController } from './metrics.controller.js';

/** A Registry with the process / Node.js default metrics (CPU, memory, heap, event loop lag, GC, handles). */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Prometheus metrics. One Registry per application instance (tests run several apps in one
 * process): every module injects `Registry` and declares its own metrics on it.
 * This module adds the default process metrics, the HTTP latency histogram (a Fastify hook)
 * and the database pool gauges (read on scrape).
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [{ provide: Registry, useFactory: createRegistry }],
  exports: [Registry],
})
export class MetricsModule implements OnModuleInit {
  constructor(
    private readonly registry: Registry,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  onModuleInit(): void {
    // Routes are registered by now, but Fastify binds hooks to routes only when it becomes ready.
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (fastify && typeof fastify.addHook === 'function') new HttpMetrics(this.registry).install(fastify);
    registerDbPoolMetrics(this.registry, this.dataSource, this.config.get('database', { infer: true }).poolSize);
  }
}
