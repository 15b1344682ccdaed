import { Injectable } from '@nestjs/common';
import type { CallContext } from '../../common/auth/principal.js';
import { PlatformDirectory } from '../../clients/platform-directory.js';
import { SubscriptionErrors } from './subscription.errors.js';

/**
 * "The user is a member of that organization" (SPEC section 2): the organization must exist (422
 * ORGANIZATION_NOT_FOUND) and list the user as an active member (403 NOT_ORGANIZATION_MEMBER). The
 * organization service's answers are cached while positive (CLIENT_CACHE_TTL_MS); while it cannot
 * answer, DEPENDENCY_FAILURE_POLICY decides (503, or accepted). Subscription creates ask it, and so
 * does a user recording usage for an organization.
 */
@Injectable()
export class Memberships {
  constructor(private readonly directory: PlatformDirectory) {}

  async assertMember(organizationId: string, userId: string, ctx: CallContext): Promise<void> {
    const membership = await this.directory.checkMembership(organizationId, userId, { requestId: ctx.requestId });
    if (membership === 'organization_not_found') throw SubscriptionErrors.organizationNotFound(organizationId);
    if (membership === 'not_member') throw SubscriptionErrors.notMember(organizationId, userId);
  }
}
