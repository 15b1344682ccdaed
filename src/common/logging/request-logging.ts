import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PinoLogger } from 'nestjs-pino';
import type { Logger as Pino } from 'pino';
import { QUIET_PATHS } from './logger.options.js';
import { requestContext } from './request-context.js';

/** A request URL without its query string. */
export const pathOf = (url: string): string => {
  const query = url.indexOf('?');
  return query >= 0 ? url.slice(0, query) : url;
};

/** The SPEC error code each failed request answered with (AllExceptionsFilter notes it), for its request line. */
const errorCodes = new WeakMap<FastifyRequest, string>();

/** Notes the error code `req` answers with: its request line carries it as `error_code`. */
export function noteErrorCode(req: FastifyRequest, code: string): void {
  errorCodes.set(req, code);
}

/**
 * Request logging on Fastify's own hooks (no Nest middleware, no per-request child logger):
 * - `onRequest` enters the request context (`requestContext`, an AsyncLocalStorage holding the
 *   request id) and makes the root logger `req.log`; the logger's mixin adds `request_id` to every
 *   line written while serving the request, by `req.log` or any Nest `Logger` (also after a body was
 *   read and across awaits: test/request-logging.e2e-spec.ts).
 * - `onResponse`: one JSON line per request (`request completed`, or `request errored` at error level
 *   for 5xx) with `req {id, method, url}`, `res {status_code}`, `responseTime` in ms and, for an
 *   error answer, its `error_code`; probes and scrapes are never logged. At a level above info
 *   nothing is built. An expected 5xx (a dependency down: 503) gets no other line, so an outage
 *   answered at thousands of requests a second writes one line per request, not two.
 */
export function installRequestLogging(fastify: FastifyInstance, pino: PinoLogger): void {
  const root = pino.logger;
  fastify.addHook('onRequest', (req: FastifyRequest, _reply: FastifyReply, done: () => void) => {
    requestContext.enterWith(req.id);
    req.log = root;
    done();
  });

  fastify.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const failed = reply.statusCode >= 500;
    const level = failed ? 'error' : 'info';
    const log = req.log as unknown as Pino;
    if (log.isLevelEnabled(level) && !QUIET_PATHS.has(pathOf(req.url))) {
      log[level](
        {
          request_id: req.id,
          req: req.raw, // serialized to { id, method, url }, see loggerOptions
          res: reply.raw, // serialized to { status_code }
          responseTime: Math.round(reply.elapsedTime),
          ...(errorCodes.has(req) ? { error_code: errorCodes.get(req) } : {}),
        },
        failed ? 'request errored' : 'request completed',
      );
    }
    done();
  });
}
