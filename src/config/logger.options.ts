import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import { requestIdFor } from '../common/http/request-id.js';
import type { AppConfig } from './app-config.js';

const QUIET_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);

/** JSON logs (pino) with request_id; secrets and credentials redacted. */
export function loggerOptions(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      base: { service: config.serviceName, version: config.version },
      messageKey: 'message',
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: (label: string) => ({ level: label }) },
      genReqId: (req: IncomingMessage) => requestIdFor(req),
      customAttributeKeys: { reqId: 'request_id' },
      autoLogging: { ignore: (req: IncomingMessage) => QUIET_PATHS.has((req.url ?? '').split('?')[0]) },
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
