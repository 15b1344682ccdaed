import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBody, ApiConflictResponse, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Ctx, InternalOnly, Public } from '../../../common/auth/auth.decorators.js';
import type { CallContext } from '../../../common/auth/principal.js';
import type { Page } from '../../../common/pagination/page.js';
import { CreateCategoryDto, ListPageQueryDto } from '../dto/category.dto.js';
import type { CategoryResponse } from '../mappers/catalog.mappers.js';
import { CategoryService } from '../services/category.service.js';
import { CATEGORY_EXAMPLE, errorExample, PAGED_HEADERS } from './examples.js';
import { ApiInternalWrite } from './openapi.decorators.js';

@ApiTags('catalog')
@Controller('categories')
export class CategoriesController {
  constructor(private readonly categories: CategoryService) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Active categories, by display_order' })
  @ApiOkResponse({ headers: PAGED_HEADERS, schema: { type: 'array', items: { type: 'object' }, example: [CATEGORY_EXAMPLE] } })
  list(@Query() query: ListPageQueryDto): Promise<Page<CategoryResponse>> {
    return this.categories.list(query);
  }

  @Post()
  @HttpCode(201)
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
