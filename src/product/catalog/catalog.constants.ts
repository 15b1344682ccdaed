/** Product types the catalog accepts (SPEC section 7). */
export const PRODUCT_TYPES = [
  'model_inference',
  'agent_execution',
  'storage_minio',
  'api_gateway',
  'api_service',
  'mcp_tool',
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
