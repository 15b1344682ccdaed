import { HttpException } from '@nestjs/common';
import { CommonErrorCode, DomainError, type ErrorDetail, type ErrorKind } from '../errors/domain-error.js';

/** The SPEC error body: `{error: {code, message, details?, request_id}, detail}`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: ErrorDetail[]; request_id: string };
  detail: string;
}

export interface HttpErrorResponse {
  status: number;
  body: ErrorBody;
  headers?: Record<string, string>;
}

/** The HTTP side of "one filter per transport": a domain error's kind decides its status. */
export const HTTP_STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media: 415,
  rejected: 422,
  rate_limited: 429,
  unavailable: 503,
};

const CODE_BY_STATUS: Record<number, string> = {
  400: CommonErrorCode.VALIDATION_ERROR,
  401: CommonErrorCode.UNAUTHORIZED,
  403: CommonErrorCode.FORBIDDEN,
  404: CommonErrorCode.NOT_FOUND,
  405: CommonErrorCode.METHOD_NOT_ALLOWED,
  413: CommonErrorCode.PAYLOAD_TOO_LARGE,
  415: CommonErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: CommonErrorCode.RATE_LIMITED,
  503: CommonErrorCode.SERVICE_UNAVAILABLE,
};

/** Fastify's own errors (body parsing, limits) by their error code. */
const FASTIFY_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: CommonErrorCode.PAYLOAD_TOO_LARGE, message: 'Request body is larger than 1 MiB' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: CommonErrorCode.UNSUPPORTED_MEDIA_TYPE,
    message: 'Request body must be JSON (Content-Type: application/json)',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: CommonErrorCode.INVALID_JSON, message: 'Invalid Content-Length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: CommonErrorCode.INVALID_JSON,
    message: 'Request body is empty but Content-Type is JSON',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: CommonErrorCode.INVALID_JSON, message: 'Request body is not valid JSON' },
};

/** A 401 says how to authenticate (RFC 9110 15.5.2; RFC 6750's scheme): a bearer token, or the platform's headers. */
const WWW_AUTHENTICATE: Readonly<Record<string, string>> = { 'WWW-Authenticate': 'Bearer realm="product_service"' };

const body = (code: string, message: string, requestId: string, details?: ErrorDetail[]): ErrorBody => ({
  error: { code, message, ...(details && details.length > 0 ? { details } : {}), request_id: requestId },
  detail: message,
});

/**
 * Maps anything thrown while serving a request to a status and SPEC error body. Domain errors by
 * their kind (`Retry-After` from `retryAfterSeconds`); Nest's and Fastify's own errors by their
 * status or code; anything else is a 500 without internals (the filter logs it).
 */
export function toHttpError(err: unknown, requestId: string): HttpErrorResponse {
  if (err instanceof DomainError) {
    return {
      status: HTTP_STATUS_BY_KIND[err.kind],
      body: body(err.code, err.message, requestId, err.details),
      headers:
        err.kind === 'unauthenticated'
          ? WWW_AUTHENTICATE
          : err.retryAfterSeconds === undefined
            ? undefined
            : { 'Retry-After': String(Math.max(0, Math.ceil(err.retryAfterSeconds))) },
    };
  }
  if (err instanceof HttpException) {
    // Nest's router maps Fastify's own 4xx errors (body parsing, limits) to HttpException with the original as cause.
    const cause = (err as { cause?: { code?: unknown } }).cause;
    if (typeof cause?.code === 'string' && FASTIFY_ERRORS[cause.code]) return toHttpError(cause, requestId);
    const status = err.getStatus();
    const response = err.getResponse();
    const message =
      typeof response === 'string'
        ? response
        : typeof (response as { message?: unknown }).message === 'string'
          ? (response as { message: string }).message
          : err.message;
    const code = CODE_BY_STATUS[status] ?? (status >= 500 ? CommonErrorCode.INTERNAL_ERROR : CommonErrorCode.VALIDATION_ERROR);
    return { status, body: body(code, status >= 500 ? 'Internal server error' : message, requestId) };
  }
  const e = err as { code?: unknown; statusCode?: unknown; name?: unknown; type?: unknown };
  if (typeof e?.code === 'string' && FASTIFY_ERRORS[e.code]) {
    const known = FASTIFY_ERRORS[e.code];
    return { status: known.status, body: body(known.code, known.message, requestId) };
  }
  if (err instanceof SyntaxError || e?.type === 'entity.parse.failed') {
    return { status: 400, body: body(CommonErrorCode.INVALID_JSON, 'Request body is not valid JSON', requestId) };
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const status = e.statusCode;
    const code = CODE_BY_STATUS[status] ?? CommonErrorCode.VALIDATION_ERROR;
    return { status, body: body(code, 'The request could not be processed', requestId) };
  }
  return { status: 500, body: body(CommonErrorCode.INTERNAL_ERROR, 'Internal server error', requestId) };
}
