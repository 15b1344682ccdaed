import { Injectable } from '@nestjs/common';
import { entitles } from './entitlement.js';
import { SubscriptionQueries } from './subscription-queries.service.js';

/**
 * Entitlements: does a user hold an entitling (active / trialing) subscription whose plan includes
 * a product? A personal subscription counts everywhere; an organization's subscription counts when
 * the question is asked for that organization (the rule: `entitles`).
 */
@Injectable()
export class EntitlementService {
  constructor(private readonly subscriptions: SubscriptionQueries) {}

  async isEntitled(userId: string, productId: string, organizationId?: string | null): Promise<boolean> {
    const subs = await this.subscriptions.entitlingOf([userId]);
    return subs.some((s) => entitles(s, productId, organizationId));
  }
}
