import { Controller, Get, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Ctx } from '../../common/auth/auth.decorators.js';
import { canActFor, type CallContext } from '../../common/auth/principal.js';
import { forbidden } from '../../common/errors/domain-error.js';
import { errorExample } from '../catalog/controllers/examples.js';
import { ApiProductNotFound } from '../catalog/controllers/openapi.decorators.js';
import { UsageQuotaQuery } from '../usage/dto/usage.dto.js';
import { AvailabilityService, type QuotaResponse } from './availability.service.js';

/** Where a user's plan limits on a product stand (SPEC section 8). Users read their own; internal callers anyone's. */
@ApiTags('usage')
@Controller('usage')
export class UsageQuotaController {
  constructor(private readonly availability: AvailabilityService) {}

  @Get('quota')
  @ApiOperation({
    summary: "A user's plan limits on a product: limit, used, remaining and reset time of each; has_access as availability says",
    description:
      "Limits come from the plan of the user's entitling subscription (of `organization_id`, else the personal one), keys = the " +
      "product's type or id. Counts (daily_requests) are integers, units (period_units) decimal strings; `remaining` is never " +
      'negative. No entitling subscription or no limit: `limits: []`. `has_access` is false once a limit is used up.',
  })
  @ApiOkResponse({
    schema: {
      example: {
        product_id: 'gpt-4o-mini',
        limits: [
          { key: 'model_inference', kind: 'daily_requests', limit: 100, used: 42, remaining: 58, resets_at: '2026-11-26T00:00:00.000Z' },
        ],
        has_access: true,
      },
    },
  })
  @ApiForbiddenResponse({ schema: { example: errorExample('FORBIDDEN', 'You may only read your own quota') } })
  @ApiProductNotFound()
  quota(@Query() query: UsageQuotaQuery, @Ctx() ctx: CallContext, @Res({ passthrough: true }) reply: FastifyReply): Promise<QuotaResponse> {
    if (!canActFor(ctx.principal, query.user_id)) throw forbidden('You may only read your own quota');
    void reply.header('Cache-Control', 'no-store');
    return this.availability.quota(query.product_id, query.user_id, query.organization_id, ctx);
  }
}
