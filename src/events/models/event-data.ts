import { EventField as F, EventSchema } from './event-field.js';

/**
 * The data of every event this service publishes (SPEC section 3), as validated classes. Decimals
 * are strings, timestamps ISO 8601 UTC strings. The publisher validates every payload against its
 * class before it writes the outbox row, and the AsyncAPI document is generated from the same
 * classes. The `*Data` names are the shapes business code passes to `EventPublisher`.
 */
type Json = Record<string, unknown>;

const STATUSES = ['incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'unpaid', 'paused', 'canceled', 'expired'] as const;
const CYCLES = ['monthly', 'quarterly', 'yearly', 'one_time'] as const;

@EventSchema({ title: 'SubscriptionCreatedEvent', description: 'A subscription was created.' })
export class SubscriptionCreatedEvent {
  @F.id({ example: 'sub_7f3c2a' }) subscription_id!: string;
  @F.id({ example: 'user_123' }) user_id!: string;
  @F.id({ nullable: true, example: null }) organization_id!: string | null;
  @F.id({ example: 'pro' }) plan_id!: string;
  @F.text({ example: 'pro' }) plan_tier!: string;
  @F.enum(CYCLES, { example: 'monthly' }) billing_cycle!: string;
  @F.enum(STATUSES, { example: 'trialing' }) status!: string;
  @F.int({ min: 1, example: 1 }) seats!: number;
  @F.decimal({ example: '29.00', description: 'price for one billing cycle, exact decimal' }) price!: string;
  @F.text({ example: 'USD' }) currency!: string;
  @F.timestamp({ example: '2026-11-27T10:00:00.000Z' }) current_period_start!: string;
  @F.timestamp({ example: '2026-12-27T10:00:00.000Z' }) current_period_end!: string;
  @F.timestamp({ nullable: true, example: '2026-12-11T10:00:00.000Z' }) trial_end!: string | null;
  @F.object({ nullable: true, example: {} }) metadata!: Json | null;
}

@EventSchema({ title: 'SubscriptionStatusChangedEvent', description: 'A subscription changed status (published for every change).' })
export class SubscriptionStatusChangedEvent {
  @F.id({ example: 'sub_7f3c2a' }) subscription_id!: string;
  @F.id({ example: 'user_123' }) user_id!: string;
  @F.id({ nullable: true, example: null }) organization_id!: string | null;
  @F.id({ example: 'pro' }) plan_id!: string;
  @F.enum(STATUSES, { example: 'incomplete' }) old_status!: string;
  @F.enum(STATUSES, { example: 'active' }) new_status!: string;
  @F.string({ nullable: true, example: 'payment_completed' }) reason!: string | null;
  @F.object({ nullable: true, example: {} }) metadata!: Json | null;
}

@EventSchema({ title: 'SubscriptionActivatedEvent', description: 'A subscription became active (in addition to status_changed).' })
export class SubscriptionActivatedEvent extends SubscriptionStatusChangedEvent {
  @F.text({ example: 'pro', description: "the tier of the subscription's plan" }) plan_tier!: string;
}

@EventSchema({ title: 'SubscriptionCanceledEvent', description: 'A subscription was canceled (in addition to status_changed).' })
export class SubscriptionCanceledEvent extends SubscriptionStatusChangedEvent {
  @F.string({ nullable: true, example: 'user_deleted' }) cancellation_reason!: string | null;
}

@EventSchema({
  title: 'SubscriptionExpiredEvent',
  description: 'A subscription expired or its first payment never came (incomplete_expired), in addition to status_changed.',
})
export class SubscriptionExpiredEvent extends SubscriptionStatusChangedEvent {
  @F.timestamp({ nullable: true, example: '2026-12-27T10:00:00.000Z' }) expiration_date!: string | null;
}

@EventSchema({ title: 'SubscriptionRenewedEvent', description: 'A billing period rolled forward; billing charges on it.' })
export class SubscriptionRenewedEvent {
  @F.id({ example: 'sub_7f3c2a' }) subscription_id!: string;
  @F.id({ example: 'user_123' }) user_id!: string;
  @F.id({ example: 'pro' }) plan_id!: string;
  @F.decimal({ example: '29.00' }) price!: string;
  @F.text({ example: 'USD' }) currency!: string;
  @F.timestamp({ example: '2026-12-27T10:00:00.000Z' }) current_period_start!: string;
  @F.timestamp({ example: '2027-01-27T10:00:00.000Z' }) current_period_end!: string;
}

@EventSchema({ title: 'SubscriptionPlanChangedEvent', description: 'A plan change took effect.' })
export class SubscriptionPlanChangedEvent {
  @F.id({ example: 'sub_7f3c2a' }) subscription_id!: string;
  @F.id({ example: 'user_123' }) user_id!: string;
  @F.id({ example: 'basic' }) old_plan_id!: string;
  @F.id({ example: 'pro' }) new_plan_id!: string;
}

@EventSchema({ title: 'ProductUsageRecordedEvent', description: 'A usage record was stored (never for a deduplicated repeat).' })
export class ProductUsageRecordedEvent {
  @F.id({ example: '0b9c1c9e-3d0b-4c38-9d8e-5f6f0f5f8a11' }) usage_record_id!: string;
  @F.id({ example: 'user_123' }) user_id!: string;
  @F.id({ nullable: true, example: null }) organization_id!: string | null;
  @F.id({ nullable: true, example: 'sub_7f3c2a' }) subscription_id!: string | null;
  @F.id({ example: 'minio_storage' }) product_id!: string;
  @F.decimal({ example: '2147483648' }) usage_amount!: string;
  @F.decimal({ example: '0.000000000023' }) unit_price!: string;
  @F.decimal({ example: '0.024696061952' }) total_cost!: string;
  @F.text({ example: 'USD' }) currency!: string;
  @F.boolean({ example: false }) is_free_tier!: boolean;
  @F.id({ nullable: true, example: null }) session_id!: string | null;
  @F.id({ nullable: true, example: 'req-42' }) request_id!: string | null;
  @F.object({ nullable: true, example: null }) usage_details!: Json | null;
  @F.timestamp({ example: '2026-11-27T10:00:00.000Z' }) usage_timestamp!: string;
}

@EventSchema({
  title: 'ProductUsageVoidedEvent',
  description:
    "Units of a usage record were voided (a correction): credit `credited_cost`, the cost of the record's last `voided_amount` units at its own tiers.",
})
export class ProductUsageVoidedEvent {
  @F.id({ example: '0b9c1c9e-3d0b-4c38-9d8e-5f6f0f5f8a11' }) usage_record_id!: string;
  @F.id({ example: 'user_123' }) user_id!: string;
  @F.id({ nullable: true, example: null }) organization_id!: string | null;
  @F.id({ nullable: true, example: null }) subscription_id!: string | null;
  @F.id({ example: 'minio_storage' }) product_id!: string;
  @F.decimal({ example: '1073741824', description: 'units voided by this correction' }) voided_amount!: string;
  @F.decimal({ example: '0.024696061952', description: 'what to credit, exact decimal' }) credited_cost!: string;
  @F.text({ example: 'USD' }) currency!: string;
  @F.string({ example: 'duplicate upload', maxLength: 1000 }) reason!: string;
  @F.timestamp({ example: '2026-11-27T10:00:00.000Z' }) voided_at!: string;
}

@EventSchema({
  title: 'ProductUsageThresholdReachedEvent',
  description:
    "A user's usage reached `threshold_percent` of a plan limit in a window (used ≥ limit × percent / 100): published once per threshold per window.",
})
export class ProductUsageThresholdReachedEvent {
  @F.id({ example: 'user_123' }) user_id!: string;
  @F.id({ nullable: true, example: null }) organization_id!: string | null;
  @F.id({ example: 'sub_7f3c2a', description: 'the entitling subscription whose plan sets the limit' }) subscription_id!: string;
  @F.id({ example: 'gpt-4o-mini', description: 'the product whose record reached the threshold' }) product_id!: string;
  @F.text({ example: 'model_inference', description: "the limit's key in the plan's usage_limits: a product type or a product id" })
  key!: string;
  @F.enum(['daily_requests', 'period_units'], { example: 'daily_requests' }) kind!: 'daily_requests' | 'period_units';
  @F.number({ example: 80 }) threshold_percent!: number;
  @F.amount({ example: 100, description: 'daily_requests: an integer; period_units: a decimal string' }) limit!: number | string;
  @F.amount({ example: 80, description: 'what was used when the threshold was reached (same type as limit)' }) used!: number | string;
  @F.timestamp({ example: '2026-11-27T00:00:00.000Z' }) window_start!: string;
  @F.timestamp({ example: '2026-11-28T00:00:00.000Z' }) window_end!: string;
}

@EventSchema({ title: 'CatalogChangedEvent', description: 'A product, its pricing, a category or a plan changed.' })
export class CatalogChangedEvent {
  @F.enum(['product', 'pricing', 'category', 'plan'], { example: 'product' }) entity!: 'product' | 'pricing' | 'category' | 'plan';
  @F.id({ example: 'minio_storage' }) id!: string;
  @F.enum(['created', 'updated', 'retired'], { example: 'updated' }) change!: 'created' | 'updated' | 'retired';
}

@EventSchema({
  title: 'CostDefinitionsChangedEvent',
  description: 'Provider cost definitions (what a unit costs the platform) were created, changed, retired or rotated.',
})
export class CostDefinitionsChangedEvent {
  @F.ids({ example: ['openai-gpt-4o-mini-2026-12', 'openai-gpt-4o-mini-2026-11'], description: 'every definition the change touched' })
  cost_ids!: string[];
  @F.enum(['created', 'updated', 'retired', 'rotated'], {
    example: 'rotated',
    description: 'rotated: new definitions started and the ones they replace got effective_until',
  })
  change!: 'created' | 'updated' | 'retired' | 'rotated';
}

// The shapes business code passes to EventPublisher (kept from the first version of this file).
export type SubscriptionCreatedData = SubscriptionCreatedEvent;
export type SubscriptionStatusChangedData = SubscriptionStatusChangedEvent;
/** subscription.activated / .canceled / .expired: status_changed data plus these */
export interface SubscriptionLifecycleData extends SubscriptionStatusChangedData {
  /** the plan's tier (carried by subscription.activated) */
  plan_tier: string;
  cancellation_reason?: string | null;
  expiration_date?: string | null;
}
export type SubscriptionRenewedData = SubscriptionRenewedEvent;
export type SubscriptionPlanChangedData = SubscriptionPlanChangedEvent;
export type ProductUsageRecordedData = ProductUsageRecordedEvent;
export type CatalogChangedData = CatalogChangedEvent;
export type ProductUsageVoidedData = ProductUsageVoidedEvent;
export type ProductUsageThresholdReachedData = ProductUsageThresholdReachedEvent;
export type CostDefinitionsChangedData = CostDefinitionsChangedEvent;
