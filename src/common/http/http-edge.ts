import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import fastQuerystring from 'fast-querystring';
import type { FastifyReply, FastifyRequest } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import type { AppConfig } from '../../config/app-config.js';
import { requestIdFor } from './request-id.js';

/**
 * The HTTP edge (docs/security.md): what every response carries and what every request may be,
 * decided once at start-up so a request pays a loop over a fixed array and two identity checks.
 */

/**
 * helmet's headers for a JSON API (OWASP's REST Security Cheat Sheet: nosniff, no framing, HSTS),
 * plus Cross-Origin-Resource-Policy so no other origin can load an answer as a script or image.
 * They are computed once, from helmet itself (its middleware run against a recording response):
 * `@fastify/helmet` would run helmet's option parsing on every request. Every header costs a
 * request its validation and bytes (under 1 % of a /health/live request each, in a CPU profile), so what
 * only an HTML document reads (CSP, Referrer-Policy, Cross-Origin-Opener-Policy,
 * X-Permitted-Cross-Domain-Policies, Origin-Agent-Cluster) is sent on the /docs page only, and
 * what only legacy browsers read (X-XSS-Protection, X-Download-Options, X-DNS-Prefetch-Control)
 * nowhere. X-Powered-By is never sent by Fastify, so nothing is removed.
 */
export const JSON_API_HELMET: Readonly<HelmetOptions> = {
  contentSecurityPolicy: false,
  crossOriginEmbedderPolicy: false,
  crossOriginOpenerPolicy: false,
  crossOriginResourcePolicy: { policy: 'same-origin' },
  originAgentCluster: false,
  referrerPolicy: false,
  strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
  xContentTypeOptions: true,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xFrameOptions: { action: 'deny' },
  xPermittedCrossDomainPolicies: false,
  xPoweredBy: false,
  xXssProtection: false,
};

/**
 * The one HTML page the service serves, the Swagger UI under /docs: the JSON set, and a
 * Content-Security-Policy for its template (its own scripts and stylesheet, the template's inline
 * <style>, data: images, calls to this origin for "Try it out", no frames, no plugins), no
 * referrer, its own browsing context group, no cross-domain policy files.
 */
const DOCS_HELMET: Readonly<HelmetOptions> = {
  ...JSON_API_HELMET,
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      baseUri: ["'none'"],
      connectSrc: ["'self'"],
      fontSrc: ["'self'", 'data:'],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
      imgSrc: ["'self'", 'data:'],
      manifestSrc: ["'self'"],
      objectSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
    },
  },
  crossOriginOpenerPolicy: { policy: 'same-origin' },
  referrerPolicy: { policy: 'no-referrer' },
  xPermittedCrossDomainPolicies: { permittedPolicies: 'none' },
};

export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>;

/** The headers helmet's middleware sets for these options, in its order, names in lower case. */
export function helmetHeaders(options: Readonly<HelmetOptions>): HeaderList {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => headers.set(name.toLowerCase(), String(value)),
    removeHeader: (name: string) => headers.delete(name.toLowerCase()),
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err instanceof Error ? err : new Error('helmet refused its options');
  });
  return [...headers];
}

/**
 * Set on every response in the request's first hook: helmet's JSON-API headers. Caching is decided
 * where the answer is: catalog reads send `public, max-age` with a strong ETag; every answer that
 * depends on who asks is `no-store` (NO_STORE: routes that need credentials, in the auth guard;
 * public routes answering for a named user, in their controllers; every error, in the filter).
 */
export const EDGE_HEADERS: HeaderList = helmetHeaders(JSON_API_HELMET);

/** `Cache-Control` of answers no cache may keep. */
export const NO_STORE = 'no-store';

/** What the /docs pages add to EDGE_HEADERS (a route-level hook: no other route pays for it). */
export const DOCS_HEADERS: HeaderList = helmetHeaders(DOCS_HELMET).filter(([name]) => !EDGE_HEADERS.some(([edge]) => edge === name));

/** Query strings over the limits parse to one of these (the request hook answers 400). */
export const TOO_MANY_QUERY_PARAMS: Readonly<Record<string, unknown>> = Object.freeze(Object.create(null) as Record<string, unknown>);
export const QUERY_ARRAY_TOO_LONG: Readonly<Record<string, unknown>> = Object.freeze(Object.create(null) as Record<string, unknown>);

/**
 * Fastify's query-string parser (fast-querystring, what Fastify uses by default) behind two limits:
 * at most `maxQueryParams` parameters (counted before parsing) and `maxQueryArrayLength` values of
 * one repeated parameter. It runs inside the router, where a throw would be a 500: an excess
 * returns a sentinel instead, and the request hook turns it into the SPEC's 400.
 */
