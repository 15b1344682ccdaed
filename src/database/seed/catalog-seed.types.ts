/** The shapes of the reference catalog's entries (and of the catalog write API's bodies). */
export interface SeedTier {
  tier_name: string;
  min_units: string;
  max_units: string | null;
  unit_price: string;
}

export interface SeedPricing {
  pricing_type: string;
  unit_type: string;
  currency: string;
  free_tier_limit: string;
  free_tier_period: string;
  tiers: SeedTier[];
}

export interface SeedCategory {
  category_id: string;
  name: string;
  description: string | null;
  display_order: number;
}

export interface SeedProduct {
  product_id: string;
  name: string;
  product_code: string | null;
  description: string | null;
  category_id: string;
  product_type: string;
  provider: string | null;
  features: unknown[];
  quota_limits: Record<string, unknown>;
  metadata: Record<string, unknown>;
  requires_subscription: boolean;
  pricing: SeedPricing;
}

export interface SeedPlan {
  plan_id: string;
  name: string;
  plan_tier: string;
  description: string | null;
  monthly_price: string;
  yearly_price: string;
  per_seat: boolean;
  currency: string;
  included_credits: number | string;
  credit_rollover: boolean;
  max_rollover_credits: number | string | null;
  target_audience: string | null;
  min_seats: number;
  max_seats: number | null;
  trial_days: number;
  features: unknown[];
  usage_limits: Record<string, unknown>;
  included_products: { product_id: string; included_amount: string | null }[];
  support_level: string | null;
  is_public: boolean;
  display_order: number;
}

export interface CatalogSeed {
  categories: SeedCategory[];
  products: SeedProduct[];
  plans: SeedPlan[];
}
