import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { Ctx, InternalOnly } from '../../../common/auth/auth.decorators.js';
import type { CallContext } from '../../../common/auth/principal.js';
import { requireNoFields } from '../../../common/validation/validation.pipe.js';
import { Idempotent } from '../../../idempotency/idempotent.decorator.js';
import {
  CreateProductDto,
  PricingDto,
  PricingIdParams,
  ProductIdParams,
  ReplaceProductDto,
  TierDto,
} from '../../catalog/dto/product.dto.js';
import type { ProductResponse } from '../../catalog/mappers/catalog.mappers.js';
import { ProductService } from '../../catalog/services/product.service.js';
import { type CatalogAlignment, CatalogAlignmentService } from '../catalog-alignment.service.js';

const error = (code: string, message: string, details?: { field: string; message: string }[]) => ({
  schema: {
    example: {
      error: { code, message, ...(details ? { details } : {}), request_id: '7f1c2e0a-5b1e-4a43-9a37-1d3e7c1f0b11' },
      detail: message,
    },
  },
});

const TIERS = [
  { tier_name: 'base', min_units: '0', max_units: '10000000', unit_price: '0.0000003' },
  { tier_name: 'volume', min_units: '10000000', max_units: null, unit_price: '0.00000025' },
];
const PRICING = {
  pricing_type: 'usage_based',
  unit_type: 'token',
  currency: 'USD',
  free_tier_limit: '100000',
  free_tier_period: 'monthly',
  tiers: TIERS,
};
const PRODUCT_BODY = {
  product_id: 'gpt-4o-mini',
  name: 'GPT-4o Mini',
  product_code: 'GPT4O-MINI',
  description: 'OpenAI GPT-4o Mini model inference',
  category_id: 'ai_models',
  product_type: 'model_inference',
  provider: 'openai',
  features: ['fast_inference'],
  quota_limits: {},
  metadata: { model: 'gpt-4o-mini' },
  requires_subscription: false,
  pricing: PRICING,
};
const PRODUCT = { ...PRODUCT_BODY, is_active: true, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z' };
const INVALID_TIERS = error('INVALID_TIERS', 'The tier table is invalid: tiers must be contiguous from 0 and ordered', [
  { field: 'tiers[1].min_units', message: "must equal the previous tier's max_units (10000000)" },
]);
const PRODUCT_NOT_FOUND = error('PRODUCT_NOT_FOUND', 'Product nope not found');

/**
 * The admin routes the platform's tools call (SPEC section 7), internal callers only, over the same
 * services and rules as the catalog writes: every write publishes `product.catalog.changed` and is
 * audited. A product is never hard-deleted: DELETE retires it.
 */
@ApiTags('admin')
@ApiSecurity('internal')
@InternalOnly()
@ApiUnauthorizedResponse(error('UNAUTHORIZED', 'Internal service credentials required'))
@ApiForbiddenResponse(error('FORBIDDEN', 'This endpoint is for internal services only'))
@Controller('admin')
export class AdminCatalogController {
  constructor(
    private readonly products: ProductService,
    private readonly alignment: CatalogAlignmentService,
  ) {}

  @Post('products')
  @HttpCode(201)
  @Idempotent()
  @ApiOperation({ summary: 'Create a product with its pricing (as POST /products)' })
  @ApiBody({ type: CreateProductDto, examples: { 'gpt-4o-mini': { value: PRODUCT_BODY } } })
  @ApiCreatedResponse({ schema: { example: PRODUCT } })
  @ApiBadRequestResponse(INVALID_TIERS)
  @ApiConflictResponse(error('PRODUCT_EXISTS', 'A product with id gpt-4o-mini or product_code GPT4O-MINI already exists'))
  @ApiUnprocessableEntityResponse(error('CATEGORY_NOT_FOUND', 'Category nope does not exist'))
  create(@Body() dto: CreateProductDto, @Ctx() ctx: CallContext): Promise<ProductResponse> {
    return this.products.create(dto, ctx);
  }

  @Put('products/:product_id')
  @ApiOperation({
    summary: 'Replace a product (the whole product)',
    description:
      'Absent optional fields take their defaults (as in a create), except `is_active` (absent: unchanged). A given `pricing` ' +
      'replaces the pricing and its tier table; absent, the pricing is unchanged. A `product_id` in the body must be the path’s.',
  })
  @ApiBody({ type: ReplaceProductDto, examples: { 'gpt-4o-mini': { value: PRODUCT_BODY } } })
  @ApiOkResponse({ schema: { example: PRODUCT } })
  @ApiBadRequestResponse(INVALID_TIERS)
  @ApiNotFoundResponse(PRODUCT_NOT_FOUND)
  @ApiConflictResponse(error('PRODUCT_EXISTS', 'product_code GPT4O-MINI is already used'))
  @ApiUnprocessableEntityResponse(error('CATEGORY_NOT_FOUND', 'Category nope does not exist'))
  replace(@Param() params: ProductIdParams, @Body() dto: ReplaceProductDto, @Ctx() ctx: CallContext): Promise<ProductResponse> {
    return this.products.replace(params.product_id, dto, ctx);
  }

  @Delete('products/:product_id')
  @ApiOperation({
    summary: 'Retire a product (is_active false; never a hard delete)',
    description: 'Retiring a retired product changes nothing and answers the same.',
  })
  @ApiOkResponse({ schema: { example: { success: true, product_id: 'gpt-4o-mini' } } })
  @ApiNotFoundResponse(PRODUCT_NOT_FOUND)
  @ApiBody({ required: false, description: 'none, or {}', schema: { type: 'object', additionalProperties: false } })
  async retire(
    @Param() params: ProductIdParams,
    @Body() body: unknown,
    @Ctx() ctx: CallContext,
  ): Promise<{ success: true; product_id: string }> {
    requireNoFields(body); // none, or {}: unknown fields are refused as in every body
    await this.products.retire(params.product_id, ctx);
    return { success: true, product_id: params.product_id };
  }

  @Post('products/:product_id/pricing')
  @HttpCode(201)
  @Idempotent()
  @ApiOperation({ summary: "Replace a product's pricing and its whole tier table (as PUT /products/{id}/pricing)" })
  @ApiBody({ type: PricingDto, examples: { 'gpt-4o-mini': { value: PRICING } } })
  @ApiCreatedResponse({ schema: { example: PRODUCT } })
  @ApiBadRequestResponse(INVALID_TIERS)
  @ApiNotFoundResponse(PRODUCT_NOT_FOUND)
  replacePricing(@Param() params: ProductIdParams, @Body() dto: PricingDto, @Ctx() ctx: CallContext): Promise<ProductResponse> {
    return this.products.replacePricing(params.product_id, dto, ctx);
  }

  @Put('pricing/:pricing_id')
  @ApiOperation({
    summary: 'Replace one tier row, by the pricing_id the pricing response gives each tier',
    description: "The body is the whole tier; the product's table must stay contiguous from 0 and ordered, else 400 INVALID_TIERS.",
  })
  @ApiBody({ type: TierDto, examples: { base: { value: TIERS[0] } } })
  @ApiOkResponse({ schema: { example: PRODUCT } })
  @ApiBadRequestResponse(INVALID_TIERS)
  @ApiNotFoundResponse(error('PRICING_NOT_FOUND', 'Pricing 3f0b8a52-6c1e-4f7e-9a51-5d0c2f1e8a77 not found'))
  updateTier(@Param() params: PricingIdParams, @Body() dto: TierDto, @Ctx() ctx: CallContext): Promise<ProductResponse> {
    return this.products.updateTier(params.pricing_id, dto, ctx);
  }

  @Get('health/catalog-alignment')
  @ApiOperation({
    summary: 'Does the catalog hang together?',
    description:
      'Active products without a tier table, active plans including products that do not exist, active cost definitions naming ' +
      'a product that does not exist; `aligned` when all three are empty. From the in-memory catalog.',
  })
  @ApiOkResponse({
    schema: {
      example: {
        aligned: false,
        products_without_pricing: [],
        plans_with_unknown_products: [{ plan_id: 'tier_pro_001', unknown_products: ['gpt-5'] }],
        cost_definitions_without_product: [{ cost_id: 'openai-gpt-5', product_id: 'gpt-5' }],
      },
    },
  })
  catalogAlignment(): CatalogAlignment {
    return this.alignment.check();
  }
}
