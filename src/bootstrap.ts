import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, Server } from 'node:http';
import { type INestApplication, RequestMethod } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { MicroserviceOptions } from '@nestjs/microservices';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { Logger, PARAMS_PROVIDER_TOKEN, type Params, PinoLogger } from 'nestjs-pino';
import { badRequest, CommonErrorCode, DomainError } from './common/errors/domain-error.js';
import {
  connectionsCheckingIntervalMs,
  createClientErrorHandler,
  createQueryParser,
  DOCS_HEADERS,
  EDGE_HEADERS,
  expectationFailed,
  MAX_PARAM_LENGTH,
  QUERY_ARRAY_TOO_LONG,
  routerRefusal,
  TOO_MANY_QUERY_PARAMS,
} from './common/http/http-edge.js';
import { AcceptSockets } from './common/http/accept-sockets.js';
import { ProbeListener } from './common/http/probe-listener.js';
import { requestIdFor } from './common/http/request-id.js';
import { inexactNumbers, poisonedKey } from './common/validation/json-guard.js';
import type { AppConfig } from './config/app-config.js';
import { installRequestLogging } from './common/logging/request-logging.js';
import { JetStreamServer } from './events/transport/jetstream.server.js';
import { HEALTH_ALIAS_PATHS } from './health/health-aliases.controller.js';
import { PRICE_QUOTE_PATH } from './product/pricing/price-quote.controller.js';
import { setupOpenApi } from './openapi.js';

export const API_PREFIX = 'api/v1/product';

const JSON_CONTENT_TYPE = /^\s*application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
/** The parser's pattern for the `+json` types (`application/json` itself has its own, faster string match). */
const JSON_SUFFIX_TYPE = /^application\/[\w.+-]+\+json$/i;
/** The charset parameter of a Content-Type, when one is given: JSON is UTF-8 (RFC 8259), and the parser reads UTF-8 only. */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;
const UTF8 = /^utf-?8$/i;
/** A body's Content-Encoding the service reads: none, or `identity` (it decompresses nothing). */
const IDENTITY_ENCODING = /^\s*(?:identity\s*)?$/i;
const unsupportedMedia = (message: string): DomainError =>
  new DomainError(CommonErrorCode.UNSUPPORTED_MEDIA_TYPE, 'unsupported_media', message);
const hasBody = (req: FastifyRequest): boolean =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
/**
 * A chunked body without a Content-Type may be empty (HTTP clients send bodiless POSTs so): the
 * catch-all parser decides once it is read (empty: no body; anything else: 415).
 */
const mayBeEmpty = (req: FastifyRequest): boolean =>
  req.headers['content-type'] === undefined && req.headers['content-length'] === undefined;
const malformed = (message: string): DomainError => new DomainError('MALFORMED_REQUEST', 'invalid', message);

/**
 * Options for NestFactory.create / createNestApplication: logs buffered until pino is in place, and
 * Nest's own body parsers off (configureApp registers the one JSON parser the API accepts).
 */
export const APP_OPTIONS = { bufferLogs: true, bodyParser: false } as const;

/** The last `hops` proxies before this server are believed (Fastify's numeric trustProxy, which Nest's options type lacks). */
const trustHops =
  (hops: number) =>
  (_address: string, hop: number): boolean =>
    hop < hops;

/**
 * The Fastify adapter with the SPEC's wire rules (1 MiB bodies, request ids) and the HTTP edge
 * (docs/security.md): server timeouts, header-size and query-string limits, and the SPEC error
 * body for requests that fail before Fastify sees them.
 *
 * Timeouts (docs/configuration.md "HTTP server"): a keep-alive connection idle for
 * HTTP_KEEP_ALIVE_TIMEOUT is closed (longer than the load balancer's idle timeout, so the balancer
 * never reuses a connection the service is closing); a request whose headers are not in after
 * HTTP_HEADERS_TIMEOUT, or that is not wholly received after HTTP_REQUEST_TIMEOUT (a client
 * trickling bytes), is answered 408 and its connection closed, which also bounds how long a
 * connection can hold the shutdown past SHUTDOWN_GRACE_MS.
 */
export function createAdapter(http: AppConfig['http']): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: http.bodyLimitBytes,
    genReqId: (req: IncomingMessage) => requestIdFor(req),
    // whose X-Forwarded-For makes req.ip, the anonymous caller's rate-limit key (TRUST_PROXY)
    trustProxy: typeof http.trustProxy === 'number' ? trustHops(http.trustProxy) : http.trustProxy,
    // false: requests keep being served during the shutdown grace period (readiness alone turns 503,
    // see ShutdownState); with true the adapter answers every request 503 from the first shutdown step.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    keepAliveTimeout: http.keepAliveTimeoutMs,
    requestTimeout: http.requestTimeoutMs,
    // node:http's own options (Fastify sets keepAliveTimeout and requestTimeout over them)
    http: {
      maxHeaderSize: http.maxHeaderBytes,
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: http.requestTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingIntervalMs(http),
      // the onRequest hook refuses an HTTP/1.1 request without Host, with the SPEC body (Node's own 400 has none)
      requireHostHeader: false,
    },
    clientErrorHandler: createClientErrorHandler(http),
    // the router's refusals (a bad percent-encoding, a parameter over maxParamLength) with the SPEC body
    frameworkErrors: routerRefusal,
    routerOptions: {
      // Long ids must reach validation (400 over 255 characters) instead of Fastify's 100-character 404.
      maxParamLength: MAX_PARAM_LENGTH,
      querystringParser: createQueryParser(http),
    },
  });
}

