/** Product types the catalog accepts (SPEC section 7: the platform's own list, aliases included). */
export const PRODUCT_TYPES = [
  'model_inference',
  'model',
  'agent_execution',
  'agent',
  'agent_runtime',
  'storage_minio',
  'storage',
  'api_gateway',
  'api_service',
  'mcp_tool',
  'mcp_service',
  'notification',
  'computation',
  'data_processing',
  'integration',
  'other',
] as const;

/** Pricing types a product's pricing may have. */
export const PRICING_TYPES = ['usage_based', 'subscription', 'freemium', 'hybrid', 'one_time'] as const;

/** The free tier renews per calendar month (the only period the engine knows). */
export const FREE_TIER_PERIODS = ['monthly'] as const;
