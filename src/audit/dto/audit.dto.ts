import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsIdentifier, IsLimit, IsTimestamp } from '../../common/validation/validators.js';
import { AUDIT_RESOURCE_TYPES } from '../audit-trail.service.js';

export class ListAuditQuery {
  @ApiPropertyOptional({ enum: AUDIT_RESOURCE_TYPES, example: 'product' })
  @IsOptional()
  @IsIn(AUDIT_RESOURCE_TYPES, { message: `resource_type must be one of ${AUDIT_RESOURCE_TYPES.join(', ')}` })
  resource_type?: string;

  @ApiPropertyOptional({ example: 'gpt-4o-mini' })
  @IsOptional()
  @IsIdentifier()
  resource_id?: string;

  @ApiPropertyOptional({ example: '2026-11-01', description: 'at ≥ this (ISO 8601 or YYYY-MM-DD; no offset = UTC)' })
  @IsOptional()
  @IsTimestamp(true)
  start?: string;

  @ApiPropertyOptional({ example: '2026-12-01', description: 'at < this' })
  @IsOptional()
  @IsTimestamp(true)
  end?: string;

  @ApiPropertyOptional({ example: 50, default: 50, minimum: 1, maximum: 200 })
  @IsLimit()
  limit?: number;

  @ApiPropertyOptional({ description: 'opaque cursor from X-Next-Cursor' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  cursor?: string;
}
