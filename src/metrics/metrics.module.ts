import { Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { DatabaseRuntime } from '../database/database-runtime.js';
import { GroupCommits } from '../database/group-commit.js';
import { registerDbPoolMetrics } from './db-pool.metrics.js';
import { registerGroupCommitMetrics } from './group-commit.metrics.js';
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
 * process): the modules that declare metrics (events, clients) import this module and inject
 * `Registry`. This module adds the default process metrics, the HTTP latency histogram (a Fastify
 * hook), the database pool gauges and the group commits' counters (read on scrape), and serves GET /metrics.
 */
@Module({
  controllers: [MetricsController],
  providers: [{ provide: Registry, useFactory: createRegistry }],
  exports: [Registry],
})
export class MetricsModule implements OnModuleInit {
  constructor(
    private readonly registry: Registry,
    private readonly adapterHost: HttpAdapterHost,
    private readonly database: DatabaseRuntime,
    private readonly groupCommits: GroupCommits,
  ) {}

  onModuleInit(): void {
    // Routes are registered by now, but Fastify binds hooks to routes only when it becomes ready.
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (fastify && typeof fastify.addHook === 'function') new HttpMetrics(this.registry).install(fastify);
    registerDbPoolMetrics(this.registry, this.database);
    registerGroupCommitMetrics(this.registry, this.groupCommits);
  }
}
