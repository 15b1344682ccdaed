import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
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
import { ListPageQueryDto } from '../dto/category.dto.js';
import { CreatePlanDto, PlanIdParams, UpdatePlanDto } from '../dto/plan.dto.js';
import type { PlanResponse } from '../mappers/catalog.mappers.js';
import { PlanService } from '../services/plan.service.js';
import { errorExample, PAGED_HEADERS, PLAN_EXAMPLE } from './examples.js';
import { ApiInternalWrite } from './openapi.decorators.js';

const { created_at: _c, updated_at: _u, ...PLAN_BODY } = PLAN_EXAMPLE;
const PLAN_NOT_FOUND = { schema: { example: errorExample('PLAN_NOT_FOUND', 'Plan nope not found') } };

@ApiTags('plans')
@Controller('plans')
export class PlansController {
  constructor(
    private readonly plans: PlanService,
    private readonly cache: CatalogCache,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Active service plans by display_order: public ones; internal callers also see non-public plans' })
  @ApiOkResponse({ headers: PAGED_HEADERS, schema: { type: 'array', items: { type: 'object' }, example: [PLAN_EXAMPLE] } })
  list(
    @Query() query: ListPageQueryDto,
    @Ctx() ctx: CallContext,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): string | undefined {
    void reply.header('Vary', CatalogCache.CALLER_VARY);
    return sendView(req, reply, this.plans.listView(query, ctx.principal, req.url), this.cache.controlFor(ctx.principal));
  }

  @Get(':plan_id')
  @Public()
  @ApiOperation({ summary: 'One service plan (a non-public plan is 404 except to internal callers)' })
  @ApiOkResponse({ schema: { example: PLAN_EXAMPLE } })
  @ApiNotFoundResponse(PLAN_NOT_FOUND)
  @ApiParam({ name: 'plan_id', example: 'tier_pro_001' })
  get(
    @Param('plan_id', IdentifierPipe) planId: string,
    @Ctx() ctx: CallContext,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): string | undefined {
    void reply.header('Vary', CatalogCache.CALLER_VARY);
    return sendView(req, reply, this.plans.view(planId, ctx.principal), this.cache.controlFor(ctx.principal));
  }

  @Post()
  @HttpCode(201)
  @Idempotent()
  @InternalOnly()
  @ApiSecurity('internal')
  @ApiOperation({ summary: 'Create a service plan (internal services only)' })
  @ApiBody({ type: CreatePlanDto, examples: { pro: { value: PLAN_BODY } } })
  @ApiCreatedResponse({ schema: { example: PLAN_EXAMPLE } })
  @ApiConflictResponse({ schema: { example: errorExample('PLAN_EXISTS', 'Plan tier_pro_001 already exists') } })
  @ApiUnprocessableEntityResponse({ schema: { example: errorExample('PRODUCT_NOT_FOUND', 'Included product(s) not found: nope') } })
  @ApiInternalWrite()
  create(@Body() dto: CreatePlanDto, @Ctx() ctx: CallContext): Promise<PlanResponse> {
    return this.plans.create(dto, ctx);
  }

  @Patch(':plan_id')
  @InternalOnly()
  @ApiSecurity('internal')
  @ApiOperation({ summary: 'Change some fields of a plan; `{"is_active": false}` retires it (internal services only)' })
  @ApiBody({
    type: UpdatePlanDto,
    examples: { price: { value: { monthly_price: '25', yearly_price: '240' } }, retire: { value: { is_active: false } } },
  })
  @ApiOkResponse({ schema: { example: PLAN_EXAMPLE } })
  @ApiNotFoundResponse(PLAN_NOT_FOUND)
  @ApiInternalWrite()
  update(@Param() params: PlanIdParams, @Body() dto: UpdatePlanDto, @Ctx() ctx: CallContext): Promise<PlanResponse> {
    return this.plans.update(params.plan_id, dto, ctx);
  }
}
