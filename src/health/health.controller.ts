import { Controller, Get, Logger, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/auth/auth.decorators.js';
import { type Check, HealthService, type PlatformHealth } from './health.service.js';
import { ReadinessMetrics } from './readiness.metrics.js';

const SUMMARY_EXAMPLE = {
  status: 'degraded',
  service: 'product_service',
  version: '1.0.0',
  port: 8215,
  timestamp: '2026-11-27T10:00:00.000Z',
  dependencies: {
    database: { status: 'healthy', migrations: 'applied', response_time_ms: 2 },
    nats: { status: 'unhealthy', message: 'event bus not configured' },
    account_service: { status: 'healthy', circuit: 'closed', response_time_ms: 4 },
    organization_service: { status: 'unhealthy', circuit: 'open', message: 'circuit open' },
  },
};

const READY_EXAMPLE = {
  status: 'ok',
  info: { database: { status: 'up', migrations: 'applied', response_time_ms: 2 }, lifecycle: { status: 'up', state: 'running' } },
  error: {},
  details: { database: { status: 'up', migrations: 'applied', response_time_ms: 2 }, lifecycle: { status: 'up', state: 'running' } },
};

const DEPENDENCIES_DOWN_EXAMPLE = {
  status: 'error',
  info: { database: { status: 'up', migrations: 'applied', response_time_ms: 2 } },
  error: { account_service: { status: 'down', circuit: 'closed', message: 'network error (ECONNREFUSED)', response_time_ms: 1 } },
  details: {
    database: { status: 'up', migrations: 'applied', response_time_ms: 2 },
    account_service: { status: 'down', circuit: 'closed', message: 'network error (ECONNREFUSED)', response_time_ms: 1 },
  },
};

/** The /health summary as an answer: 503 when unhealthy (the database is down), else 200. */
export async function answerSummary(health: HealthService, reply: FastifyReply): Promise<PlatformHealth> {
  const summary = await health.summary();
  if (summary.status === 'unhealthy') void reply.status(503);
  return summary;
}

/** A readiness check slower than this is logged: the kubelet's probe gives up after 3 s (deploy/k8s). */
const SLOW_READINESS_MS = 1000;

/** Public operational endpoints, outside the API prefix (SPEC section 6). */
@ApiTags('health')
@Public()
// probes must answer under any load
@SkipThrottle()
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Readiness');
  /** the last readiness verdict, to log its changes (undefined until the first probe) */
  private lastReady?: boolean;

  constructor(
    private readonly terminus: HealthCheckService,
    private readonly health: HealthService,
    private readonly readiness: ReadinessMetrics,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Platform health summary',
    description:
      'healthy: every dependency up; degraded: the database is up but NATS, the account or the organization service is down (HTTP 200); unhealthy: the database is down (HTTP 503).',
  })
  @ApiOkResponse({ description: 'healthy or degraded', schema: { example: SUMMARY_EXAMPLE } })
  @ApiServiceUnavailableResponse({
    description: 'unhealthy: the database is down',
    schema: { example: { ...SUMMARY_EXAMPLE, status: 'unhealthy' } },
  })
  summary(@Res({ passthrough: true }) reply: FastifyReply): Promise<PlatformHealth> {
    return answerSummary(this.health, reply);
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers (no dependency checks)' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: string } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    summary: 'Readiness: database reachable and migrations applied, and not shutting down',
    description: 'NATS, the account and the organization services do not fail readiness (the outbox buffers; the clients degrade).',
  })
  @ApiOkResponse({ schema: { example: READY_EXAMPLE } })
  @ApiServiceUnavailableResponse({ description: 'database down, migrations pending, or shutting down' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    const started = performance.now();
    const result = await this.run(this.health.readiness(), reply);
    const ready = result.status === 'ok';
    const checkMs = Math.round(performance.now() - started);
    // a change of verdict, or a check slow enough to risk the probe's timeout, is worth a line
    if (ready !== this.lastReady || checkMs > SLOW_READINESS_MS) {
      if (!ready) this.logger.warn({ check_ms: checkMs, failing: result.error }, 'not ready');
      else if (checkMs > SLOW_READINESS_MS) this.logger.warn({ check_ms: checkMs }, 'readiness check slow');
      else this.logger.log({ check_ms: checkMs }, this.lastReady === false ? 'ready again' : 'ready');
    }
    this.lastReady = ready;
    this.readiness.record(ready);
    return result;
  }

  @Get('dependencies')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Terminus report of every dependency: database, nats, account_service, organization_service, outbox backlog' })
  @ApiOkResponse({ description: 'every dependency up' })
  @ApiServiceUnavailableResponse({ description: 'at least one dependency down', schema: { example: DEPENDENCIES_DOWN_EXAMPLE } })
  dependencies(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.run(this.health.dependencyReport(), reply);
  }

  /** Terminus report as the body, 503 when something is down (not the API error body). */
  private async run(checks: Check[], reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.terminus.check(checks);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      void reply.status(503);
      return err.getResponse() as HealthCheckResult;
    }
  }
}
