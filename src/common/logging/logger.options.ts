import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import { requestIdFor } from '../http/request-id.js';
import type { AppConfig } from '../../config/app-config.js';
import { requestIdBinding } from './request-context.js';

/** Paths whose successful requests are not logged: probes and scrapes. */
export const QUIET_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * JSON logs (pino) with request_id; secrets and credentials redacted.
 *
 * nestjs-pino is Nest's Logger (`useExisting`: it mounts no pino-http middleware; `forRoutes: []`
 * mounts nothing through Nest's middie layer, which cost ~20% of a request even at LOG_LEVEL=warn).
 * The per-request line comes from a Fastify hook, and `request_id` reaches every line logged while
 * serving a request through the root logger's mixin, see `installRequestLogging`.
 */
export function loggerOptions(config: AppConfig): Params {
  return {
    useExisting: true,
    forRoutes: [],
    pinoHttp: {
      level: config.logLevel,
      base: { service: config.serviceName, version: config.version },
      messageKey: 'message',
      // request_id of the request being served, on every line (see request-context.ts)
      mixin: requestIdBinding,
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: (label: string) => ({ level: label }) },
      genReqId: (req: IncomingMessage) => requestIdFor(req),
      customAttributeKeys: { reqId: 'request_id' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-internal-service-secret"]',
          'req.headers.cookie',
          'headers.authorization',
          'headers["x-internal-service-secret"]',
          '*.password',
          '*.secret',
        ],
        censor: '[redacted]',
      },
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ status_code: res.statusCode }),
      },
    },
  };
}
