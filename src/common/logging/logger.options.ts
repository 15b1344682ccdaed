import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import { requestIdFor } from '../http/request-id.js';
import type { AppConfig } from '../../config/app-config.js';
import { configuredSecrets, createLogScrubber, REDACTED } from './log-scrubber.js';
import { requestIdBinding } from './request-context.js';

/** Paths whose successful requests are not logged: probes and scrapes. */
export const QUIET_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * JSON logs (pino) with request_id; secrets and credentials redacted: no request headers are logged
 * (the request serializer), credential headers are redacted wherever an object carries them
 * (`redact`), and every line loses configured secret values, bearer credentials and JWTs before it
 * is written (`hooks.streamWrite`, log-scrubber.ts).
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
          'res.headers["set-cookie"]',
          'headers.authorization',
          'headers["x-internal-service-secret"]',
          'headers.cookie',
          '*.headers.authorization',
          '*.headers["x-internal-service-secret"]',
          '*.headers.cookie',
          '*.password',
          '*.secret',
        ],
        censor: REDACTED,
      },
      hooks: { streamWrite: createLogScrubber(configuredSecrets(config)) },
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ status_code: res.statusCode }),
      },
    },
  };
}
