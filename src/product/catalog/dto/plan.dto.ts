import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { isDecimalString } from '../../../common/money/decimal.js';
import { IsDecimalString, IsIdentifier, NO_CONTROL_CHARS } from '../../../common/validation/validators.js';
import { usageLimitsProblems } from '../usage-limits.validation.js';

/** A non-negative amount as a decimal string ("1000000") or, as catalog.json writes credits, a JSON number. */
function IsAmount(): PropertyDecorator {
  return ValidateBy({
    name: 'isAmount',
    validator: {
      validate: (v: unknown) => isDecimalString(v) || (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1e15),
      defaultMessage: (args) => `${args?.property} must be a non-negative decimal string or number`,
    },
  });
}

export class IncludedProductDto {
  @ApiProperty({ example: 'gpt-4o-mini' })
  @IsIdentifier()
  product_id!: string;

  @ApiProperty({ example: '100000', nullable: true, type: String, description: 'units included per period; null = unlimited' })
  @ValidateIf((_, v) => v !== null)
  @IsDecimalString()
  included_amount!: string | null;
}

class PlanFieldsDto {
  @ApiPropertyOptional({ example: 'Get started at no cost', nullable: true, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  description?: string | null;

  @ApiPropertyOptional({ example: false, default: false })
  @IsOptional()
  @IsBoolean()
  per_seat?: boolean;

  @ApiPropertyOptional({ example: 'USD', default: 'USD' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Z][A-Z0-9_]{1,15}$/, { message: 'currency must be an upper-case code such as USD' })
  currency?: string;

  @ApiPropertyOptional({ example: '1000000', default: '0', type: String })
  @IsOptional()
  @IsAmount()
  included_credits?: string | number;

  @ApiPropertyOptional({ example: false, default: false })
  @IsOptional()
  @IsBoolean()
  credit_rollover?: boolean;

  @ApiPropertyOptional({ example: null, nullable: true, type: String })
  @IsOptional()
  @IsAmount()
  max_rollover_credits?: string | number | null;

  @ApiPropertyOptional({ example: 'individual', nullable: true, type: String })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  @NO_CONTROL_CHARS
  target_audience?: string | null;

  @ApiPropertyOptional({ example: 1, default: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  min_seats?: number;

  @ApiPropertyOptional({ example: 1, nullable: true, type: Number, description: 'null = no maximum' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_seats?: number | null;

  @ApiPropertyOptional({ example: 14, default: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(3650)
  trial_days?: number;

  @ApiPropertyOptional({ example: ['Basic AI models', '5GB storage'], type: [Object] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  features?: unknown[];

  @ApiPropertyOptional({
    example: { model_inference: { daily_requests: 100, thresholds: [50, 80, 100] }, gpt_4o: { period_units: '1000000' }, storage_gb: 5 },
    type: Object,
    description:
      'limits by product type or product id (SPEC section 8): daily_requests -1 or an integer ≥ 0, period_units -1 or a decimal, thresholds percentages; other entries are informational',
  })
  @IsOptional()
  @IsUsageLimits()
  @IsObject()
  usage_limits?: Record<string, unknown>;

  @ApiPropertyOptional({ type: [IncludedProductDto], example: [{ product_id: 'gpt-4o-mini', included_amount: '100000' }] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  @Type(() => IncludedProductDto)
  included_products?: IncludedProductDto[];

  @ApiPropertyOptional({ example: 'community', nullable: true, type: String })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  @NO_CONTROL_CHARS
  support_level?: string | null;

  @ApiPropertyOptional({ example: true, default: true })
  @IsOptional()
  @IsBoolean()
  is_public?: boolean;

  @ApiPropertyOptional({ example: true, default: true })
  @IsOptional()
  @IsBoolean()
  is_active?: boolean;

  @ApiPropertyOptional({ example: 0, default: 0 })
  @IsOptional()
  @IsInt()
  @Min(-1_000_000)
  @Max(1_000_000)
  display_order?: number;
}

/** POST /plans: the shape of a plan in catalog.json. */
export class CreatePlanDto extends PlanFieldsDto {
  @ApiProperty({ example: 'tier_free_001' })
  @IsIdentifier()
  plan_id!: string;

  @ApiProperty({ example: 'Free' })
  @IsString()
  @Length(1, 255)
  @NO_CONTROL_CHARS
  name!: string;

  @ApiProperty({ example: 'free' })
  @IsIdentifier()
  plan_tier!: string;

  @ApiProperty({ example: '0' })
  @IsDecimalString()
  monthly_price!: string;

  @ApiProperty({ example: '0' })
  @IsDecimalString()
  yearly_price!: string;
}

/** PATCH /plans/{id}: any subset of the plan's fields. */
export class UpdatePlanDto extends PlanFieldsDto {
  @ApiPropertyOptional({ example: 'Free' })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  @NO_CONTROL_CHARS
  name?: string;

  @ApiPropertyOptional({ example: 'free' })
  @IsOptional()
  @IsIdentifier()
  plan_tier?: string;

  @ApiPropertyOptional({ example: '20' })
  @IsOptional()
  @IsDecimalString()
  monthly_price?: string;

  @ApiPropertyOptional({ example: '192' })
  @IsOptional()
  @IsDecimalString()
  yearly_price?: string;
}

export class PlanIdParams {
  @ApiProperty({ example: 'tier_pro_001' })
  @IsIdentifier()
  plan_id!: string;
}

/** A plan's `usage_limits` as usageLimitsProblems reads them (one message, naming the first bad field). */
function IsUsageLimits(): PropertyDecorator {
  return ValidateBy({
    name: 'isUsageLimits',
    validator: {
      validate: (value: unknown) => usageLimitsProblems(value).length === 0,
      defaultMessage: (args) => usageLimitsProblems(args?.value)[0] ?? 'usage_limits is invalid',
    },
  });
}