/**
 * What main.ts listens with. The backlog is how many new connections the kernel queues while the
 * event loop is busy: libuv accepts one connection per loop turn, so a client opening hundreds at
 * once (a pool growing behind slowed answers) waits there. Node's default, 511, overflowed in the
 * PostgreSQL-outage chaos run (926-2,605 SYNs dropped per run, `nstat TcpExtListenDrops`); a
 * dropped SYN costs its client a 1-3 s retransmission.
 */
const listenOptions = (http: AppConfig['http']): { port: number; host: string; backlog: number } => ({
  port: http.port,
  host: http.host,
  backlog: http.listenBacklog,
});

/** The HEALTH_PORT listener of each configured app (configureApp installs it, startListening opens it). */
const probeListeners = new WeakMap<INestApplication, ProbeListener>();
/** The API port's extra listening sockets of each configured app (HTTP_ACCEPT_SOCKETS), the same way. */
const acceptSockets = new WeakMap<INestApplication, AcceptSockets>();

/**
 * `app.listen` with `listenOptions` (`at` overrides where: tests listen on port 0 of 127.0.0.1),
 * the port's extra accept sockets (HTTP_ACCEPT_SOCKETS), then the probes' own listener when
 * HEALTH_PORT is set. Resolves to the ports bound.
 */
export async function startListening(
  app: NestFastifyApplication,
  http: AppConfig['http'],
  at: { port?: number; host?: string } = {},
): Promise<{ port: number; healthPort?: number }> {
  const sockets = acceptSockets.get(app);
  await sockets?.assertPortFree(at.port ?? http.port, at.host ?? http.host);
  await app.listen({ ...listenOptions(http), ...sockets?.listenOptions, ...at });
  const api: Server = app.getHttpServer();
  await sockets?.listen(api, at.host ?? http.host);
  const healthPort = await probeListeners.get(app)?.listen(api, at.host);
  return { port: (api.address() as { port: number }).port, healthPort };
}

const tooManyQueryParams = (limit: number): DomainError =>
  new DomainError(CommonErrorCode.VALIDATION_ERROR, 'invalid', `Too many query parameters (at most ${limit})`);
const queryArrayTooLong = (limit: number): DomainError =>
  new DomainError(CommonErrorCode.VALIDATION_ERROR, 'invalid', `Too many values of one query parameter (at most ${limit})`);

/** Route-level hook of the /docs pages: the HTML headers (CSP...) on top of the edge headers. */
function docsHeaders(_req: FastifyRequest, reply: FastifyReply, done: () => void): void {
  for (let i = 0; i < DOCS_HEADERS.length; i++) void reply.header(DOCS_HEADERS[i][0], DOCS_HEADERS[i][1]);
  done();
}

/**
 * Everything main.ts does to the application besides listening, so e2e tests run the same app:
 * prefix, logger, error handling outside Nest's router, request-id echo, OpenAPI, shutdown hooks.
 */
