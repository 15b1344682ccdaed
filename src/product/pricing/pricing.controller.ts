import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Ctx, Public } from '../../common/auth/auth.decorators.js';
import type { CallContext } from '../../common/auth/principal.js';
import { errorExample, PRICING_EXAMPLE, PRODUCT_EXAMPLE } from '../catalog/controllers/examples.js';
import { ApiProductNotFound } from '../catalog/controllers/openapi.decorators.js';
import { sendView } from '../../common/http/send-view.js';
import { IdentifierPipe } from '../../common/validation/identifier.pipe.js';
import { CatalogCache } from '../catalog/catalog-cache.js';
import { type AvailabilityResponse, AvailabilityService } from './availability.service.js';
import { AvailabilityQueryDto, PricingQueryDto } from './pricing.dto.js';
import { type PricingResponse, PricingService } from './pricing.service.js';

/** What a product costs and whether it can be used, for anyone or for one user this period. */
@ApiTags('catalog')
@Controller('products')
export class PricingController {
  constructor(
    private readonly pricingService: PricingService,
    private readonly availabilityService: AvailabilityService,
    private readonly cache: CatalogCache,
  ) {}

  @Get(':product_id/pricing')
  @Public()
  @ApiOperation({
    summary: "A product's pricing; with user_id (and subscription_id) the effective pricing for that user this period",
    description:
      "With `user_id`, `unit_price` is the marginal price of that user's next unit this period. Users may only ask for their own.",
  })
  @ApiOkResponse({ schema: { example: PRICING_EXAMPLE } })
  @ApiForbiddenResponse({ schema: { example: errorExample('FORBIDDEN', 'Users may only ask for their own effective pricing') } })
  @ApiProductNotFound()
  @ApiParam({ name: 'product_id', example: 'gpt-4o-mini' })
  async pricing(
    @Param('product_id', IdentifierPipe) productId: string,
    @Query() query: PricingQueryDto,
    @Ctx() ctx: CallContext,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PricingResponse | string | undefined> {
    if (query.user_id === undefined) return sendView(req, reply, this.pricingService.listPricingView(productId), this.cache.publicControl);
    // one user's figures, changing with each record: never stored by a cache
    void reply.header('Cache-Control', 'no-store');
    return this.pricingService.effectivePricing(productId, query.user_id, query.subscription_id, ctx);
  }

  @Get(':product_id/availability')
  @Public()
  @ApiOperation({
    summary: 'Is the product available (to this user / organization)? 200, also for an unknown product',
    description: 'With `user_id`: that user or internal callers only (401 without credentials, 403 for another user).',
  })
  @ApiForbiddenResponse({ schema: { example: errorExample('FORBIDDEN', 'Users may only ask for their own availability') } })
  @ApiOkResponse({
    description: 'unknown product: `{"available": false, "reason": "PRODUCT_NOT_FOUND"}`; retired: reason `PRODUCT_INACTIVE`',
    schema: { example: { available: true, product: PRODUCT_EXAMPLE } },
  })
  @ApiParam({ name: 'product_id', example: 'gpt-4o-mini' })
  availability(
    @Param('product_id', IdentifierPipe) productId: string,
    @Query() query: AvailabilityQueryDto,
    @Ctx() ctx: CallContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AvailabilityResponse> {
    if (query.user_id !== undefined) void reply.header('Cache-Control', 'no-store');
    return this.availabilityService.availability(productId, { userId: query.user_id, organizationId: query.organization_id }, ctx);
  }
}
