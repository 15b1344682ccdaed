import type { IncludedProduct } from '../catalog/entities/plan.entity.js';
import type { SubscriptionEntity } from './subscription.entity.js';
import { isTerminal } from './subscription-state-machine.js';

/** The SPEC subscription object (snake_case, decimals as strings, UTC ISO timestamps). */
export interface SubscriptionView {
  subscription_id: string;
  user_id: string;
  organization_id: string | null;
  plan_id: string;
  plan_tier: string;
  status: string;
  billing_cycle: string;
  seats: number;
  price: string;
  currency: string;
  current_period_start: string;
  current_period_end: string;
  trial_start: string | null;
  trial_end: string | null;
  cancel_at_period_end: boolean;
  canceled_at: string | null;
  cancellation_reason: string | null;
  pending_plan_id: string | null;
  next_billing_date: string | null;
  payment_method_id: string | null;
  included_products: IncludedProduct[];
  quota_limits: Record<string, unknown>;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/**
 * When billing next charges: the trial end while trialing, the period end while the subscription
 * will renew; null when nothing will be charged (terminal, cancel pending, one_time, incomplete
 * waiting for its first payment, paused).
 */
export function nextBillingDate(s: SubscriptionEntity): Date | null {
  if (isTerminal(s.status) || s.cancelAtPeriodEnd) return null;
  if (s.status === 'trialing') return s.trialEnd;
  if (s.billingCycle === 'one_time' || s.status === 'incomplete' || s.status === 'paused') return null;
  return s.currentPeriodEnd;
}

export function toSubscriptionView(s: SubscriptionEntity): SubscriptionView {
  return {
    subscription_id: s.subscriptionId,
    user_id: s.userId,
    organization_id: s.organizationId,
    plan_id: s.planId,
    plan_tier: s.planTier,
    status: s.status,
    billing_cycle: s.billingCycle,
    seats: s.seats,
    price: s.price,
    currency: s.currency,
    current_period_start: s.currentPeriodStart.toISOString(),
    current_period_end: s.currentPeriodEnd.toISOString(),
    trial_start: iso(s.trialStart),
    trial_end: iso(s.trialEnd),
    cancel_at_period_end: s.cancelAtPeriodEnd,
    canceled_at: iso(s.canceledAt),
    cancellation_reason: s.cancellationReason,
    pending_plan_id: s.pendingPlanId,
    next_billing_date: iso(nextBillingDate(s)),
    payment_method_id: s.paymentMethodId,
    included_products: s.includedProducts,
    quota_limits: s.quotaLimits,
    metadata: s.metadata,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
  };
}

export const SUBSCRIPTION_EXAMPLE: SubscriptionView = {
  subscription_id: 'sub_4f1c2d3e5a6b4c7d8e9f0a1b2c3d4e5f',
  user_id: 'user_123',
  organization_id: null,
  plan_id: 'tier_pro_001',
  plan_tier: 'pro',
  status: 'trialing',
  billing_cycle: 'monthly',
  seats: 1,
  price: '20',
  currency: 'USD',
  current_period_start: '2026-11-25T10:00:00.000Z',
  current_period_end: '2026-12-09T10:00:00.000Z',
  trial_start: '2026-11-25T10:00:00.000Z',
  trial_end: '2026-12-09T10:00:00.000Z',
  cancel_at_period_end: false,
  canceled_at: null,
  cancellation_reason: null,
  pending_plan_id: null,
  next_billing_date: '2026-12-09T10:00:00.000Z',
  payment_method_id: null,
  included_products: [{ product_id: 'gpt-4o-mini', included_amount: '5000000' }],
  quota_limits: { storage_gb: 50 },
  metadata: {},
  created_at: '2026-11-25T10:00:00.000Z',
  updated_at: '2026-11-25T10:00:00.000Z',
};
