import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Ctx, InternalOnly } from '../../common/auth/auth.decorators.js';
import type { CallContext } from '../../common/auth/principal.js';
import { GroupedIdempotencyKey, type GroupedKey } from '../../idempotency/grouped-key.js';
import { Idempotent } from '../../idempotency/idempotent.decorator.js';
import { badRequest, invalidField } from '../../common/errors/domain-error.js';
import { sendPage } from '../../common/pagination/send-page.js';
import { requireNoFields, validateBody } from '../../common/validation/validation.pipe.js';
import { isIdentifier } from '../../common/validation/validators.js';
import {
  CancelSubscriptionDto,
  ResumeSubscriptionDto,
  ChangePlanDto,
  CreateSubscriptionDto,
  ListSubscriptionsQuery,
  ListUserSubscriptionsQuery,
  UpdateStatusDto,
} from './dto/subscription.dto.js';
import { type CreateSubscriptionBody, CreateSubscriptionPipe } from './create-subscription.validation.js';
import { SUBSCRIPTION_EXAMPLE, type SubscriptionView } from './subscription.mapper.js';
import { SubscriptionCommands } from './subscription-commands.service.js';
import { SubscriptionQueries } from './subscription-queries.service.js';

const ERROR_EXAMPLE = (code: string) => ({
  schema: { example: { error: { code, message: '...', request_id: 'req-1' }, detail: '...' } },
});

const id = (value: string, field: string): string => {
  if (!isIdentifier(value)) throw invalidField(field, `${field} is not a valid identifier`);
  return value;
};

/** A body that may be absent altogether (POST .../cancel from a client that sends none): absent = {}. */
async function optionalBody<T extends object>(cls: new () => T, body: unknown): Promise<T> {
  // no body at all (or an empty one) is the empty object; a JSON null, array or scalar is not an object
  if (body === undefined || body === '') return new cls();
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Request body must be a JSON object');
  const { dto, details } = await validateBody(cls, body);
  if (details.length > 0) throw badRequest('Request validation failed', details);
  return dto;
}

