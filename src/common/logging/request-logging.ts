import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PinoLogger } from 'nestjs-pino';
import type { Logger as Pino } from 'pino';
import { QUIET_PATHS } from './logger.options.js';

const pathOf = (url: string): string => {
  const query = url.indexOf('?');
  return query >= 0 ? url.slice(0, query) : url;
};

/**
 * Request logging on Fastify's own hooks (no Nest middleware):
 * - `onRequest`: a child of the root logger bound to `request_id` becomes `req.log`, and the request
 *   is served inside nestjs-pino's logging context, so every Nest `Logger` line written while serving
 *   it carries `request_id` too;
 * - `onResponse`: one JSON line per request (`request completed`, or `request errored` at error level
 *   for 5xx) with `req {id, method, url}`, `res {status_code}` and `responseTime` in ms; probes
 *   and scrapes are never logged (as with pino-http before). At a level above info nothing is built.
 */
export function installRequestLogging(fastify: FastifyInstance, pino: PinoLogger): void {
  fastify.addHook('onRequest', (req: FastifyRequest, _reply: FastifyReply, done: () => void) => {
    pino.runInContext(
      () => {
        req.log = pino.logger;
        done();
      },
      { bindings: { request_id: req.id } },
    );
  });
  fastify.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const failed = reply.statusCode >= 500;
    const level = failed ? 'error' : 'info';
    const log = req.log as unknown as Pino;
    if (log.isLevelEnabled(level) && !QUIET_PATHS.has(pathOf(req.url))) {
      log[level](
        {
          req: req.raw, // serialized to { id, method, url }, see loggerOptions
          res: reply.raw, // serialized to { status_code }
          responseTime: Math.round(reply.elapsedTime),
        },
        failed ? 'request errored' : 'request completed',
      );
    }
    done();
  });
}
