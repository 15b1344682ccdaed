import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DomainError, unavailable } from '../common/errors/domain-error.js';
import type { AppConfig, DependencyFailurePolicy } from '../config/app-config.js';
import { AccountClient } from './account.client.js';
import type { ClientCallOptions } from './client.types.js';
import { OrganizationClient } from './organization.client.js';

export const ClientsErrorCode = { DEPENDENCY_UNAVAILABLE: 'DEPENDENCY_UNAVAILABLE' } as const;

/** What the account service says of a user; `unverified`: it could not answer and the policy is fail_open. */
export type UserCheck = 'active' | 'inactive' | 'not_found' | 'unverified';
/** What the organization service says of a membership; `unverified` as above. */
export type MembershipCheck = 'member' | 'not_member' | 'organization_not_found' | 'unverified';

/**
 * The port the business side asks about users and organizations, with DEPENDENCY_FAILURE_POLICY
 * applied behind it: when a service cannot answer (timeout, 5xx, open circuit), `fail_closed`
 * (the default) throws DEPENDENCY_UNAVAILABLE (kind `unavailable`: 503 with Retry-After), and
 * `fail_open` answers `unverified` and logs a warning.
 */
export abstract class PlatformDirectory {
  abstract checkUser(userId: string, options: ClientCallOptions): Promise<UserCheck>;
  abstract checkMembership(organizationId: string, userId: string, options: ClientCallOptions): Promise<MembershipCheck>;
}

@Injectable()
export class ResilientPlatformDirectory extends PlatformDirectory {
  private readonly logger = new Logger('PlatformDirectory');
  private readonly policy: DependencyFailurePolicy;

  constructor(
    private readonly accounts: AccountClient,
    private readonly organizations: OrganizationClient,
    config: ConfigService<AppConfig, true>,
  ) {
    super();
    this.policy = config.get('clients', { infer: true }).dependencyFailurePolicy;
  }

  async checkUser(userId: string, options: ClientCallOptions): Promise<UserCheck> {
    const user = await this.ask('account_service', () => this.accounts.getUser(userId, options));
    if (user === undefined) return 'unverified';
    if (user === null) return 'not_found';
    return user.is_active === false ? 'inactive' : 'active';
  }

  async checkMembership(organizationId: string, userId: string, options: ClientCallOptions): Promise<MembershipCheck> {
    const org = await this.ask('organization_service', () => this.organizations.getOrganization(organizationId, options));
    if (org === null) return 'organization_not_found';
    if (org === undefined) return 'unverified';
    const member = await this.ask('organization_service', () =>
      this.organizations.checkUserInOrganization(organizationId, userId, options),
    );
    if (member === undefined) return 'unverified';
    return member ? 'member' : 'not_member';
  }

  /** The answer; undefined when the service cannot answer and the policy is fail_open. */
  private async ask<T>(service: string, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof DomainError) throw err;
      if (this.policy === 'fail_open') {
        this.logger.warn({ err, service }, `${service} unavailable; accepting (DEPENDENCY_FAILURE_POLICY=fail_open)`);
        return undefined;
      }
      throw unavailable(ClientsErrorCode.DEPENDENCY_UNAVAILABLE, `${service} is unavailable; try again later`, 5);
    }
  }
}
