import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Length,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IsCurrency, IsDecimalString, IsIdentifier, IsLimit, NO_CONTROL_CHARS, ToBoolean } from '../../../common/validation/validators.js';
import { FREE_TIER_PERIODS, PRICING_TYPES, PRODUCT_TYPES } from '../catalog.constants.js';

export class TierDto {
  @ApiProperty({ example: 'base' })
  @IsString()
  @Length(1, 255)
  @NO_CONTROL_CHARS
  tier_name!: string;

  @ApiProperty({ example: '0', description: 'inclusive lower bound (decimal string)' })
  @IsDecimalString()
  min_units!: string;

  @ApiProperty({
    example: '10000000',
    nullable: true,
    type: String,
    description: 'exclusive upper bound; null = unbounded (last tier only)',
  })
  @ValidateIf((_, v) => v !== null)
  @IsDecimalString()
  max_units!: string | null;

  @ApiProperty({ example: '0.0000003', description: 'price of each unit in this tier (decimal string)' })
  @IsDecimalString()
  unit_price!: string;
}

/** A product's pricing: the body of PUT /products/{id}/pricing and the `pricing` of a product. */
export class PricingDto {
  @ApiProperty({ enum: PRICING_TYPES, example: 'usage_based' })
  @IsIn(PRICING_TYPES)
  pricing_type!: string;

  @ApiProperty({ example: 'token' })
  @IsString()
  @Length(1, 64)
  @NO_CONTROL_CHARS
  unit_type!: string;

  @ApiProperty({ example: 'USD' })
  @IsString()
  @IsCurrency()
  currency!: string;

  @ApiPropertyOptional({ example: '100000', default: '0', description: 'free units per period (decimal string)' })
  @IsOptional()
  @IsDecimalString()
  free_tier_limit?: string;

  @ApiPropertyOptional({ enum: FREE_TIER_PERIODS, default: 'monthly' })
  @IsOptional()
  @IsIn(FREE_TIER_PERIODS)
  free_tier_period?: string;

  @ApiProperty({
    type: [TierDto],
    description: 'graduated tiers: contiguous from 0, ordered, only the last unbounded',
    example: [
      { tier_name: 'base', min_units: '0', max_units: '10000000', unit_price: '0.0000003' },
      { tier_name: 'volume', min_units: '10000000', max_units: null, unit_price: '0.00000025' },
    ],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => TierDto)
  tiers!: TierDto[];
}

/** Fields a product has besides its id and pricing (all optional in PATCH). */
class ProductFieldsDto {
  @ApiPropertyOptional({ example: 'GPT4O-MINI', nullable: true, type: String })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  @NO_CONTROL_CHARS
  product_code?: string | null;

