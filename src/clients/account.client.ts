import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/app-config.js';
import { ClientMetrics } from './client.metrics.js';
import { DownstreamHttp } from './downstream-http.js';
import type { AccountUser, ClientCallOptions, UserValidation } from './client.types.js';
import { DownstreamClient, pathSegment, sameId } from './downstream.client.js';

/**
 * Account service client (SPEC section 4): `GET /api/v1/accounts/profile/{user_id}`.
 * `null` = the user does not exist (404); DependencyUnavailableError = unknown (timeout, network
 * error, 5xx, open circuit). Found users are cached for CLIENT_CACHE_TTL_MS.
 */
@Injectable()
export class AccountClient extends DownstreamClient {
  constructor(http: DownstreamHttp, config: ConfigService<AppConfig, true>, metrics: ClientMetrics) {
    super('account_service', config.get('clients', { infer: true }).accountServiceUrl, http, config, metrics);
  }

  /** The user (possibly inactive: check `is_active`), or null when the account service has no such user. */
  getUser(userId: string, options?: ClientCallOptions): Promise<AccountUser | null> {
    return this.cached(`user:${userId}`, () => this.getUserProfile(userId, options));
  }

  /** Like getUser, always asked of the account service (never from the cache). */
  async getUserProfile(userId: string, options?: ClientCallOptions): Promise<AccountUser | null> {
    const segment = pathSegment(userId);
    if (segment === undefined) return null;
    const body = await this.get(`/api/v1/accounts/profile/${segment}`, options);
    return body === null ? null : this.toUser(body, userId);
  }

  async validateUser(userId: string, options?: ClientCallOptions): Promise<UserValidation> {
    const user = await this.getUser(userId, options);
    return { exists: user !== null, active: user?.is_active === true, user };
  }

  /**
   * The profile as a user, or DependencyUnavailableError for an answer that cannot be trusted: not
   * an object, the profile of another user (`user_id` present and not the one asked), or an
   * `is_active` that is neither a boolean nor "true" / "false". An account without `is_active` (or
   * null) is taken as active; only false (or "false") means inactive.
   */
  private toUser(body: unknown, userId: string): AccountUser {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw this.unavailable('malformed user profile');
    const raw = body as Record<string, unknown>;
    if (raw.user_id !== undefined && raw.user_id !== null && !sameId(raw.user_id, userId)) {
      throw this.unavailable('user profile of another user');
    }
    const flag = raw.is_active;
    if (flag !== undefined && flag !== null && typeof flag !== 'boolean' && flag !== 'true' && flag !== 'false') {
      throw this.unavailable('malformed user profile (is_active)');
    }
    return { ...raw, user_id: userId, is_active: flag !== false && flag !== 'false' };
  }
}
