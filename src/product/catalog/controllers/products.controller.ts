import { Body, Controller, Get, HttpCode, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiSecurity,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { Ctx, InternalOnly, Public } from '../../../common/auth/auth.decorators.js';
import type { CallContext } from '../../../common/auth/principal.js';
import { Idempotent } from '../../../idempotency/idempotent.decorator.js';
import { sendView } from '../../../common/http/send-view.js';
import { IdentifierPipe } from '../../../common/validation/identifier.pipe.js';
import { CatalogCache } from '../catalog-cache.js';
import { CreateProductDto, ListProductsQueryDto, PricingDto, ProductIdParams, UpdateProductDto } from '../dto/product.dto.js';
import type { ProductResponse } from '../mappers/catalog.mappers.js';
import { ProductService } from '../services/product.service.js';
import { errorExample, PAGED_HEADERS, PRODUCT_EXAMPLE } from './examples.js';
import { ApiInternalWrite, ApiProductNotFound } from './openapi.decorators.js';

const { created_at: _c, updated_at: _u, is_active: _a, ...PRODUCT_BODY } = PRODUCT_EXAMPLE;

/** Products: public reads, internal writes (pricing and availability: PricingModule's PricingController). */
@ApiTags('catalog')
@Controller('products')
export class ProductsController {
  constructor(
    private readonly products: ProductService,
    private readonly cache: CatalogCache,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Products (filters, case-insensitive name search `q`), keyset-paged by product_id' })
  @ApiOkResponse({ headers: PAGED_HEADERS, schema: { type: 'array', items: { type: 'object' }, example: [PRODUCT_EXAMPLE] } })
  @ApiBadRequestResponse({
    schema: {
      example: errorExample('VALIDATION_ERROR', 'Invalid cursor', [{ field: 'cursor', message: 'cursor is not one this service issued' }]),
    },
  })
  list(
    @Query() query: ListProductsQueryDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): string | undefined {
    return sendView(req, reply, this.products.listView(query, req.url), this.cache.publicControl);
  }

  @Get(':product_id')
  @Public()
  @ApiOperation({ summary: 'One product with its pricing' })
  @ApiOkResponse({ schema: { example: PRODUCT_EXAMPLE } })
  @ApiProductNotFound()
  @ApiParam({ name: 'product_id', example: 'gpt-4o-mini' })
  get(
    @Param('product_id', IdentifierPipe) productId: string,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): string | undefined {
    return sendView(req, reply, this.products.view(productId), this.cache.publicControl);
  }

  @Post()
  @HttpCode(201)
  @Idempotent()
  @InternalOnly()
  @ApiSecurity('internal')
  @ApiOperation({ summary: 'Create a product with its pricing (internal services only)' })
  @ApiBody({ type: CreateProductDto, examples: { 'gpt-4o-mini': { value: PRODUCT_BODY } } })
  @ApiCreatedResponse({ schema: { example: PRODUCT_EXAMPLE } })
  @ApiConflictResponse({
    schema: { example: errorExample('PRODUCT_EXISTS', 'A product with id gpt-4o-mini or product_code GPT4O-MINI already exists') },
  })
  @ApiUnprocessableEntityResponse({ schema: { example: errorExample('CATEGORY_NOT_FOUND', 'Category nope does not exist') } })
  @ApiInternalWrite()
  create(@Body() dto: CreateProductDto, @Ctx() ctx: CallContext): Promise<ProductResponse> {
    return this.products.create(dto, ctx);
  }

  @Patch(':product_id')
  @InternalOnly()
  @ApiSecurity('internal')
  @ApiOperation({ summary: 'Change some fields of a product; `{"is_active": false}` retires it (internal services only)' })
  @ApiBody({
    type: UpdateProductDto,
    examples: { retire: { value: { is_active: false } }, rename: { value: { name: 'GPT-4o Mini (2024)' } } },
  })
  @ApiOkResponse({ schema: { example: { ...PRODUCT_EXAMPLE, is_active: false } } })
  @ApiProductNotFound()
  @ApiUnprocessableEntityResponse({ schema: { example: errorExample('CATEGORY_NOT_FOUND', 'Category nope does not exist') } })
  @ApiInternalWrite()
  update(@Param() params: ProductIdParams, @Body() dto: UpdateProductDto, @Ctx() ctx: CallContext): Promise<ProductResponse> {
    return this.products.update(params.product_id, dto, ctx);
  }

  @Put(':product_id/pricing')
  @InternalOnly()
  @ApiSecurity('internal')
  @ApiOperation({ summary: "Replace a product's pricing and tier table atomically (internal services only)" })
  @ApiBody({ type: PricingDto, examples: { 'gpt-4o-mini': { value: PRODUCT_EXAMPLE.pricing } } })
  @ApiOkResponse({ schema: { example: PRODUCT_EXAMPLE } })
  @ApiBadRequestResponse({
    description: 'tier table not contiguous from 0 / not ordered (INVALID_TIERS), or invalid fields (VALIDATION_ERROR)',
    schema: {
      example: errorExample('INVALID_TIERS', 'The tier table is invalid: tiers must be contiguous from 0 and ordered', [
        { field: 'tiers[1].min_units', message: "must equal the previous tier's max_units (10000000)" },
      ]),
    },
  })
  @ApiProductNotFound()
  @ApiInternalWrite()
  replacePricing(@Param() params: ProductIdParams, @Body() dto: PricingDto, @Ctx() ctx: CallContext): Promise<ProductResponse> {
    return this.products.replacePricing(params.product_id, dto, ctx);
  }
}
