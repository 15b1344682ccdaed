/** What the account and organization services answer (SPEC section 4); extra fields are kept. */
export interface AccountUser {
  user_id: string;
  email?: string;
  name?: string;
  is_active: boolean;
  [key: string]: unknown;
}

export interface Organization {
  organization_id: string;
  name?: string;
  status?: string;
  [key: string]: unknown;
}

export interface OrganizationMember {
  user_id: string;
  role?: string;
  status?: string;
}

/** Per-call context carried to the downstream service (its X-Request-Id). */
export interface ClientCallOptions {
  requestId?: string;
}

/**
 * The downstream service could not answer (timeout, network error, 5xx, open circuit): the answer
 * is unknown, not "no". Callers apply DEPENDENCY_FAILURE_POLICY.
 */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly service: 'account_service' | 'organization_service',
    readonly reason: string,
  ) {
    super(`${service} unavailable: ${reason}`);
    this.name = 'DependencyUnavailableError';
  }
}

/** `validateUser`: does the user exist, and is it active? */
export interface UserValidation {
  exists: boolean;
  active: boolean;
  user: AccountUser | null;
}

/** `validateOrganization`: does the organization exist, and is it active (status absent or "active")? */
export interface OrganizationValidation {
  exists: boolean;
  active: boolean;
  organization: Organization | null;
}

/** A downstream service's `/health` as seen through its client (and circuit breaker). */
export interface DownstreamHealth {
  status: 'up' | 'down';
  circuit: 'closed' | 'half_open' | 'open';
  message?: string;
  response_time_ms?: number;
}
