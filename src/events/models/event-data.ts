/**
 * The data of every event this service publishes (SPEC section 3). Decimals are strings,
 * timestamps ISO 8601 UTC strings. The events work turns these into validated classes that also
 * drive the AsyncAPI document; publisher method names and shapes stay as they are.
 */
type Json = Record<string, unknown>;

export interface SubscriptionCreatedData {
  subscription_id: string;
  user_id: string;
  organization_id: string | null;
  plan_id: string;
  plan_tier: string;
  billing_cycle: string;
  status: string;
  seats: number;
  price: string;
  currency: string;
  current_period_start: string;
  current_period_end: string;
  trial_end: string | null;
  metadata: Json;
}

export interface SubscriptionStatusChangedData {
  subscription_id: string;
  user_id: string;
  organization_id: string | null;
  plan_id: string;
  old_status: string;
  new_status: string;
  reason: string | null;
  metadata: Json;
}

/** subscription.activated / .canceled / .expired: status_changed data plus these */
export interface SubscriptionLifecycleData extends SubscriptionStatusChangedData {
  cancellation_reason?: string | null;
  expiration_date?: string | null;
}

export interface SubscriptionRenewedData {
  subscription_id: string;
  user_id: string;
  plan_id: string;
  price: string;
  currency: string;
  current_period_start: string;
  current_period_end: string;
}

export interface SubscriptionPlanChangedData {
  subscription_id: string;
  user_id: string;
  old_plan_id: string;
  new_plan_id: string;
}

export interface ProductUsageRecordedData {
  usage_record_id: string;
  user_id: string;
  organization_id: string | null;
  subscription_id: string | null;
  product_id: string;
  usage_amount: string;
  unit_price: string;
  total_cost: string;
  currency: string;
  is_free_tier: boolean;
  session_id: string | null;
  request_id: string | null;
  usage_details: Json | null;
  usage_timestamp: string;
}

export interface CatalogChangedData {
  entity: 'product' | 'pricing' | 'category' | 'plan';
  id: string;
  change: 'created' | 'updated' | 'retired';
}
