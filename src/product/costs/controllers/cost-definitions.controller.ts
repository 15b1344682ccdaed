import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
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
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Ctx, InternalOnly } from '../../../common/auth/auth.decorators.js';
import type { CallContext } from '../../../common/auth/principal.js';
import { sendPage } from '../../../common/pagination/send-page.js';
import { Idempotent } from '../../../idempotency/idempotent.decorator.js';
import { COST_DEFINITION_EXAMPLE, type CostDefinitionResponse } from '../cost-definition.mapper.js';
import { CostDefinitionService, type RotationResult } from '../cost-definition.service.js';
import { type CostRotation, CostRotationPipe } from '../cost-rotation.pipe.js';
import {
  CostIdParams,
  CreateCostDefinitionDto,
  ListCostDefinitionsQuery,
  ModelNameParams,
  PageQuery,
  UpdateCostDefinitionDto,
} from '../dto/cost-definition.dto.js';

const errorExample = (code: string, message: string) => ({
  schema: { example: { error: { code, message, request_id: '7f1c2e0a-5b1e-4a43-9a37-1d3e7c1f0b11' }, detail: message } },
});
const PAGED = {
  Link: { description: 'next page: `<...&cursor=X>; rel="next"` (only when more rows exist)', schema: { type: 'string' } },
  'X-Next-Cursor': { description: 'opaque cursor of the next page (only when more rows exist)', schema: { type: 'string' } },
};
const { created_at: _c, updated_at: _u, ...BODY_EXAMPLE } = COST_DEFINITION_EXAMPLE;

/** Provider cost definitions: the internal admin API (SPEC section 7). */
@ApiTags('admin')
@ApiSecurity('internal')
@InternalOnly()
@ApiUnauthorizedResponse(errorExample('UNAUTHORIZED', 'Internal service credentials required'))
@ApiForbiddenResponse(errorExample('FORBIDDEN', 'This endpoint is for internal services only'))
@Controller('admin/cost-definitions')
export class CostDefinitionsController {
  constructor(private readonly costs: CostDefinitionService) {}

  @Get()
  @ApiOperation({ summary: 'Provider cost definitions (filters is_active, provider, service_type), keyset-paged by cost_id' })
  @ApiOkResponse({ headers: PAGED, schema: { type: 'array', items: { type: 'object' }, example: [COST_DEFINITION_EXAMPLE] } })
  @ApiBadRequestResponse(errorExample('VALIDATION_ERROR', 'Request validation failed'))
  async list(
    @Query() query: ListCostDefinitionsQuery,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CostDefinitionResponse[]> {
    return sendPage(req, reply, await this.costs.list(query));
  }

  @Post()
  @HttpCode(201)
  @Idempotent()
  @ApiOperation({
    summary: 'Create a provider cost definition',
    description: 'Publishes product.cost_definitions.changed (created). It does not close other versions: that is what /rotate does.',
  })
  @ApiBody({ type: CreateCostDefinitionDto, examples: { 'gpt-4o-mini': { value: BODY_EXAMPLE } } })
  @ApiCreatedResponse({ schema: { example: COST_DEFINITION_EXAMPLE } })
  @ApiBadRequestResponse(errorExample('VALIDATION_ERROR', 'Request validation failed'))
  @ApiConflictResponse(errorExample('COST_DEFINITION_EXISTS', 'Cost definition openai-gpt-4o-mini-2026-12 already exists'))
  create(@Body() dto: CreateCostDefinitionDto, @Ctx() ctx: CallContext): Promise<CostDefinitionResponse> {
    return this.costs.create(dto, ctx);
  }

  @Post('rotate')
  @HttpCode(200)
  @Idempotent()
  @ApiOperation({
    summary: 'Rotate cost definitions atomically',
    description:
      'Body: a JSON array of new definitions. For each, in order, every active definition with the same service_type, provider, ' +
      'model_name and operation_type still open at its effective_from gets effective_until = that effective_from; then it is inserted. ' +
      '`rotated` counts the new definitions; `details` has one entry per replaced definition (replaced_cost_id null when a new one ' +
      'replaced none). All or nothing.',
  })
  @ApiBody({ schema: { type: 'array', items: { type: 'object' }, example: [{ ...BODY_EXAMPLE, cost_id: 'openai-gpt-4o-mini-2027-01' }] } })
  @ApiOkResponse({
    schema: {
      example: { rotated: 1, details: [{ cost_id: 'openai-gpt-4o-mini-2027-01', replaced_cost_id: 'openai-gpt-4o-mini-2026-12' }] },
    },
  })
  @ApiBadRequestResponse(errorExample('VALIDATION_ERROR', 'Request validation failed; nothing was rotated'))
  @ApiConflictResponse(
    errorExample('COST_ROTATION_CONFLICT', 'Cost definition x must start after y, the active version it replaces, starts'),
  )
  rotate(@Body(CostRotationPipe) body: CostRotation, @Ctx() ctx: CallContext): Promise<RotationResult> {
    return this.costs.rotate(body.definitions, ctx);
  }

  @Get('history/:model_name')
  @ApiOperation({ summary: "Every version of a model's cost definitions, newest effective_from first, keyset-paged" })
  @ApiOkResponse({ headers: PAGED, schema: { type: 'array', items: { type: 'object' }, example: [COST_DEFINITION_EXAMPLE] } })
  async history(
    @Param() params: ModelNameParams,
    @Query() query: PageQuery,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CostDefinitionResponse[]> {
    return sendPage(req, reply, await this.costs.history(params.model_name, query));
  }

  @Put(':cost_id')
  @ApiOperation({
    summary: 'Change a provider cost definition',
    description:
      'The given fields change (absent and null: unchanged); is_active false retires it. Publishes product.cost_definitions.changed.',
  })
  @ApiBody({
    type: UpdateCostDefinitionDto,
    examples: { retire: { value: { is_active: false } }, price: { value: { cost_per_unit: '0.12' } } },
  })
  @ApiOkResponse({ schema: { example: COST_DEFINITION_EXAMPLE } })
  @ApiBadRequestResponse(errorExample('VALIDATION_ERROR', 'Request validation failed'))
  @ApiNotFoundResponse(errorExample('COST_DEFINITION_NOT_FOUND', 'Cost definition nope not found'))
  update(@Param() params: CostIdParams, @Body() dto: UpdateCostDefinitionDto, @Ctx() ctx: CallContext): Promise<CostDefinitionResponse> {
    return this.costs.update(params.cost_id, dto, ctx);
  }
}
