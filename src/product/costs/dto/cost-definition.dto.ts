import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsObject, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import {
  IsCurrency,
  IsDecimalInput,
  IsIdentifier,
  IsLimit,
  IsTimestamp,
  NO_CONTROL_CHARS,
  ToBoolean,
} from '../../../common/validation/validators.js';

/** Fields every definition may carry (all optional; in PUT absent and null both mean "unchanged"). */
class CostDefinitionFieldsDto {
  @ApiPropertyOptional({ example: 'gpt-4o-mini', nullable: true, type: String, description: 'null matches any product' })
  @IsOptional()
  @IsIdentifier()
  product_id?: string | null;

  @ApiPropertyOptional({ example: 'openai', nullable: true, type: String, description: 'null matches any provider' })
  @IsOptional()
  @IsIdentifier()
  provider?: string | null;

  @ApiPropertyOptional({ example: 'gpt-4o-mini', nullable: true, type: String, description: 'null matches any model' })
  @IsOptional()
  @IsIdentifier()
  model_name?: string | null;

  @ApiPropertyOptional({ example: 'input_tokens', nullable: true, type: String, description: 'null matches any operation' })
  @IsOptional()
  @IsIdentifier()
  operation_type?: string | null;

  @ApiPropertyOptional({ example: '1000000', default: '1', description: 'cost_per_unit is the cost of this many units (> 0)' })
  @IsOptional()
  @IsDecimalInput({ positive: true })
  unit_size?: string | number | null;

  @ApiPropertyOptional({ example: 'USD', default: 'USD' })
  @IsOptional()
  @IsString()
  @IsCurrency()
  currency?: string | null;

  @ApiPropertyOptional({ example: '0.15', nullable: true, type: String })
  @IsOptional()
  @IsDecimalInput()
  original_cost_usd?: string | number | null;

  @ApiPropertyOptional({ example: '30', nullable: true, type: String, description: 'informational' })
  @IsOptional()
  @IsDecimalInput()
  margin_percentage?: string | number | null;

  @ApiPropertyOptional({ example: '2026-12-01T00:00:00Z', description: 'default now; no offset = UTC' })
  @IsOptional()
  @IsTimestamp()
  effective_from?: string | null;

  @ApiPropertyOptional({ example: null, nullable: true, type: String, description: 'exclusive end of validity; null = open' })
  @IsOptional()
  @IsTimestamp()
  effective_until?: string | null;

  @ApiPropertyOptional({ example: '0', nullable: true, type: String, description: 'informational (not applied to provider_cost)' })
  @IsOptional()
  @IsDecimalInput()
  free_tier_limit?: string | number | null;

  @ApiPropertyOptional({ example: 'monthly', nullable: true, type: String })
  @IsOptional()
  @IsString()
  @Length(1, 32)
  @NO_CONTROL_CHARS
  free_tier_period?: string | null;

  @ApiPropertyOptional({ example: true, default: true })
  @IsOptional()
  @IsBoolean()
  is_active?: boolean | null;

  @ApiPropertyOptional({ example: 'OpenAI list price, input tokens', nullable: true, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  description?: string | null;

  @ApiPropertyOptional({ example: { source: 'openai.com/pricing' }, type: Object })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown> | null;
}

/** POST /admin/cost-definitions and each item of POST /admin/cost-definitions/rotate. */
export class CreateCostDefinitionDto extends CostDefinitionFieldsDto {
  @ApiPropertyOptional({ example: 'openai-gpt-4o-mini-input-2026-12', description: 'default: a generated id' })
  @IsOptional()
  @IsIdentifier()
  cost_id?: string | null;

  @ApiProperty({ example: 'model_inference', description: "matched against the product's product_type" })
  @IsIdentifier()
  service_type!: string;

  @ApiProperty({ example: '0.15', description: 'cost of unit_size units (decimal string, or a number)' })
  @IsDecimalInput()
  cost_per_unit!: string | number;

  @ApiProperty({ example: 'token' })
  @IsString()
  @Length(1, 64)
  @NO_CONTROL_CHARS
  unit_type!: string;
}

/** PUT /admin/cost-definitions/{cost_id}: the given fields change (absent / null: unchanged). */
export class UpdateCostDefinitionDto extends CostDefinitionFieldsDto {
  @ApiPropertyOptional({ example: 'model_inference' })
  @IsOptional()
  @IsIdentifier()
  service_type?: string | null;

  @ApiPropertyOptional({ example: '0.15' })
  @IsOptional()
  @IsDecimalInput()
  cost_per_unit?: string | number | null;

  @ApiPropertyOptional({ example: 'token' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  @NO_CONTROL_CHARS
  unit_type?: string | null;
}

export class CostIdParams {
  @ApiProperty({ example: 'openai-gpt-4o-mini-input-2026-12' })
  @IsIdentifier()
  cost_id!: string;
}

export class ModelNameParams {
  @ApiProperty({ example: 'gpt-4o-mini' })
  @IsIdentifier()
  model_name!: string;
}

export class PageQuery {
  @ApiPropertyOptional({ example: 50, default: 50, minimum: 1, maximum: 200 })
  @IsLimit()
  limit?: number;

  @ApiPropertyOptional({ description: 'opaque cursor from X-Next-Cursor' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  cursor?: string;
}

export class ListCostDefinitionsQuery extends PageQuery {
  @ApiPropertyOptional({ example: true, type: Boolean, description: 'absent: active and inactive' })
  @IsOptional()
  @ToBoolean()
  @IsBoolean({ message: 'is_active must be true or false' })
  is_active?: boolean;

  @ApiPropertyOptional({ example: 'openai' })
  @IsOptional()
  @IsIdentifier()
  provider?: string;

  @ApiPropertyOptional({ example: 'model_inference' })
  @IsOptional()
  @IsIdentifier()
  service_type?: string;
}

export class CostLookupQuery {
  @ApiProperty({ example: 'model_inference' })
  @IsIdentifier()
  service_type!: string;

  @ApiPropertyOptional({ example: 'gpt-4o-mini' })
  @IsOptional()
  @IsIdentifier()
  product_id?: string;

  @ApiPropertyOptional({ example: 'openai' })
  @IsOptional()
  @IsIdentifier()
  provider?: string;

  @ApiPropertyOptional({ example: 'gpt-4o-mini' })
  @IsOptional()
  @IsIdentifier()
  model_name?: string;

  @ApiPropertyOptional({ example: 'input_tokens' })
  @IsOptional()
  @IsIdentifier()
  operation_type?: string;

  @ApiPropertyOptional({ example: 'token' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  @NO_CONTROL_CHARS
  unit_type?: string;
}
