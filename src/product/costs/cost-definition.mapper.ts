import type { CostDefinitionEntity } from './cost-definition.entity.js';

/** A provider cost definition as the API shows it (decimals as strings, as written; timestamps ISO 8601 UTC). */
export interface CostDefinitionResponse {
  cost_id: string;
  product_id: string | null;
  service_type: string;
  provider: string | null;
  model_name: string | null;
  operation_type: string | null;
  cost_per_unit: string;
  unit_type: string;
  unit_size: string;
  currency: string;
  original_cost_usd: string | null;
  margin_percentage: string | null;
  effective_from: string;
  effective_until: string | null;
  free_tier_limit: string | null;
  free_tier_period: string | null;
  is_active: boolean;
  description: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

const iso = (d: Date | string): string => new Date(d).toISOString();

export function toCostDefinitionResponse(d: CostDefinitionEntity): CostDefinitionResponse {
  return {
    cost_id: d.costId,
    product_id: d.productId,
    service_type: d.serviceType,
    provider: d.provider,
    model_name: d.modelName,
    operation_type: d.operationType,
    cost_per_unit: d.costPerUnit,
    unit_type: d.unitType,
    unit_size: d.unitSize,
    currency: d.currency,
    original_cost_usd: d.originalCostUsd,
    margin_percentage: d.marginPercentage,
    effective_from: iso(d.effectiveFrom),
    effective_until: d.effectiveUntil === null ? null : iso(d.effectiveUntil),
    free_tier_limit: d.freeTierLimit,
    free_tier_period: d.freeTierPeriod,
    is_active: d.isActive,
    description: d.description,
    metadata: d.metadata ?? {},
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
  };
}

export const COST_DEFINITION_EXAMPLE: CostDefinitionResponse = {
  cost_id: 'openai-gpt-4o-mini-2026-12',
  product_id: 'gpt-4o-mini',
  service_type: 'model_inference',
  provider: 'openai',
  model_name: 'gpt-4o-mini',
  operation_type: null,
  cost_per_unit: '0.15',
  unit_type: 'token',
  unit_size: '1000000',
  currency: 'USD',
  original_cost_usd: '0.15',
  margin_percentage: '100',
  effective_from: '2026-12-01T00:00:00.000Z',
  effective_until: null,
  free_tier_limit: null,
  free_tier_period: null,
  is_active: true,
  description: 'OpenAI list price per 1M tokens',
  metadata: {},
  created_at: '2026-11-25T10:00:00.000Z',
  updated_at: '2026-11-25T10:00:00.000Z',
};
