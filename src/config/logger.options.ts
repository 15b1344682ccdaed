import type { IncomingMessage } from 'node:http';
import { RequestMethod } from '@nestjs/common';
import type { Params } from 'nestjs-pino';
import { requestIdFor } from '../common/http/request-id.js';
import type { AppConfig } from './app-config.js';

const QUIET_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);

/** JSON logs (pino) with request_id; secrets and credentials redacted. */
export function loggerOptions(config: AppConfig): Params {
  return {
    // One wildcard route: Nest mounts it under the global prefix and once on each path excluded from the
    // prefix (health, metrics). nestjs-pino's default adds the excluded paths a second time (mounted on their
    // sub-paths by middie), which logged /health/ready twice.
    forRoutes: [{ path: '/{*splat}', method: RequestMethod.ALL }],
    pinoHttp: {
      level: config.logLevel,
      base: { service: config.serviceName, version: config.version },
      messageKey: 'message',
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: (label: string) => ({ level: label }) },
      genReqId: (req: IncomingMessage) => requestIdFor(req),
      customAttributeKeys: { reqId: 'request_id' },
      // Every line logged while serving a request carries request_id (the child logger's binding).
      quietReqLogger: true,
      // middie strips the mount path from req.url; originalUrl is the path the client asked for
      autoLogging: {
        ignore: (req: IncomingMessage & { originalUrl?: string }) => QUIET_PATHS.has((req.originalUrl ?? req.url ?? '').split('?')[0]),
      },
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
