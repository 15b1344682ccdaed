import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Ctx, InternalOnly } from '../../common/auth/auth.decorators.js';
import type { CallContext } from '../../common/auth/principal.js';
import { GroupedIdempotencyKey, type GroupedKey } from '../../idempotency/grouped-key.js';
import { Idempotent } from '../../idempotency/idempotent.decorator.js';
import { sendJsonPage } from '../../common/pagination/send-page.js';
import { IdentifierPipe } from '../../common/validation/identifier.pipe.js';
import { ListUsageQuery, RecordUsageBatchDto, RecordUsageDto, UsageFiltersQuery, VoidUsageDto } from './dto/usage.dto.js';
import { type VoidUsageResponse, UsageVoids } from './usage-voids.service.js';
import type { UsageBatch } from './record-usage.validation.js';
import { RecordUsagePipe, UsageBatchPipe } from './usage-batch.pipe.js';
import { type RecordUsageResponse, toRecordUsageResponse, USAGE_RECORD_EXAMPLE } from './usage.mapper.js';
import { UsageQueries } from './usage-queries.service.js';
import { UsageRecorder } from './usage-recorder.service.js';

/** The validated body: not the class (a mapped type is emitted as Object, so the global pipe leaves it to RecordUsagePipe / UsageBatchPipe). */
type RecordUsageBody = Pick<RecordUsageDto, keyof RecordUsageDto>;

const USAGE_ENTRY_EXAMPLE = {
  usage_amount: '2147483648',
  total_cost: '0.024696061952',
  records: 2,
  provider_cost: '0.012348030976',
  margin: '0.012348030976',
  records_without_provider_cost: 0,
};

@ApiTags('usage')
@Controller()
export class UsageController {
  constructor(
    private readonly recorder: UsageRecorder,
    private readonly queries: UsageQueries,
    private readonly voids: UsageVoids,
  ) {}

