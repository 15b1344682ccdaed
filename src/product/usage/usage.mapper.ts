import type { ProductEntity } from '../catalog/entities/product.entity.js';
import type { UsageRecordEntity } from './usage-record.entity.js';

export interface UsageRecordView {
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
  period_start: string;
  period_end: string;
  session_id: string | null;
  request_id: string | null;
  usage_details: Record<string, unknown> | null;
  usage_timestamp: string;
  created_at: string;
  /** units voided so far (SPEC section 8) */
  voided_amount: string;
  /** what the voids credited so far */
  credited_cost: string;
  /** stored past a plan limit */
  over_quota: boolean;
}

export function toUsageRecordView(r: UsageRecordEntity): UsageRecordView {
  return {
    usage_record_id: r.usageRecordId,
    user_id: r.userId,
    organization_id: r.organizationId,
    subscription_id: r.subscriptionId,
    product_id: r.productId,
    usage_amount: r.usageAmount,
    unit_price: r.unitPrice,
    total_cost: r.totalCost,
    currency: r.currency,
    is_free_tier: r.isFreeTier,
    period_start: r.periodStart.toISOString(),
    period_end: r.periodEnd.toISOString(),
    session_id: r.sessionId,
    request_id: r.requestId,
    usage_details: r.usageDetails,
    usage_timestamp: r.usageTimestamp.toISOString(),
    created_at: r.createdAt.toISOString(),
    voided_amount: r.voidedAmount ?? '0',
    credited_cost: r.creditedCost ?? '0',
    over_quota: r.overQuota ?? false,
  };
}

export const USAGE_RECORD_EXAMPLE: UsageRecordView = {
  usage_record_id: '0b9f3a52-3c1e-4f7e-9a51-5d0c2f1e8a77',
  user_id: 'user_123',
  organization_id: null,
  subscription_id: null,
  product_id: 'minio_storage',
  usage_amount: '1073741824',
  unit_price: '0.000000000023',
  total_cost: '0.024696061952',
  currency: 'USD',
  is_free_tier: false,
  period_start: '2026-11-01T00:00:00.000Z',
  period_end: '2026-12-01T00:00:00.000Z',
  session_id: null,
  request_id: 'req-42',
  usage_details: null,
  usage_timestamp: '2026-11-25T10:00:00.000Z',
  created_at: '2026-11-25T10:00:00.120Z',
  voided_amount: '0',
  credited_cost: '0',
  over_quota: false,
};

/** The answer of POST /usage/record. */
export interface RecordUsageResponse {
  success: true;
  message: string;
  usage_record_id: string;
  duplicate: boolean;
  product: { product_id: string; name: string; product_type: string; unit_type: string; pricing_type: string };
  recorded_amount: string;
  unit_price: string;
  total_cost: string;
  currency: string;
  is_free_tier: boolean;
  /** stored past a plan limit */
  over_quota: boolean;
  timestamp: string;
}

/** POST /usage/record's answer for a record (`duplicate`: the stored record of a repeated request_id). */
export const toRecordUsageResponse = (record: UsageRecordEntity, product: ProductEntity, duplicate: boolean): RecordUsageResponse => ({
  success: true,
  message: duplicate ? 'Duplicate usage: already recorded, not charged again' : 'Usage recorded',
  usage_record_id: record.usageRecordId,
  duplicate,
  product: {
    product_id: product.productId,
    name: product.name,
    product_type: product.productType,
    unit_type: product.unitType,
    pricing_type: product.pricingType,
  },
  recorded_amount: record.usageAmount,
  unit_price: record.unitPrice,
  total_cost: record.totalCost,
  currency: record.currency,
  is_free_tier: record.isFreeTier,
  over_quota: record.overQuota ?? false,
  timestamp: record.usageTimestamp.toISOString(),
});
