import type { SubscriptionEntity } from './subscription.entity.js';
import { isEntitling } from './subscription-state-machine.js';

/**
 * The one entitlement rule: a subscription gives its user access to a product when it is entitling
 * (active or trialing), its plan includes the product, and it is personal or belongs to the
 * organization the question is asked for. A subscription named explicitly (usage recorded against
 * it) counts whatever its organization. Pure.
 */
export function entitles(
  sub: Pick<SubscriptionEntity, 'status' | 'organizationId' | 'includedProducts'>,
  productId: string,
  organizationId: string | null | undefined,
  named = false,
): boolean {
  return (
    isEntitling(sub.status) &&
    (named || sub.organizationId === null || sub.organizationId === (organizationId ?? null)) &&
    sub.includedProducts.some((p) => p.product_id === productId)
  );
}
