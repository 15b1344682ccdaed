/**
 * Domain errors: services throw these (never HttpException); one filter per transport maps
 * them (HTTP status + SPEC error body; events: ack / nak / dead-letter).
 */
export const ErrorCode = {
  VALIDATION_ERROR: 'VALIDATION_ERROR',
  INVALID_JSON: 'INVALID_JSON',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  RATE_LIMITED: 'RATE_LIMITED',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  DEPENDENCY_UNAVAILABLE: 'DEPENDENCY_UNAVAILABLE',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  // catalog
  PRODUCT_NOT_FOUND: 'PRODUCT_NOT_FOUND',
  PRODUCT_INACTIVE: 'PRODUCT_INACTIVE',
  PRODUCT_EXISTS: 'PRODUCT_EXISTS',
  CATEGORY_NOT_FOUND: 'CATEGORY_NOT_FOUND',
  CATEGORY_EXISTS: 'CATEGORY_EXISTS',
  PLAN_NOT_FOUND: 'PLAN_NOT_FOUND',
  PLAN_EXISTS: 'PLAN_EXISTS',
  PLAN_NOT_AVAILABLE: 'PLAN_NOT_AVAILABLE',
  INVALID_TIERS: 'INVALID_TIERS',
  // subscriptions
  SUBSCRIPTION_NOT_FOUND: 'SUBSCRIPTION_NOT_FOUND',
  SUBSCRIPTION_EXISTS: 'SUBSCRIPTION_EXISTS',
  SUBSCRIPTION_NOT_ACTIVE: 'SUBSCRIPTION_NOT_ACTIVE',
  SUBSCRIPTION_REQUIRED: 'SUBSCRIPTION_REQUIRED',
  ILLEGAL_TRANSITION: 'ILLEGAL_TRANSITION',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  USER_INACTIVE: 'USER_INACTIVE',
  ORGANIZATION_NOT_FOUND: 'ORGANIZATION_NOT_FOUND',
  NOT_ORGANIZATION_MEMBER: 'NOT_ORGANIZATION_MEMBER',
  // idempotency
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  IDEMPOTENCY_KEY_IN_PROGRESS: 'IDEMPOTENCY_KEY_IN_PROGRESS',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorDetail {
  field?: string;
  index?: number;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status: number,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const badRequest = (message: string, details?: ErrorDetail[]): DomainError =>
  new DomainError(ErrorCode.VALIDATION_ERROR, message, 400, details);
export const notFound = (code: ErrorCode, message: string): DomainError => new DomainError(code, message, 404);
export const conflict = (code: ErrorCode, message: string): DomainError => new DomainError(code, message, 409);
export const unprocessable = (code: ErrorCode, message: string): DomainError => new DomainError(code, message, 422);
export const forbidden = (message = 'Not allowed', code: ErrorCode = ErrorCode.FORBIDDEN): DomainError =>
  new DomainError(code, message, 403);
export const unauthorized = (message = 'Missing or invalid credentials'): DomainError =>
  new DomainError(ErrorCode.UNAUTHORIZED, message, 401);