export function createQueryParser(
  limits: Pick<AppConfig['http'], 'maxQueryParams' | 'maxQueryArrayLength'>,
): (query: string) => Record<string, unknown> {
  const { maxQueryParams, maxQueryArrayLength } = limits;
  return (query) => {
    if (query.length === 0) return {};
    let params = 1;
    for (let at = query.indexOf('&'); at !== -1; at = query.indexOf('&', at + 1)) {
      if (++params > maxQueryParams) return TOO_MANY_QUERY_PARAMS;
    }
    const parsed = fastQuerystring.parse(query) as Record<string, unknown>;
    if (params > maxQueryArrayLength) {
      for (const key in parsed) {
        const value = parsed[key];
        if (Array.isArray(value) && value.length > maxQueryArrayLength) return QUERY_ARRAY_TOO_LONG;
      }
    }
    return parsed;
  };
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/** What the server answers when a connection fails before a request reaches Fastify (Node's 'clientError'). */
export function clientErrorAnswer(
  errorCode: string | undefined,
  limits: Pick<AppConfig['http'], 'maxHeaderBytes'>,
): { status: number; code: string; message: string } {
  if (errorCode === 'HPE_HEADER_OVERFLOW') {
    return {
      status: 431,
      code: 'HEADERS_TOO_LARGE',
      message: `Request line and headers are larger than ${limits.maxHeaderBytes} bytes`,
    };
  }
  if (errorCode === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, code: 'REQUEST_TIMEOUT', message: 'The request was not received in time' };
  }
  return { status: 400, code: 'MALFORMED_REQUEST', message: 'Malformed HTTP request' };
}

/** What a refusal made outside Nest carries besides its SPEC body: the request id, no-store and the edge headers. */
const refusalHeaders = (requestId: string): Record<string, string> => ({
  'content-type': 'application/json; charset=utf-8',
  'x-request-id': requestId,
  'cache-control': NO_STORE,
  ...Object.fromEntries(EDGE_HEADERS),
});

const errorBody = (code: string, message: string, requestId: string): string =>
  JSON.stringify({ error: { code, message, request_id: requestId }, detail: message });

/**
 * Node's 'clientError' (a request line or headers too large, a request not received within
 * HTTP_HEADERS_TIMEOUT / HTTP_REQUEST_TIMEOUT, bytes that are not HTTP): the SPEC error body with
 * the edge headers, then the connection is closed. Fastify's default answers its own body shape.
 * Nothing is written when the connection is gone or a response has already started on it.
 */
export function createClientErrorHandler(
  limits: Pick<AppConfig['http'], 'maxHeaderBytes'>,
): (err: Error & { code?: string }, socket: Duplex) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const current = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && current?.headersSent !== true) {
      const { status, code, message } = clientErrorAnswer(err.code, limits);
      const requestId = randomUUID();
      const body = errorBody(code, message, requestId);
      const headers = { ...refusalHeaders(requestId), 'content-length': String(Buffer.byteLength(body)), connection: 'close' };
      const head = [`HTTP/1.1 ${status} ${STATUS_TEXT[status]}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
      socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
    }
    socket.destroy(err);
  };
}

/** The router's limit on one path parameter (longer identifiers still reach validation: 400 over 255 characters). */
export const MAX_PARAM_LENGTH = 1024;

/**
 * The router's own refusals, made before any hook runs (Fastify's `frameworkErrors`): a path whose
 * percent-encoding does not decode (FST_ERR_BAD_URL; Fastify's body echoed the path) and a path
 * parameter longer than MAX_PARAM_LENGTH (FST_ERR_MAX_PARAM_LENGTH, Fastify's 414). A 400 with the
 * SPEC body, the request id and the edge headers, like every other refusal.
 */
export function routerRefusal(error: { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
  const [code, message] =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? ['VALIDATION_ERROR', `A path segment is longer than ${MAX_PARAM_LENGTH} characters`]
      : ['MALFORMED_REQUEST', 'The request path is not valid percent-encoded UTF-8'];
  void reply
    .code(400)
    .headers(refusalHeaders(request.id))
    .send(errorBody(code, message, request.id));
}

/**
 * Node's 'checkExpectation' (an `Expect` other than 100-continue): 417 with the SPEC body. Without
 * a listener Node answers it itself, with an empty body and no request id.
 */
export function expectationFailed(req: IncomingMessage, res: ServerResponse): void {
  const requestId = requestIdFor(req);
  const message = `Expect: ${String(req.headers.expect).slice(0, 100)} cannot be met (only 100-continue)`;
  res.writeHead(417, { ...refusalHeaders(requestId), connection: 'close' }).end(errorBody('EXPECTATION_FAILED', message, requestId));
}

/**
 * How often Node looks for requests past HTTP_HEADERS_TIMEOUT / HTTP_REQUEST_TIMEOUT (its default
 * is every 30 s, which would let a slow client hold a connection up to 30 s past the timeout):
 * a quarter of the shorter timeout, between 50 ms and 30 s. The check walks the open connections.
 */
export const connectionsCheckingIntervalMs = (http: Pick<AppConfig['http'], 'headersTimeoutMs' | 'requestTimeoutMs'>): number =>
  Math.min(30_000, Math.max(50, Math.floor(Math.min(http.headersTimeoutMs, http.requestTimeoutMs) / 4)));
