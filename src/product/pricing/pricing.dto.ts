import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsIdentifier } from '../../common/validation/validators.js';

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
