import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../../database/unit-of-work.js';
import { SubscriptionEntity } from './subscription.entity.js';
import { ENTITLING_STATUSES } from './subscription-state-machine.js';

/**
 * Entitlements: does a user hold an entitling (active / trialing) subscription whose plan includes
 * a product? A personal subscription counts everywhere; an organization's subscription counts when
 * the question is asked for that organization.
 */
@Injectable()
export class EntitlementService {
  constructor(private readonly uow: UnitOfWork) {}

  async isEntitled(userId: string, productId: string, organizationId?: string | null): Promise<boolean> {
    const subs = await this.uow.read((tx) =>
      tx.manager
        .createQueryBuilder(SubscriptionEntity, 's')
        .where('s.user_id = :userId AND s.status IN (:...st)', { userId, st: ENTITLING_STATUSES })
        .andWhere('(s.organization_id IS NULL OR s.organization_id = :org)', { org: organizationId ?? null })
        .getMany(),
    );
    return subs.some((s) => s.includedProducts.some((p) => p.product_id === productId));
  }
}
