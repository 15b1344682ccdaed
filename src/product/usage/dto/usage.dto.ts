import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { IsIdentifier, IsLimit, IsTimestamp } from '../../../common/validation/validators.js';

/**
 * A usage record's body, as OpenAPI documents it. It is validated by RecordUsagePipe /
 * UsageBatchPipe with the one field table in record-usage.validation.ts (not by decorators here).
 */
export class RecordUsageDto {
  @ApiProperty({ example: 'user_123' })
  user_id!: string;

  @ApiProperty({ example: 'minio_storage' })
  product_id!: string;

  @ApiProperty({ example: 1073741824, description: 'JSON number, finite, > 0, ≤ 1e12; stored exactly' })
  usage_amount!: number;

  @ApiPropertyOptional({ nullable: true })
  organization_id?: string | null;

  @ApiPropertyOptional({ nullable: true })
  subscription_id?: string | null;

  @ApiPropertyOptional({ nullable: true })
  session_id?: string | null;

  @ApiPropertyOptional({ nullable: true, description: 'deduplication key per (user, product)' })
  request_id?: string | null;

  @ApiPropertyOptional({ nullable: true, example: { bucket: 'photos' }, description: 'at most 64 KiB as JSON (it travels in the event)' })
  usage_details?: Record<string, unknown> | null;

  @ApiPropertyOptional({ nullable: true, example: '2026-11-25T10:00:00', description: 'default now; ≤ 5 min ahead, ≤ 35 d back' })
  usage_timestamp?: string | null;

  @ApiPropertyOptional({
    nullable: true,
    example: false,
    description:
      'true: refuse with 429 QUOTA_EXCEEDED rather than pass a limit of the plan (record before serving). Default false: usage that ' +
      'happened is always recorded, `over_quota: true` when past a limit',
  })
  enforce?: boolean | null;
}

export class RecordUsageBatchDto {
  @ApiProperty({ type: [RecordUsageDto], description: '1 to 1000 records; each validated like POST /usage/record' })
  records!: unknown[];
}

export class UsageFiltersQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsIdentifier()
  user_id?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsIdentifier()
  organization_id?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsIdentifier()
  subscription_id?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsIdentifier()
  product_id?: string;

  @ApiPropertyOptional({ example: '2026-11-01', description: 'usage_timestamp ≥ this (ISO 8601 or YYYY-MM-DD, UTC)' })
  @IsOptional()
  @IsTimestamp(true)
  start_date?: string;

  @ApiPropertyOptional({ example: '2026-12-01', description: 'usage_timestamp < this' })
  @IsOptional()
  @IsTimestamp(true)
  end_date?: string;
}

export class ListUsageQuery extends UsageFiltersQuery {
  @ApiPropertyOptional({ example: 50, minimum: 1, maximum: 200 })
  @IsLimit()
  limit?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(500)
  cursor?: string;
}

/** POST /usage/records/{usage_record_id}/void */
export class VoidUsageDto {
  @ApiProperty({ example: 'duplicate upload', description: 'why (1-1000 characters); carried by product.usage.voided' })
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  reason!: string;

  @ApiPropertyOptional({
    nullable: true,
    example: 1073741824,
    description: "units to void, from the record's end (JSON number or decimal string, > 0, ≤ 1e12); absent: all that remain",
  })
  @IsOptional()
  @Allow()
  usage_amount?: number | string | null;
}

/** GET /usage/quota */
export class UsageQuotaQuery {
  @ApiProperty({ example: 'user_123' })
  @IsIdentifier()
  user_id!: string;

  @ApiProperty({ example: 'gpt-4o-mini' })
  @IsIdentifier()
  product_id!: string;

  @ApiPropertyOptional({ description: "the organization the usage is for: its subscription's limits, else the personal one's" })
  @IsOptional()
  @IsIdentifier()
  organization_id?: string;
}
