import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { IsIdentifier, IsLimit, MaxEventObjectSize, NO_CONTROL_CHARS } from '../../../common/validation/validators.js';
import { BILLING_CYCLES, type BillingCycle } from '../billing-period.js';
import { SUBSCRIPTION_STATUSES, type SubscriptionStatus } from '../subscription-state-machine.js';

export const MAX_SEATS = 1_000_000;
/** One message for seats' three rules (one detail: `"2"` had been told three things) */
export const SEATS_MESSAGE = `seats must be an integer from 1 to ${MAX_SEATS}`;

/**
 * POST /subscriptions' body, as OpenAPI documents it. Requests are checked by the field table of
 * create-subscription.validation.ts (CreateSubscriptionPipe); these decorators are its reference:
 * its unit test holds the two to the same verdicts and messages.
 */
export class CreateSubscriptionDto {
  @ApiProperty({ example: 'user_123' })
  @IsIdentifier()
  user_id!: string;

  @ApiProperty({ example: 'tier_pro_001' })
  @IsIdentifier()
  plan_id!: string;

  @ApiPropertyOptional({ example: 'org_456', nullable: true })
  @IsOptional()
  @IsIdentifier()
  organization_id?: string | null;

  @ApiPropertyOptional({ enum: BILLING_CYCLES, default: 'monthly', nullable: true })
  @IsOptional()
  @IsIn(BILLING_CYCLES, { message: `billing_cycle must be one of ${BILLING_CYCLES.join(', ')}` })
  billing_cycle?: BillingCycle | null;

  @ApiPropertyOptional({ example: 1, default: 1, nullable: true })
  @IsOptional()
  @IsInt({ message: SEATS_MESSAGE })
  @Min(1, { message: SEATS_MESSAGE })
  @Max(MAX_SEATS, { message: SEATS_MESSAGE })
  seats?: number | null;

  @ApiPropertyOptional({ example: true, default: true, nullable: true, description: 'false skips the plan trial' })
  @IsOptional()
  @IsBoolean()
  trial?: boolean | null;

  @ApiPropertyOptional({ example: 'pm_789', nullable: true })
  @IsOptional()
  @IsIdentifier()
  payment_method_id?: string | null;

  @ApiPropertyOptional({ example: { source: 'web' }, nullable: true, description: 'at most 64 KiB as JSON (it travels in the events)' })
  @IsOptional()
  @MaxEventObjectSize()
  @IsObject()
  metadata?: Record<string, unknown> | null;
}

export class UpdateStatusDto {
  @ApiProperty({ enum: SUBSCRIPTION_STATUSES, example: 'active' })
  @IsIn(SUBSCRIPTION_STATUSES, { message: `status must be one of ${SUBSCRIPTION_STATUSES.join(', ')}` })
  status!: SubscriptionStatus;

  @ApiPropertyOptional({ example: 'manual_review', nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  @NO_CONTROL_CHARS
  reason?: string | null;
}

export class CancelSubscriptionDto {
  @ApiPropertyOptional({ example: false, default: false, nullable: true, description: 'true cancels now; default at period end' })
  @IsOptional()
  @IsBoolean()
  immediate?: boolean | null;

  @ApiPropertyOptional({ example: 'too_expensive', nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  @NO_CONTROL_CHARS
  reason?: string | null;
}

/** POST /subscriptions/{id}/resume takes no fields: no body, or an empty object (anything else is 400). */
export class ResumeSubscriptionDto {}

export class ChangePlanDto {
  @ApiProperty({ example: 'tier_max_001' })
  @IsIdentifier()
  plan_id!: string;

  @ApiPropertyOptional({ enum: BILLING_CYCLES, nullable: true, description: 'default: the current cycle' })
  @IsOptional()
  @IsIn(BILLING_CYCLES, { message: `billing_cycle must be one of ${BILLING_CYCLES.join(', ')}` })
  billing_cycle?: BillingCycle | null;

  @ApiPropertyOptional({ example: 1, nullable: true, description: 'default: the current seats' })
  @IsOptional()
  @IsInt({ message: SEATS_MESSAGE })
  @Min(1, { message: SEATS_MESSAGE })
  @Max(MAX_SEATS, { message: SEATS_MESSAGE })
  seats?: number | null;
}

export class ListUserSubscriptionsQuery {
  @ApiPropertyOptional({ enum: SUBSCRIPTION_STATUSES })
  @IsOptional()
  @IsIn(SUBSCRIPTION_STATUSES, { message: `status must be one of ${SUBSCRIPTION_STATUSES.join(', ')}` })
  status?: SubscriptionStatus;

  @ApiPropertyOptional({ example: 50, minimum: 1, maximum: 200 })
  @IsLimit()
  limit?: number;

  @ApiPropertyOptional({ description: 'opaque cursor from X-Next-Cursor' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  cursor?: string;
}

export class ListSubscriptionsQuery extends ListUserSubscriptionsQuery {
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
  plan_id?: string;
}