export function configureApp(app: NestFastifyApplication): INestApplication {
  app.useLogger(app.get(Logger));
  const http = app.get<ConfigService<AppConfig, true>>(ConfigService).get('http', { infer: true });
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'health', method: RequestMethod.ALL },
      { path: 'health/{*rest}', method: RequestMethod.ALL },
      { path: 'metrics', method: RequestMethod.ALL },
      { path: 'docs/asyncapi.json', method: RequestMethod.GET },
      // the platform's provider-cost lookup path (CostLookupController)
      { path: 'api/v1/costs/{*rest}', method: RequestMethod.ALL },
      // where the platform's callers look (SPEC section 7): their controllers declare the whole path
      { path: PRICE_QUOTE_PATH, method: RequestMethod.POST },
      ...HEALTH_ALIAS_PATHS.map((path) => ({ path, method: RequestMethod.GET })),
    ],
  });
  const fastify = app.getHttpAdapter().getInstance();
  installRequestLogging(fastify, new PinoLogger(app.get<Params>(PARAMS_PROVIDER_TOKEN)));
  const probes = new ProbeListener(http);
  probes.install(fastify);
  probeListeners.set(app, probes);
  const sockets = new AcceptSockets(http);
  sockets.install(fastify);
  acceptSockets.set(app, sockets);
  // The /docs pages (Swagger UI, registered by setupOpenApi below) get the HTML headers; routes added
  // later (Nest's controllers at init) are not under /docs.
  fastify.addHook('onRoute', (route: RouteOptions) => {
    if (route.url.startsWith('/docs')) route.onRequest = [docsHeaders, ...(route.onRequest === undefined ? [] : [route.onRequest].flat())];
  });
  fastify.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    void reply.header('X-Request-Id', req.id);
    // helmet's JSON-API headers on every response (src/common/http/http-edge.ts)
    for (let i = 0; i < EDGE_HEADERS.length; i++) void reply.header(EDGE_HEADERS[i][0], EDGE_HEADERS[i][1]);
    // the query-string parser's verdicts (see createQueryParser): 400 before anything else runs
    if (req.query === TOO_MANY_QUERY_PARAMS) return done(tooManyQueryParams(http.maxQueryParams));
    if (req.query === QUERY_ARRAY_TOO_LONG) return done(queryArrayTooLong(http.maxQueryArrayLength));
    if (req.headers.host === undefined && req.raw.httpVersion === '1.1')
      return done(malformed('An HTTP/1.1 request must carry a Host header'));
    // Bodies are JSON only (SPEC: 415 otherwise), also for the types Fastify and Nest parse by default
    // (text/plain, application/x-www-form-urlencoded); and UTF-8, uncompressed: what the parser reads.
    if (hasBody(req) && !mayBeEmpty(req)) {
      const contentType = req.headers['content-type'] ?? '';
      if (!JSON_CONTENT_TYPE.test(contentType)) return done(unsupportedMedia('Request body must be JSON (Content-Type: application/json)'));
      const charset = contentType.includes(';') ? CHARSET.exec(contentType)?.[1] : undefined;
      if (charset !== undefined && !UTF8.test(charset)) return done(unsupportedMedia('Request body must be UTF-8 JSON (charset=utf-8)'));
      // a compressed body would be read as JSON text and refused as invalid JSON, or worse
      const encoding = req.headers['content-encoding'];
      if (encoding !== undefined && !IDENTITY_ENCODING.test(encoding)) {
        return done(unsupportedMedia('Request body must not be compressed (Content-Encoding: identity, or none)'));
      }
    }
    done();
  });
  // An empty body sent with a JSON content type (common from HTTP clients on bodiless POSTs such as
  // /cancel or /resume) means "no body", like an absent one; anything else must be valid JSON.
  const defaultJsonParser = fastify.getDefaultJsonParser('error', 'error'); // rejects __proto__ / constructor.prototype
  fastify.removeContentTypeParser('application/json');
  const parseJson = (req: FastifyRequest, body: Buffer, done: (err: Error | null, value?: unknown) => void): void => {
    // bytes that are not UTF-8 would be read as U+FFFD and stored so (RFC 8259: JSON is UTF-8)
    if (!isUtf8(body)) return done(new DomainError(CommonErrorCode.INVALID_JSON, 'invalid', 'Request body is not valid UTF-8'));
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    void defaultJsonParser(req, text, (err, value) => {
      // valid JSON that the parser refuses (a prototype-poisoning key): 400 naming the key, not "not valid JSON"
      const poisoned = (err as { code?: unknown } | null)?.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? poisonedKey(text) : undefined;
      if (poisoned) return done(badRequest('Request validation failed', [poisoned]), undefined);
      // a number JSON.parse would change (too many digits, out of a double's range): 400, not a silently different value
      const inexact = err ? [] : inexactNumbers(text);
      if (inexact.length > 0) return done(badRequest('Request validation failed', inexact), undefined);
      done(err, value);
    });
  };
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJson);
  // JSON's structured-syntax types (application/vnd.api+json, application/merge-patch+json) are JSON too
  fastify.addContentTypeParser(JSON_SUFFIX_TYPE, { parseAs: 'buffer' }, parseJson);
  // what the onRequest hook let through without a Content-Type (mayBeEmpty): no body when empty, else 415
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body: Buffer, done) =>
    body.length === 0 ? done(null, undefined) : done(unsupportedMedia('Request body must be JSON (Content-Type: application/json)')),
  );
  // an Expect other than 100-continue: 417 with the SPEC body (Node's own has none)
  fastify.server.on('checkExpectation', expectationFailed);
  // Errors raised by Fastify itself (body parsing, limits) reach Nest's own Fastify error handler, which maps
  // them to HttpException and runs the global AllExceptionsFilter: the SPEC body without a second handler.
  setupOpenApi(app);
  connectEventConsumers(app);
  // SIGTERM/SIGINT: readiness 503, SHUTDOWN_GRACE_MS of serving, hooks, then exit code 0.
  app.enableShutdownHooks([], { useProcessExit: true });
  return app;
}

/**
 * The JetStream transport as a hybrid microservice sharing the app's global pipes and filters.
 * Its listeners are bound when `app.startAllMicroservices()` runs, after `app.init()` (so the
 * APP_* enhancers exist); the app's lifecycle hooks are not run a second time.
 */
function connectEventConsumers(app: NestFastifyApplication): void {
  const microservice = app.connectMicroservice<MicroserviceOptions>(
    { strategy: app.get(JetStreamServer) },
    { inheritAppConfig: true, deferInitialization: true },
  );
  // the app runs the lifecycle hooks; the microservice must not run them again when it starts
  (microservice as unknown as { setIsInitHookCalled(called: boolean): void }).setIsInitHookCalled(true);
}
