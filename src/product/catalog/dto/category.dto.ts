import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsOptional, IsString, Length, Max, MaxLength, Min } from 'class-validator';
import { IsIdentifier, IsLimit, NO_CONTROL_CHARS } from '../../../common/validation/validators.js';

/** POST /categories: the shape of a category in catalog.json. */
export class CreateCategoryDto {
  @ApiProperty({ example: 'ai_models' })
  @IsIdentifier()
  category_id!: string;

  @ApiProperty({ example: 'AI Models' })
  @IsString()
  @Length(1, 255)
  @NO_CONTROL_CHARS
  name!: string;

  @ApiPropertyOptional({ example: 'Model inference billed per token', nullable: true, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  description?: string | null;

  @ApiPropertyOptional({ example: 0, default: 0 })
  @IsOptional()
  @IsInt()
  @Min(-1_000_000)
  @Max(1_000_000)
  display_order?: number;

  @ApiPropertyOptional({ example: true, default: true })
  @IsOptional()
  @IsBoolean()
  is_active?: boolean;
}

export class ListPageQueryDto {
  @ApiPropertyOptional({ example: 50, default: 50, minimum: 1, maximum: 200 })
  @IsLimit()
  limit?: number;

  @ApiPropertyOptional({ description: 'opaque cursor from X-Next-Cursor' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  cursor?: string;
}
