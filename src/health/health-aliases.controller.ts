import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/auth/auth.decorators.js';
import { answerSummary } from './health.controller.js';
import { HealthService, type PlatformHealth } from './health.service.js';

/** Where the platform's tools also look for the /health summary (SPEC section 7); served outside the API prefix. */
export const HEALTH_ALIAS_PATHS = ['api/v1/products/health', 'api/v1/product/health'] as const;

const ALIAS_DESCRIPTION = 'The same answer as `GET /health` (status 200, or 503 when unhealthy), at the path the platform’s tools call.';

/** GET /api/v1/products/health and GET /api/v1/product/health: the /health summary under other names. */
@ApiTags('health')
@Public()
// probes must answer under any load
@SkipThrottle()
@Controller()
export class HealthAliasesController {
  constructor(private readonly health: HealthService) {}

  @Get(HEALTH_ALIAS_PATHS[0])
  @ApiOperation({ summary: 'Platform health summary (alias of /health)', description: ALIAS_DESCRIPTION })
  @ApiOkResponse({ description: 'healthy or degraded', schema: { example: { status: 'healthy', service: 'product_service', port: 8215 } } })
  @ApiServiceUnavailableResponse({ description: 'unhealthy: the database is down' })
  products(@Res({ passthrough: true }) reply: FastifyReply): Promise<PlatformHealth> {
    return answerSummary(this.health, reply);
  }

  @Get(HEALTH_ALIAS_PATHS[1])
  @ApiOperation({ summary: 'Platform health summary (alias of /health)', description: ALIAS_DESCRIPTION })
  @ApiOkResponse({ description: 'healthy or degraded', schema: { example: { status: 'healthy', service: 'product_service', port: 8215 } } })
  @ApiServiceUnavailableResponse({ description: 'unhealthy: the database is down' })
  product(@Res({ passthrough: true }) reply: FastifyReply): Promise<PlatformHealth> {
    return answerSummary(this.health, reply);
  }
}
