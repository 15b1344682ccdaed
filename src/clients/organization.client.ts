import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/app-config.js';
import { ClientMetrics } from './client.metrics.js';
import { DownstreamHttp } from './downstream-http.js';
import type { ClientCallOptions, Organization, OrganizationMember, OrganizationValidation } from './client.types.js';
import { DownstreamClient, pathSegment, sameId } from './downstream.client.js';

/** Members asked per page, and the most pages followed (a safety bound: 100 000 members). */
export const MEMBERS_PAGE_SIZE = 100;
const MAX_MEMBER_PAGES = 1000;

interface MembersPage {
  members: OrganizationMember[];
  /** entries on the page, including malformed ones (they still advance the offset) */
  count: number;
  total?: number;
}

/**
 * Organization service client (SPEC section 4): `GET /api/v1/organizations/{org_id}` and
 * `GET /api/v1/organizations/{org_id}/members?limit=&offset=`.
 * `null` = the organization does not exist (404); DependencyUnavailableError = unknown.
 */
@Injectable()
export class OrganizationClient extends DownstreamClient {
  constructor(http: DownstreamHttp, config: ConfigService<AppConfig, true>, metrics: ClientMetrics) {
    super('organization_service', config.get('clients', { infer: true }).organizationServiceUrl, http, config, metrics);
  }

  getOrganization(orgId: string, options?: ClientCallOptions): Promise<Organization | null> {
    return this.cached(`org:${orgId}`, async () => {
      const segment = pathSegment(orgId);
      if (segment === undefined) return null;
      const body = await this.get(`/api/v1/organizations/${segment}`, options);
      if (body === null) return null;
      if (typeof body !== 'object' || Array.isArray(body)) throw this.unavailable('malformed organization');
      const raw = body as Record<string, unknown>;
      if (raw.organization_id !== undefined && raw.organization_id !== null && !sameId(raw.organization_id, orgId)) {
        throw this.unavailable('another organization answered');
      }
      return { ...raw, organization_id: orgId };
    });
  }

  async validateOrganization(orgId: string, options?: ClientCallOptions): Promise<OrganizationValidation> {
    const organization = await this.getOrganization(orgId, options);
    return { exists: organization !== null, active: organization !== null && isActiveStatus(organization.status), organization };
  }

  /** Every member (all pages), or null when the organization does not exist. */
  async getOrganizationMembers(orgId: string, options?: ClientCallOptions): Promise<OrganizationMember[] | null> {
    const all: OrganizationMember[] = [];
    for await (const page of this.memberPages(orgId, options)) {
      if (page === null) return null;
      all.push(...page);
    }
    return all;
  }

  /**
   * true when the user is a member with an active (or absent) status. Pages are read until the user
   * is found. An unknown organization answers false. A positive answer is cached.
   */
  async checkUserInOrganization(orgId: string, userId: string, options?: ClientCallOptions): Promise<boolean> {
    const found = await this.cached(`member:${orgId}\u0000${userId}`, async () => {
      for await (const page of this.memberPages(orgId, options)) {
        if (page === null) return null;
        if (page.some((m) => m.user_id === userId && isActiveStatus(m.status))) return true;
      }
      return null;
    });
    return found === true;
  }

  /** Follows `limit/offset` pages; yields null once when the organization does not exist. */
  private async *memberPages(orgId: string, options?: ClientCallOptions): AsyncGenerator<OrganizationMember[] | null> {
    const segment = pathSegment(orgId);
    if (segment === undefined) {
      yield null;
      return;
    }
    let offset = 0;
    for (let pageNo = 0; pageNo < MAX_MEMBER_PAGES; pageNo += 1) {
      const body = await this.get(`/api/v1/organizations/${segment}/members?limit=${MEMBERS_PAGE_SIZE}&offset=${offset}`, options);
      if (body === null) {
        yield null;
        return;
      }
      const page = this.toMembersPage(body);
      yield page.members;
      offset += page.count;
      const done = page.total !== undefined ? offset >= page.total : page.count < MEMBERS_PAGE_SIZE;
      if (page.count === 0 || done) return;
    }
    // not read to its end: "not a member" would be a guess (a list claiming a billion members had been a 403)
    this.logger.warn({ dependency: this.service, organization_id: orgId, members_read: offset }, 'member list too long to read');
    throw this.unavailable(`member list longer than ${MAX_MEMBER_PAGES} pages`);
  }

  private toMembersPage(body: unknown): MembersPage {
    const raw = body as { members?: unknown; total?: unknown } | null;
    if (typeof raw !== 'object' || raw === null || !Array.isArray(raw.members)) throw this.unavailable('malformed member list');
    const members = raw.members as unknown[];
    // an entry without a string user_id is a malformed answer, not "someone else" (it had been read as not a member: 403)
    if (
      !members.every(
        (m): m is OrganizationMember => typeof m === 'object' && m !== null && typeof (m as { user_id?: unknown }).user_id === 'string',
      )
    ) {
      throw this.unavailable('malformed member list (an entry without a user_id)');
    }
    return {
      members,
      count: raw.members.length,
      total: typeof raw.total === 'number' && Number.isFinite(raw.total) ? raw.total : undefined,
    };
  }
}

const isActiveStatus = (status: unknown): boolean =>
  status === undefined || status === null || (typeof status === 'string' && status.toLowerCase() === 'active');
