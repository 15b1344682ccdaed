import type { IncomingMessage } from 'node:http';
import { type INestApplication, RequestMethod } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import { toHttpError } from './common/http/error-response.js';
import { requestIdFor } from './common/http/request-id.js';
import { setupOpenApi } from './openapi.js';

export const API_PREFIX = 'api/v1/product';

/** The Fastify adapter with the SPEC's wire rules: 1 MiB bodies, request ids. */
export function createAdapter(): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: 1024 * 1024,
    genReqId: (req: IncomingMessage) => requestIdFor(req),
    trustProxy: true,
    // false: requests keep being served during the shutdown grace period (readiness alone turns 503,
    // see ShutdownState); with true the adapter answers every request 503 from the first shutdown step.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });
}

/**
 * Everything main.ts does to the application besides listening, so e2e tests run the same app:
 * prefix, logger, error handling outside Nest's router, request-id echo, OpenAPI, shutdown hooks.
 */
export function configureApp(app: NestFastifyApplication, options: { swaggerUi?: boolean } = {}): INestApplication {
  app.useLogger(app.get(Logger));
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'health', method: RequestMethod.ALL },
      { path: 'health/{*rest}', method: RequestMethod.ALL },
      { path: 'metrics', method: RequestMethod.ALL },
    ],
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    void reply.header('X-Request-Id', req.id);
    done();
  });
  // Errors raised by Fastify itself (body parsing, limits, unknown routes) get the SPEC body too.
  fastify.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const { status, body, headers } = toHttpError(err, String(req.id));
    if (status >= 500) req.log.error({ err }, 'Unhandled error');
    if (headers) void reply.headers(headers);
    void reply.status(status).send(body);
  });
  setupOpenApi(app, { ui: options.swaggerUi ?? true });
  // SIGTERM/SIGINT: readiness 503, SHUTDOWN_GRACE_MS of serving, hooks, then exit code 0.
  app.enableShutdownHooks([], { useProcessExit: true });
  return app;
}
