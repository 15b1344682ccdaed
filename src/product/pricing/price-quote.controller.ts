import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Ctx, Public } from '../../common/auth/auth.decorators.js';
import type { CallContext } from '../../common/auth/principal.js';
import { Idempotent } from '../../idempotency/idempotent.decorator.js';
import { errorExample } from '../catalog/controllers/examples.js';
import type { PriceQuoteResponse } from './price-quote.js';
import { PriceQuoteService } from './price-quote.service.js';
import { PriceQuoteDto } from './pricing.dto.js';
import { type PriceQuoteBody, PriceQuotePipe } from './price-quote.validation.js';

/** The route as the platform calls it: outside the /api/v1/product prefix (bootstrap.ts excludes it). */
export const PRICE_QUOTE_PATH = 'api/v1/pricing/calculate';

const QUOTE_EXAMPLE: PriceQuoteResponse = {
  success: true,
  product_id: 'minio_storage',
  quantity: '2147483648',
  unit_type: 'byte',
  unit_price: '0.000000000012',
  total_price: '0.024696061952',
  total_cost: '0.024696061952',
  currency: 'USD',
  pricing_found: true,
  pricing_model_id: 'minio_storage',
  tier_name: 'base',
  tier_breakdown: [
    {
      tier_name: 'free_tier',
      min_quantity: '0',
      max_quantity: '1073741824',
      unit_price: '0',
      currency: 'USD',
      units: '1073741824',
      cost: '0',
    },
    {
      tier_name: 'base',
      min_quantity: '0',
      max_quantity: '107374182400',
      unit_price: '0.000000000023',
      currency: 'USD',
      units: '1073741824',
      cost: '0.024696061952',
    },
  ],
  plan_discount_applied: false,
  plan_discount_amount: '0',
  metadata: { tier_code: null, billing_interval: 'monthly', product_type: 'storage_minio', free_tier_applied: true },
};

/** Price quotes for the platform's billing service (SPEC section 7). */
@ApiTags('pricing')
@Controller()
export class PriceQuoteController {
  constructor(private readonly quotes: PriceQuoteService) {}

  @Post(PRICE_QUOTE_PATH)
  @HttpCode(200)
  @Public()
  @Idempotent()
  @ApiOperation({
    summary: 'Quote the exact cost of `quantity` units of a product (public; with user_id: that user only, or internal callers)',
    description:
      "Without `user_id`: the list price of units [0, quantity) over the paid tiers (no free tier). With `user_id` (and `subscription_id`): the next `quantity` units after that user's usage this period, free tier included — what recording them now would cost. Nothing is stored but, like every POST, an `Idempotency-Key` replays the first answer for 24 h (and a malformed key is 400).",
  })
  @ApiBody({
    type: PriceQuoteDto,
    examples: {
      'list price': { value: { product_id: 'gpt-4o-mini', quantity: 1500, unit_type: 'token' } },
      'for a user this period': {
        value: { product_id: 'minio_storage', quantity: '2147483648', user_id: 'user_123', subscription_id: null },
      },
    },
  })
  @ApiOkResponse({ description: 'the quote (money and quantities as decimal strings)', schema: { example: QUOTE_EXAMPLE } })
  @ApiBadRequestResponse({
    description: 'invalid fields, or a unit_type that differs from the product’s',
    schema: {
      example: errorExample('VALIDATION_ERROR', 'Request validation failed', [
        { field: 'unit_type', message: "unit_type request does not match the product's unit_type byte" },
      ]),
    },
  })
  @ApiUnauthorizedResponse({ schema: { example: errorExample('UNAUTHORIZED', 'Credentials required for price quotes') } })
  @ApiForbiddenResponse({ schema: { example: errorExample('FORBIDDEN', 'Users may only ask for their own price quotes') } })
  @ApiNotFoundResponse({
    description: 'unknown or retired product',
    schema: { example: errorExample('PRODUCT_NOT_FOUND', 'Product nope not found') },
  })
  calculate(@Body(PriceQuotePipe) dto: PriceQuoteBody, @Ctx() ctx: CallContext): Promise<PriceQuoteResponse> {
    return this.quotes.quote(dto, ctx);
  }
}
