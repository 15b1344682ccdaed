import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Ctx, Public } from '../../common/auth/auth.decorators.js';
import type { CallContext } from '../../common/auth/principal.js';
import { errorExample, PRICING_EXAMPLE, PRODUCT_EXAMPLE } from '../catalog/controllers/examples.js';
import { ApiProductNotFound } from '../catalog/controllers/openapi.decorators.js';
import { ProductIdParams } from '../catalog/dto/product.dto.js';
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
  ) {}

  @Get(':product_id/pricing')
  @Public()
  @ApiOperation({
    summary: "A product's pricing; with user_id (and subscription_id) the effective pricing for that user this period",
    description:
      "With `user_id`, `unit_price` is the marginal price of that user's next unit this period. Users may only ask for their own.",
  })
  @ApiOkResponse({ schema: { example: PRICING_EXAMPLE } })
  @ApiForbiddenResponse({ schema: { example: errorExample('FORBIDDEN', 'Users may only read their own effective pricing') } })
  @ApiProductNotFound()
  pricing(@Param() params: ProductIdParams, @Query() query: PricingQueryDto, @Ctx() ctx: CallContext): Promise<PricingResponse> {
    return this.pricingService.pricing(params.product_id, query, ctx);
  }

  @Get(':product_id/availability')
  @Public()
  @ApiOperation({ summary: 'Is the product available (to this user / organization)? Always 200, also for an unknown product' })
  @ApiOkResponse({
    description: 'unknown product: `{"available": false, "reason": "PRODUCT_NOT_FOUND"}`; retired: reason `PRODUCT_INACTIVE`',
    schema: { example: { available: true, product: PRODUCT_EXAMPLE } },
  })
  availability(
    @Param() params: ProductIdParams,
    @Query() query: AvailabilityQueryDto,
    @Ctx() ctx: CallContext,
  ): Promise<AvailabilityResponse> {
    return this.availabilityService.availability(params.product_id, { userId: query.user_id, organizationId: query.organization_id }, ctx);
  }
}
