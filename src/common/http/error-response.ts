import { HttpException } from '@nestjs/common';
import { pgCode } from '../../database/pg-errors.js';
import { DomainError, ErrorCode, type ErrorDetail } from '../errors/domain-error.js';

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

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: ErrorCode.VALIDATION_ERROR,
  401: ErrorCode.UNAUTHORIZED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  405: ErrorCode.METHOD_NOT_ALLOWED,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: ErrorCode.RATE_LIMITED,
  503: ErrorCode.SERVICE_UNAVAILABLE,
};

/** Fastify's own errors (body parsing, limits) by their error code. */
const FASTIFY_ERRORS: Record<string, { status: number; code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: ErrorCode.PAYLOAD_TOO_LARGE, message: 'Request body is larger than 1 MiB' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    message: 'Request body must be JSON (Content-Type: application/json)',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: ErrorCode.INVALID_JSON, message: 'Invalid Content-Length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: ErrorCode.INVALID_JSON, message: 'Request body is empty but Content-Type is JSON' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: ErrorCode.INVALID_JSON, message: 'Request body is not valid JSON' },
};

const body = (code: string, message: string, requestId: string, details?: ErrorDetail[]): ErrorBody => ({
  error: { code, message, ...(details && details.length > 0 ? { details } : {}), request_id: requestId },
  detail: message,
});

/**
 * Maps anything thrown while serving a request to a status and SPEC error body.
 * Unknown errors become a 500 without internals (the caller logs them).
 */
export function toHttpError(err: unknown, requestId: string): HttpErrorResponse {
  if (err instanceof DomainError) {
    return { status: err.status, body: body(err.code, err.message, requestId, err.details), headers: err.headers };
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
    const code = CODE_BY_STATUS[status] ?? (status >= 500 ? ErrorCode.INTERNAL_ERROR : ErrorCode.VALIDATION_ERROR);
    return { status, body: body(code, status >= 500 ? 'Internal server error' : message, requestId) };
  }
  const e = err as { code?: unknown; statusCode?: unknown; name?: unknown; type?: unknown };
  if (typeof e?.code === 'string' && FASTIFY_ERRORS[e.code]) {
    const known = FASTIFY_ERRORS[e.code];
    return { status: known.status, body: body(known.code, known.message, requestId) };
  }
  if (err instanceof SyntaxError || e?.type === 'entity.parse.failed') {
    return { status: 400, body: body(ErrorCode.INVALID_JSON, 'Request body is not valid JSON', requestId) };
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const status = e.statusCode;
    const code = CODE_BY_STATUS[status] ?? ErrorCode.VALIDATION_ERROR;
    return { status, body: body(code, 'The request could not be processed', requestId) };
  }
  if (isDatabaseUnavailable(err)) {
    return {
      status: 503,
      body: body(ErrorCode.SERVICE_UNAVAILABLE, 'The database is busy or unreachable; retry shortly', requestId),
      headers: { 'Retry-After': '1' },
    };
  }
  return { status: 500, body: body(ErrorCode.INTERNAL_ERROR, 'Internal server error', requestId) };
}

/** PostgreSQL SQLSTATEs (and pool / socket errors) meaning "cannot be served now", not "bug". */
const UNAVAILABLE_SQLSTATES = new Set(['53300', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', '55P03', '57014']);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

function isDatabaseUnavailable(err: unknown): boolean {
  const code = pgCode(err);
  if (code !== undefined && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code))) return true;
  const message = err instanceof Error ? err.message : '';
  return /timeout exceeded when trying to connect|Connection terminated|connection is insecure|too many clients/i.test(message);
}
