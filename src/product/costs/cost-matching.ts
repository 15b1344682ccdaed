import { Decimal } from '../../common/money/decimal.js';

/**
 * The lookup rule of provider cost definitions (SPEC section 7), pure. A definition answers a query
 * when it is active and effective at `at` (effective_from ≤ at < effective_until), has the query's
 * `service_type`, each of `product_id`, `provider`, `model_name`, `operation_type` that it sets
 * equals the query's value (a field it leaves null matches anything, a field it sets does not match
 * a value the query leaves out), and a given `unit_type` equals its own. Of those, the most specific
 * (most of the four fields set) wins, then the latest `effective_from`, then the smallest `cost_id`
 * (so the answer never depends on load order).
 */
export interface CostQuery {
  serviceType: string;
  productId?: string | null;
  provider?: string | null;
  modelName?: string | null;
  operationType?: string | null;
  unitType?: string | null;
}

/** What the rule reads of a definition (CostDefinitionEntity has it). */
export interface MatchableCost {
  costId: string;
  serviceType: string;
  productId: string | null;
  provider: string | null;
  modelName: string | null;
  operationType: string | null;
  unitType: string;
  isActive: boolean;
  effectiveFrom: Date;
  effectiveUntil: Date | null;
}

/** How many of the four optional match fields a definition sets (0-4). */
export function specificity(d: MatchableCost): number {
  return (
    (d.productId !== null ? 1 : 0) + (d.provider !== null ? 1 : 0) + (d.modelName !== null ? 1 : 0) + (d.operationType !== null ? 1 : 0)
  );
}

const fieldMatches = (own: string | null, given: string | null | undefined): boolean => own === null || own === given;

export function isEffective(d: MatchableCost, at: Date): boolean {
  const t = at.getTime();
  return d.isActive && d.effectiveFrom.getTime() <= t && (d.effectiveUntil === null || d.effectiveUntil.getTime() > t);
}

export function matches(d: MatchableCost, q: CostQuery, at: Date): boolean {
  return (
    d.serviceType === q.serviceType &&
    isEffective(d, at) &&
    fieldMatches(d.productId, q.productId) &&
    fieldMatches(d.provider, q.provider) &&
    fieldMatches(d.modelName, q.modelName) &&
    fieldMatches(d.operationType, q.operationType) &&
    (q.unitType === undefined || q.unitType === null || d.unitType === q.unitType)
  );
}

/** Orders definitions best first: most specific, then latest effective_from, then cost_id. */
export function compareCandidates(a: MatchableCost, b: MatchableCost): number {
  return (
    specificity(b) - specificity(a) ||
    b.effectiveFrom.getTime() - a.effectiveFrom.getTime() ||
    (a.costId < b.costId ? -1 : a.costId > b.costId ? 1 : 0)
  );
}

/** The definition the lookup answers, or undefined. `definitions` in any order. */
export function bestMatch<T extends MatchableCost>(definitions: readonly T[], q: CostQuery, at: Date): T | undefined {
  let best: T | undefined;
  for (const d of definitions) if (matches(d, q, at) && (best === undefined || compareCandidates(d, best) < 0)) best = d;
  return best;
}

/** Decimal places a provider cost keeps when the division does not terminate (it is exact otherwise). */
export const PROVIDER_COST_SCALE = 30;

/**
 * usage_amount / unit_size × cost_per_unit, exactly (computed as amount × cost / size); a quotient
 * that does not terminate within PROVIDER_COST_SCALE places is rounded half-up there.
 */
export function providerCost(amount: Decimal, costPerUnit: string, unitSize: string): Decimal {
  return amount.times(costPerUnit).div(unitSize).toDecimalPlaces(PROVIDER_COST_SCALE, Decimal.ROUND_HALF_UP);
}
