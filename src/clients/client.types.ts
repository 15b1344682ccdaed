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
