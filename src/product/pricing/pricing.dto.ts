import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length, ValidateBy, type ValidationOptions } from 'class-validator';
import { Decimal, isDecimalString } from '../../common/money/decimal.js';
import { IsIdentifier, NO_CONTROL_CHARS } from '../../common/validation/validators.js';

export class PricingQueryDto {
  @ApiPropertyOptional({ example: 'user_123', description: 'effective pricing for this user this period' })
  @IsOptional()
  @IsIdentifier()
  user_id?: string;

  @ApiPropertyOptional({ example: 'sub_123', description: "the period is this subscription's current period" })
  @IsOptional()
  @IsIdentifier()
  subscription_id?: string;
}

export class AvailabilityQueryDto {
  @ApiPropertyOptional({ example: 'user_123' })
  @IsOptional()
  @IsIdentifier()
  user_id?: string;

  @ApiPropertyOptional({ example: 'org_123' })
  @IsOptional()
  @IsIdentifier()
  organization_id?: string;
}

/** The largest quantity a quote takes (SPEC silent: a million times the largest usage record). */
export const MAX_QUOTE_QUANTITY = new Decimal('1e18');

/**
 * A quote's `quantity`: a JSON number (finite, ≥ 0) or a plain decimal string ("1073741824.5"),
 * at most MAX_QUOTE_QUANTITY; as an exact decimal, or undefined when it is neither. A number is
 * read by its shortest decimal spelling (0.1 → 0.1 exactly), never as a binary fraction.
 */
export function parseQuantity(value: unknown): Decimal | undefined {
  let quantity: Decimal;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return undefined;
    quantity = new Decimal(value === 0 ? 0 : value); // -0 is 0
  } else if (isDecimalString(value)) {
    quantity = new Decimal(value);
  } else {
    return undefined;
  }
  return quantity.lte(MAX_QUOTE_QUANTITY) ? quantity : undefined;
}

function IsQuantity(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isQuantity',
      validator: {
        validate: (value: unknown) => parseQuantity(value) !== undefined,
        defaultMessage: (args) =>
          `${args?.property} must be a number or a decimal string (e.g. "1073741824"), at least 0 and at most ${MAX_QUOTE_QUANTITY.toFixed()}`,
      },
    },
    options,
  );
}

/** POST /api/v1/pricing/calculate (SPEC section 7). Absent and null optional fields both mean "not given". */
export class PriceQuoteDto {
  @ApiProperty({ example: 'minio_storage' })
  @IsIdentifier()
  product_id!: string;

  @ApiProperty({
    oneOf: [
      { type: 'number', minimum: 0 },
      { type: 'string', pattern: '^\\d+(\\.\\d+)?$' },
    ],
    example: 1073741824,
    description: 'units to quote: a JSON number or a decimal string, ≥ 0 (exact; no exponent in strings)',
  })
  @IsQuantity()
  quantity!: number | string;

  @ApiPropertyOptional({ example: 'byte', nullable: true, type: String, description: "must equal the product's unit_type (else 400)" })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  @NO_CONTROL_CHARS
  unit_type?: string | null;

  @ApiPropertyOptional({ example: 'standard', nullable: true, type: String, description: 'echoed in `metadata.tier_code`' })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  @NO_CONTROL_CHARS
  tier_code?: string | null;

  @ApiPropertyOptional({
    example: 'user_123',
    nullable: true,
    type: String,
    description: "quote the next units after this user's usage this period, free tier included (users: only themselves)",
  })
  @IsOptional()
  @IsIdentifier()
  user_id?: string | null;

  @ApiPropertyOptional({
    example: 'sub_123',
    nullable: true,
    type: String,
    description: "with user_id: the period is this subscription's current period (else the UTC calendar month)",
  })
  @IsOptional()
  @IsIdentifier()
  subscription_id?: string | null;
}
