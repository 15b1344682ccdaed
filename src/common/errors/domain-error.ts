/**
 * Domain errors: what went wrong, in words every transport understands. A domain error is a stable
 * SCREAMING_SNAKE `code`, a message, optional details (one per bad field or batch index) and a
 * transport-neutral `kind`. It carries no HTTP status and no headers: one filter per transport
 * maps the kind (HTTP: `toHttpError` gives status and headers; events: `classifyEventError` gives
 * ack, retry or dead-letter). Each module declares its own codes beside its own factories
 * (`catalog.errors.ts`, `subscription.errors.ts`, ...); the codes here are the cross-cutting ones.
 */
export const CommonErrorCode = {
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
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
} as const;

/**
 * What kind of failure, independent of the transport:
 * - `invalid`: the input is malformed or fails validation (HTTP 400; a consumed event: dead-letter);
 * - `unauthenticated` / `forbidden`: no or bad credentials / not allowed (401 / 403);
 * - `not_found`: the addressed resource does not exist (404);
 * - `conflict`: the state does not allow it (409: illegal transition, duplicate, key reused);
 * - `rejected`: well-formed but refused by a business rule (422: unknown user, inactive product);
 * - `too_large` / `unsupported_media` (413 / 415, HTTP only);
 * - `rate_limited`: too many requests (429 with Retry-After);
 * - `unavailable`: a dependency cannot answer now; retry later (503 with Retry-After; events: retry).
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rejected'
  | 'too_large'
  | 'unsupported_media'
  | 'rate_limited'
  | 'unavailable';

export interface ErrorDetail {
  field?: string;
  index?: number;
  message: string;
  /** extra facts a caller can act on (e.g. a quota's limit and what is left) */
  [fact: string]: unknown;
}

export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    readonly details?: ErrorDetail[],
    /** when the caller may try again (rate limits, dependencies down, busy keys) */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const badRequest = (message: string, details?: ErrorDetail[], code: string = CommonErrorCode.VALIDATION_ERROR): DomainError =>
  new DomainError(code, 'invalid', message, details);
export const notFound = (code: string, message: string): DomainError => new DomainError(code, 'not_found', message);
export const conflict = (code: string, message: string, retryAfterSeconds?: number): DomainError =>
  new DomainError(code, 'conflict', message, undefined, retryAfterSeconds);
export const unprocessable = (code: string, message: string): DomainError => new DomainError(code, 'rejected', message);
export const forbidden = (message = 'Not allowed', code: string = CommonErrorCode.FORBIDDEN): DomainError =>
  new DomainError(code, 'forbidden', message);
export const unauthorized = (message = 'Missing or invalid credentials'): DomainError =>
  new DomainError(CommonErrorCode.UNAUTHORIZED, 'unauthenticated', message);
export const unavailable = (code: string, message: string, retryAfterSeconds: number): DomainError =>
  new DomainError(code, 'unavailable', message, undefined, retryAfterSeconds);

/** One bad field, as a 400 naming it. */
export const invalidField = (field: string, message: string): DomainError => badRequest('Request validation failed', [{ field, message }]);