  @Post('usage/record')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Record metered usage and price it',
    description:
      'Cost = the pricing engine over the units [before, after) this record takes in the period (the subscription period when ' +
      '`subscription_id` is given, else the UTC calendar month of `usage_timestamp`). `unit_price` is the price of the first ' +
      'billable unit of the record (0 when all of it was free). A repeated `request_id` for the same user and product returns ' +
      'the first record (`duplicate: true`), not charged or published again.',
  })
  @Idempotent({ grouped: true })
  @ApiOkResponse({
    schema: {
      example: {
        success: true,
        message: 'Usage recorded',
        usage_record_id: USAGE_RECORD_EXAMPLE.usage_record_id,
        duplicate: false,
        product: {
          product_id: 'minio_storage',
          name: 'MinIO Storage',
          product_type: 'storage_minio',
          unit_type: 'byte',
          pricing_type: 'usage_based',
        },
        recorded_amount: '1073741824',
        unit_price: '0.000000000023',
        total_cost: '0.024696061952',
        currency: 'USD',
        is_free_tier: false,
        over_quota: false,
        timestamp: '2026-11-25T10:00:00.000Z',
      },
    },
  })
  @ApiResponse({ status: 400, description: 'usage_amount not finite / ≤ 0 / > 1e12; usage_timestamp outside [-35 d, +5 min]' })
  @ApiResponse({
    status: 429,
    description:
      'QUOTA_EXCEEDED: `enforce: true` and recording it would pass a limit of the plan; `Retry-After` = seconds until the window resets',
    schema: {
      example: {
        error: {
          code: 'QUOTA_EXCEEDED',
          message: "Recording this usage would pass the plan's daily_requests limit for model_inference",
          details: [
            {
              field: 'model_inference',
              message: 'daily_requests limit 100: 100 used, 0 remaining',
              kind: 'daily_requests',
              limit: 100,
              used: 100,
              remaining: 0,
            },
          ],
          request_id: 'req-42',
        },
        detail: "Recording this usage would pass the plan's daily_requests limit for model_inference",
      },
    },
  })
  @ApiResponse({ status: 422, description: 'PRODUCT_NOT_FOUND, PRODUCT_INACTIVE, SUBSCRIPTION_NOT_ACTIVE, SUBSCRIPTION_REQUIRED' })
  @ApiBody({ type: RecordUsageDto })
  async record(
    @Body(RecordUsagePipe) dto: RecordUsageBody,
    @Ctx() ctx: CallContext,
    @GroupedIdempotencyKey() key: GroupedKey | undefined,
  ): Promise<RecordUsageResponse> {
    // with an Idempotency-Key: the key is claimed and its response stored in the record's group
    if (key) return this.recorder.recordKeyed(dto, ctx, key);
    const { record, product, duplicate } = await this.recorder.recordOne(dto, ctx);
    return toRecordUsageResponse(record, product, duplicate);
  }

  @Post('usage/records/batch')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Record up to 1000 usage records in one transaction',
    description: 'All or nothing: any invalid record makes the whole batch 400, with one detail per bad index.',
  })
  @Idempotent()
  @ApiOkResponse({
    schema: {
      example: {
        accepted: 2,
        duplicates: 1,
        results: [{ index: 0, usage_record_id: USAGE_RECORD_EXAMPLE.usage_record_id, duplicate: false }],
      },
    },
  })
  @ApiBody({ type: RecordUsageBatchDto })
  async recordBatch(
    @Body(UsageBatchPipe) batch: UsageBatch,
    @Ctx() ctx: CallContext,
  ): Promise<{
    accepted: number;
    duplicates: number;
    results: { index: number; usage_record_id: string; duplicate: boolean; total_cost: string }[];
  }> {
    const outcomes = await this.recorder.recordBatch(batch, ctx);
    const duplicates = outcomes.filter((o) => o.duplicate).length;
    return {
      accepted: outcomes.length - duplicates,
      duplicates,
      results: outcomes.map((o) => ({
        index: o.index,
        usage_record_id: o.record.usageRecordId,
        duplicate: o.duplicate,
        total_cost: o.record.totalCost,
      })),
    };
  }

  @Post('usage/records/:usage_record_id/void')
  @HttpCode(200)
  @InternalOnly()
  @Idempotent()
  @ApiOperation({
    summary: 'Void a usage record, or its last units (internal correction)',
    description:
      "Voids `usage_amount` units (all that remain when absent) from the record's end: the credit is the cost of those units at " +
      "the record's own tiers (the price schedule it was recorded with), the period's running total goes down by them, and no " +
      "other record changes. Repeated partial voids credit, in total, the record's cost. Publishes `product.usage.voided`.",
  })
  @ApiParam({ name: 'usage_record_id', example: USAGE_RECORD_EXAMPLE.usage_record_id })
  @ApiBody({ type: VoidUsageDto })
  @ApiOkResponse({
    schema: {
      example: {
        usage_record_id: USAGE_RECORD_EXAMPLE.usage_record_id,
        voided_amount: '1073741824',
        credited_cost: '0.024696061952',
        currency: 'USD',
        remaining_amount: '0',
        voided_at: '2026-11-26T09:00:00.000Z',
      },
    },
  })
  @ApiResponse({ status: 400, description: 'reason missing; usage_amount not > 0 / ≤ 1e12' })
  @ApiResponse({ status: 404, description: 'USAGE_RECORD_NOT_FOUND' })
  @ApiResponse({ status: 409, description: "NOTHING_TO_VOID (more than remains), PERIOD_CLOSED (the record's billing period has ended)" })
  voidRecord(
    @Param('usage_record_id', IdentifierPipe) usageRecordId: string,
    @Body() dto: VoidUsageDto,
    @Ctx() ctx: CallContext,
  ): Promise<VoidUsageResponse> {
    return this.voids.void(usageRecordId, dto, ctx);
  }

  @Get('usage/records')
  @ApiOperation({ summary: 'Usage records, newest first, paged (users see their own)' })
  @ApiOkResponse({ schema: { example: [USAGE_RECORD_EXAMPLE] } })
  async list(
    @Query() query: ListUsageQuery,
    @Ctx() ctx: CallContext,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    // the records' JSON is written by the database (UsageRepository.listViews)
    return sendJsonPage(req, reply, await this.queries.list(query, ctx));
  }

  @Get('statistics/usage')
  @ApiOperation({
    summary: 'Usage totals by product and by UTC day for the filters (dates bound usage_timestamp: [start, end))',
    description:
      'For internal callers only (users see their usage and its cost): `provider_cost` sums what the records cost the platform ' +
      '(stored when each was recorded; records without a matching cost definition count 0 and are counted in ' +
      '`records_without_provider_cost`); `margin` = total_cost - provider_cost.',
  })
  @ApiOkResponse({
    schema: {
      example: {
        total_usage: '2147483648',
        total_cost: '0.024696061952',
        total_records: 2,
        provider_cost: '0.012348030976',
        margin: '0.012348030976',
        records_without_provider_cost: 0,
        usage_by_product: { minio_storage: { ...USAGE_ENTRY_EXAMPLE } },
        usage_by_date: { '2026-11-25': { ...USAGE_ENTRY_EXAMPLE } },
        period: { start_date: '2026-11-01T00:00:00.000Z', end_date: null },
      },
    },
  })
  statistics(@Query() query: UsageFiltersQuery, @Ctx() ctx: CallContext): Promise<Record<string, unknown>> {
    return this.queries.statistics(query, ctx);
  }
}