@ApiTags('subscriptions')
@Controller('subscriptions')
export class SubscriptionsController {
  constructor(
    private readonly commands: SubscriptionCommands,
    private readonly queries: SubscriptionQueries,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Create a subscription (200 with the subscription)' })
  @Idempotent({ grouped: true })
  @ApiOkResponse({ schema: { example: SUBSCRIPTION_EXAMPLE } })
  @ApiResponse({ status: 400, description: 'validation failed (seats outside the plan range, bad billing_cycle)' })
  @ApiResponse({ status: 403, description: 'FORBIDDEN, PLAN_NOT_AVAILABLE, NOT_ORGANIZATION_MEMBER' })
  @ApiResponse({ status: 404, description: 'PLAN_NOT_FOUND', ...ERROR_EXAMPLE('PLAN_NOT_FOUND') })
  @ApiResponse({ status: 409, description: 'SUBSCRIPTION_EXISTS', ...ERROR_EXAMPLE('SUBSCRIPTION_EXISTS') })
  @ApiResponse({ status: 422, description: 'USER_NOT_FOUND, USER_INACTIVE, ORGANIZATION_NOT_FOUND' })
  @ApiResponse({ status: 503, description: 'DEPENDENCY_UNAVAILABLE (account or organization service down, fail_closed)' })
  @ApiBody({ type: CreateSubscriptionDto })
  create(
    @Body(CreateSubscriptionPipe) dto: CreateSubscriptionBody,
    @Ctx() ctx: CallContext,
    @GroupedIdempotencyKey() key: GroupedKey | undefined,
  ): Promise<SubscriptionView> {
    return this.commands.create(dto, ctx, key);
  }

  @Get()
  @InternalOnly()
  @ApiOperation({ summary: 'List subscriptions (internal), newest first, paged' })
  @ApiOkResponse({ schema: { example: [SUBSCRIPTION_EXAMPLE] } })
  async list(
    @Query() query: ListSubscriptionsQuery,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SubscriptionView[]> {
    return sendPage(req, reply, await this.queries.listAll(query));
  }

  @Get('user/:user_id')
  @ApiOperation({ summary: "A user's subscriptions, newest first, paged (filter status)" })
  @ApiParam({ name: 'user_id' })
  @ApiOkResponse({ schema: { example: [SUBSCRIPTION_EXAMPLE] } })
  async listForUser(
    @Param('user_id') userId: string,
    @Query() query: ListUserSubscriptionsQuery,
    @Ctx() ctx: CallContext,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SubscriptionView[]> {
    return sendPage(req, reply, await this.queries.listForUser(id(userId, 'user_id'), query, ctx));
  }

  @Get(':subscription_id')
  @ApiOperation({ summary: 'One subscription' })
  @ApiParam({ name: 'subscription_id' })
  @ApiOkResponse({ schema: { example: SUBSCRIPTION_EXAMPLE } })
  @ApiResponse({ status: 404, description: 'SUBSCRIPTION_NOT_FOUND', ...ERROR_EXAMPLE('SUBSCRIPTION_NOT_FOUND') })
  get(@Param('subscription_id') subscriptionId: string, @Ctx() ctx: CallContext): Promise<SubscriptionView> {
    return this.queries.get(id(subscriptionId, 'subscription_id'), ctx);
  }

  @Put(':subscription_id/status')
  @InternalOnly()
  @ApiOperation({ summary: 'Change the status (internal); only the transitions of the SPEC table' })
  @ApiParam({ name: 'subscription_id' })
  @ApiOkResponse({ schema: { example: { ...SUBSCRIPTION_EXAMPLE, status: 'active' } } })
  @ApiResponse({ status: 409, description: 'ILLEGAL_TRANSITION', ...ERROR_EXAMPLE('ILLEGAL_TRANSITION') })
  setStatus(
    @Param('subscription_id') subscriptionId: string,
    @Body() dto: UpdateStatusDto,
    @Ctx() ctx: CallContext,
  ): Promise<SubscriptionView> {
    return this.commands.setStatus(id(subscriptionId, 'subscription_id'), dto.status, dto.reason ?? null, ctx);
  }

  @Post(':subscription_id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel at period end (default) or immediately' })
  @Idempotent()
  @ApiParam({ name: 'subscription_id' })
  @ApiOkResponse({ schema: { example: { ...SUBSCRIPTION_EXAMPLE, cancel_at_period_end: true, next_billing_date: null } } })
  @ApiResponse({ status: 409, description: 'ILLEGAL_TRANSITION (already terminal)' })
  @ApiBody({ type: CancelSubscriptionDto, required: false })
  async cancel(
    @Param('subscription_id') subscriptionId: string,
    @Body() body: unknown,
    @Ctx() ctx: CallContext,
  ): Promise<SubscriptionView> {
    const dto = await optionalBody(CancelSubscriptionDto, body);
    return this.commands.cancel(id(subscriptionId, 'subscription_id'), dto, ctx);
  }

  @Post(':subscription_id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Undo a pending cancellation, or resume a paused subscription' })
  @Idempotent()
  @ApiParam({ name: 'subscription_id' })
  @ApiOkResponse({ schema: { example: { ...SUBSCRIPTION_EXAMPLE, status: 'active' } } })
  @ApiResponse({ status: 409, description: 'ILLEGAL_TRANSITION (nothing to resume)' })
  @ApiBody({ type: ResumeSubscriptionDto, required: false })
  resume(@Param('subscription_id') subscriptionId: string, @Body() body: unknown, @Ctx() ctx: CallContext): Promise<SubscriptionView> {
    requireNoFields(body);
    return this.commands.resume(id(subscriptionId, 'subscription_id'), ctx);
  }

  @Post(':subscription_id/change-plan')
  @HttpCode(200)
  @ApiOperation({ summary: 'Change plan: an upgrade (higher monthly-equivalent price) now, a downgrade at period end' })
  @Idempotent()
  @ApiParam({ name: 'subscription_id' })
  @ApiOkResponse({ schema: { example: { ...SUBSCRIPTION_EXAMPLE, plan_id: 'tier_max_001', plan_tier: 'max', price: '50' } } })
  changePlan(
    @Param('subscription_id') subscriptionId: string,
    @Body() dto: ChangePlanDto,
    @Ctx() ctx: CallContext,
  ): Promise<SubscriptionView> {
    return this.commands.changePlan(id(subscriptionId, 'subscription_id'), dto, ctx);
  }
}
