/** OpenAPI examples, taken from the reference catalog so they stay truthful. */
const STAMPS = { created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z' };

export const CATEGORY_EXAMPLE = {
  category_id: 'ai_models',
  name: 'AI Models',
  description: 'Model inference billed per token',
  display_order: 0,
  is_active: true,
  ...STAMPS,
};

const TIERS = [
  { tier_name: 'base', min_units: '0', max_units: '10000000', unit_price: '0.0000003' },
  { tier_name: 'volume', min_units: '10000000', max_units: null, unit_price: '0.00000025' },
];

export const PRODUCT_EXAMPLE = {
  product_id: 'gpt-4o-mini',
  name: 'GPT-4o Mini',
  product_code: 'GPT4O-MINI',
  description: 'OpenAI GPT-4o Mini model inference',
  category_id: 'ai_models',
  product_type: 'model_inference',
  provider: 'openai',
  features: ['fast_inference', 'cost_effective', 'multimodal'],
  quota_limits: { max_tokens: 128000 },
  metadata: { model: 'gpt-4o-mini', context_window: 128000 },
  requires_subscription: false,
  is_active: true,
  pricing: {
    pricing_type: 'usage_based',
    unit_type: 'token',
    currency: 'USD',
    free_tier_limit: '100000',
    free_tier_period: 'monthly',
    tiers: TIERS,
  },
  ...STAMPS,
};

const PRICED_TIERS = TIERS.map((tier, i) => ({ pricing_id: `3f0b8a52-6c1e-4f7e-9a51-5d0c2f1e8a7${i}`, ...tier }));

export const PRICING_EXAMPLE = {
  product_id: 'gpt-4o-mini',
  product_name: 'GPT-4o Mini',
  currency: 'USD',
  pricing_type: 'usage_based',
  unit_type: 'token',
  unit_price: '0.0000003',
  base_unit_price: '0.0000003',
  tiers: PRICED_TIERS,
  pricing_model: {
    pricing_type: 'usage_based',
    unit_type: 'token',
    currency: 'USD',
    base_unit_price: '0.0000003',
    free_tier_limit: '100000',
    free_tier_period: 'monthly',
    tier_mode: 'graduated',
    tiers: PRICED_TIERS,
  },
  effective_pricing: {
    base_unit_price: '0.0000003',
    period_start: '2026-11-01T00:00:00.000Z',
    period_end: '2026-12-01T00:00:00.000Z',
    period_usage: '0',
    free_tier_remaining: '100000',
    current_tier: 'base',
  },
};

export const PLAN_EXAMPLE = {
  plan_id: 'tier_pro_001',
  name: 'Pro',
  plan_tier: 'pro',
  description: 'For professionals who need more power and flexibility',
  monthly_price: '20',
  yearly_price: '192',
  per_seat: false,
  currency: 'USD',
  included_credits: '30000000',
  credit_rollover: true,
  max_rollover_credits: '15000000',
  target_audience: 'individual',
  min_seats: 1,
  max_seats: 1,
  trial_days: 14,
  features: ['All AI models', '50GB storage'],
  usage_limits: { storage_gb: 50 },
  included_products: [
    { product_id: 'gpt-4o-mini', included_amount: '5000000' },
    { product_id: 'priority_queue', included_amount: null },
  ],
  support_level: 'email',
  is_public: true,
  is_active: true,
  display_order: 1,
  ...STAMPS,
};

/** SPEC error body example for a status and code. */
export const errorExample = (code: string, message: string, details?: { field: string; message: string }[]): Record<string, unknown> => ({
  error: { code, message, ...(details ? { details } : {}), request_id: '7f1c2e0a-5b1e-4a43-9a37-1d3e7c1f0b11' },
  detail: message,
});

export const PAGED_HEADERS = {
  Link: { description: 'next page: `<...&cursor=X>; rel="next"` (only when more rows exist)', schema: { type: 'string' } },
  'X-Next-Cursor': { description: 'opaque cursor of the next page (only when more rows exist)', schema: { type: 'string' } },
};
