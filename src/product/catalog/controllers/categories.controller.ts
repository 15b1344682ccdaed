import { Body, Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiBody, ApiConflictResponse, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Ctx, InternalOnly, Public } from '../../../common/auth/auth.decorators.js';
import type { CallContext } from '../../../common/auth/principal.js';
import { Idempotent } from '../../../idempotency/idempotent.decorator.js';
import { sendView } from '../../../common/http/send-view.js';
import { CatalogCache } from '../catalog-cache.js';
import { CreateCategoryDto, ListPageQueryDto } from '../dto/category.dto.js';
import type { CategoryResponse } from '../mappers/catalog.mappers.js';
import { CategoryService } from '../services/category.service.js';
import { CATEGORY_EXAMPLE, errorExample, PAGED_HEADERS } from './examples.js';
import { ApiInternalWrite } from './openapi.decorators.js';

@ApiTags('catalog')
@Controller('categories')
export class CategoriesController {
  constructor(
    private readonly categories: CategoryService,
    private readonly cache: CatalogCache,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Active categories, by display_order' })
  @ApiOkResponse({ headers: PAGED_HEADERS, schema: { type: 'array', items: { type: 'object' }, example: [CATEGORY_EXAMPLE] } })
  list(@Query() query: ListPageQueryDto, @Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): string | undefined {
    return sendView(req, reply, this.categories.listView(query, req.url), this.cache.publicControl);
  }

  @Post()
  @HttpCode(201)
  @Idempotent()
  @InternalOnly()
  @ApiSecurity('internal')
  @ApiOperation({ summary: 'Create a category (internal services only)' })
  @ApiBody({
    type: CreateCategoryDto,
    examples: { storage: { value: { category_id: 'storage', name: 'Storage', description: 'Object storage', display_order: 2 } } },
  })
  @ApiCreatedResponse({ schema: { example: CATEGORY_EXAMPLE } })
  @ApiConflictResponse({ schema: { example: errorExample('CATEGORY_EXISTS', 'Category ai_models already exists') } })
  @ApiInternalWrite()
  create(@Body() dto: CreateCategoryDto, @Ctx() ctx: CallContext): Promise<CategoryResponse> {
    return this.categories.create(dto, ctx);
  }
}
