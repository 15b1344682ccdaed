import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
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

  @ApiPropertyOptional({ nullable: true, example: { bucket: 'photos' } })
  usage_details?: Record<string, unknown> | null;

  @ApiPropertyOptional({ nullable: true, example: '2026-11-25T10:00:00', description: 'default now; ≤ 5 min ahead, ≤ 35 d back' })
  usage_timestamp?: string | null;
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