  @ApiPropertyOptional({ example: 'OpenAI GPT-4o Mini model inference', nullable: true, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  description?: string | null;

  @ApiPropertyOptional({ example: 'openai', nullable: true, type: String })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  @NO_CONTROL_CHARS
  provider?: string | null;

  @ApiPropertyOptional({ example: ['fast_inference', 'cost_effective'], type: [Object] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  features?: unknown[];

  @ApiPropertyOptional({ example: { max_tokens: 128000 }, type: Object })
  @IsOptional()
  @IsObject()
  quota_limits?: Record<string, unknown>;

  @ApiPropertyOptional({ example: { model: 'gpt-4o-mini' }, type: Object })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;

  @ApiPropertyOptional({ example: false, default: false })
  @IsOptional()
  @IsBoolean()
  requires_subscription?: boolean;

  @ApiPropertyOptional({ example: true, default: true })
  @IsOptional()
  @IsBoolean()
  is_active?: boolean;
}

/** POST /products: the shape of a product in catalog.json, with its pricing. */
export class CreateProductDto extends ProductFieldsDto {
  @ApiProperty({ example: 'gpt-4o-mini' })
  @IsIdentifier()
  product_id!: string;

  @ApiProperty({ example: 'GPT-4o Mini' })
  @IsString()
  @Length(1, 255)
  @NO_CONTROL_CHARS
  name!: string;

  @ApiProperty({ example: 'ai_models' })
  @IsIdentifier()
  category_id!: string;

  @ApiProperty({ enum: PRODUCT_TYPES, example: 'model_inference' })
  @IsIn(PRODUCT_TYPES, { message: `product_type must be one of ${PRODUCT_TYPES.join(', ')}` })
  product_type!: string;

  @ApiProperty({ type: PricingDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => PricingDto)
  pricing!: PricingDto;
}

/** PATCH /products/{id}: any subset of the product's fields (pricing has its own PUT). */
export class UpdateProductDto extends ProductFieldsDto {
  @ApiPropertyOptional({ example: 'GPT-4o Mini' })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  @NO_CONTROL_CHARS
  name?: string;

  @ApiPropertyOptional({ example: 'ai_models' })
  @IsOptional()
  @IsIdentifier()
  category_id?: string;

  @ApiPropertyOptional({ enum: PRODUCT_TYPES, example: 'model_inference' })
  @IsOptional()
  @IsIn(PRODUCT_TYPES, { message: `product_type must be one of ${PRODUCT_TYPES.join(', ')}` })
  product_type?: string;
}

/**
 * PUT /admin/products/{id}: the whole product (the POST body; `product_id` may be left out, and
 * must be the path's when given; `pricing` may be left out: the pricing is then unchanged).
 */
export class ReplaceProductDto extends ProductFieldsDto {
  @ApiPropertyOptional({ example: 'gpt-4o-mini', description: "the path's product_id, or absent" })
  @IsOptional()
  @IsIdentifier()
  product_id?: string;

  @ApiProperty({ example: 'GPT-4o Mini' })
  @IsString()
  @Length(1, 255)
  @NO_CONTROL_CHARS
  name!: string;

  @ApiProperty({ example: 'ai_models' })
  @IsIdentifier()
  category_id!: string;

  @ApiProperty({ enum: PRODUCT_TYPES, example: 'model_inference' })
  @IsIn(PRODUCT_TYPES)
  product_type!: string;

  @ApiPropertyOptional({ type: PricingDto, description: 'given: replaces the pricing and its tier table; absent: unchanged' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => PricingDto)
  pricing?: PricingDto;
}

export class PricingIdParams {
  @ApiProperty({ example: '3f0b8a52-6c1e-4f7e-9a51-5d0c2f1e8a77', description: 'a tier row: the pricing_id of the pricing response' })
  @IsIdentifier()
  pricing_id!: string;
}

export class ListProductsQueryDto {
  @ApiPropertyOptional({ example: 'ai_models' })
  @IsOptional()
  @IsIdentifier()
  category_id?: string;

  @ApiPropertyOptional({ enum: PRODUCT_TYPES, example: 'model_inference', description: 'an unknown type is 400' })
  @IsOptional()
  @IsIn(PRODUCT_TYPES, { message: `product_type must be one of ${PRODUCT_TYPES.join(', ')}` })
  product_type?: string;

  @ApiPropertyOptional({
    example: true,
    default: true,
    type: Boolean,
    description: 'true / false / 1 / 0 in any letter case (`True` as Python writes it)',
  })
  @IsOptional()
  @ToBoolean()
  @IsBoolean({ message: 'is_active must be true or false' })
  is_active?: boolean;

  @ApiPropertyOptional({ example: 'gpt', description: 'case-insensitive substring of the name' })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  @NO_CONTROL_CHARS
  q?: string;

  @ApiPropertyOptional({ example: 50, default: 50, minimum: 1, maximum: 200 })
  @IsLimit()
  limit?: number;

  @ApiPropertyOptional({ description: 'opaque cursor from X-Next-Cursor' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  cursor?: string;
}

export class ProductIdParams {
  @ApiProperty({ example: 'gpt-4o-mini' })
  @IsIdentifier()
  product_id!: string;
}
