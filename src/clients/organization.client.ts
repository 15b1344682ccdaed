import { Injectable } from '@nestjs/common';
import type { ClientCallOptions, Organization } from './client.types.js';

/**
 * Organization service client. `null` = the organization does not exist (404);
 * DependencyUnavailableError = unknown.
 * TODO(clients issue): implement on HttpService with timeout, retries, breaker and cache.
 */
@Injectable()
export class OrganizationClient {
  getOrganization(_orgId: string, _options?: ClientCallOptions): Promise<Organization | null> {
    return Promise.reject(new Error('OrganizationClient.getOrganization not implemented'));
  }

  /** true when the user is an (active) member of the organization */
  checkUserInOrganization(_orgId: string, _userId: string, _options?: ClientCallOptions): Promise<boolean> {
    return Promise.reject(new Error('OrganizationClient.checkUserInOrganization not implemented'));
  }
}
