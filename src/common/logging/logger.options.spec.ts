import { loadConfig } from '../../config/app-config.js';
import { loggerOptions, QUIET_PATHS } from './logger.options.js';

type HttpOptions = {
  customAttributeKeys: { reqId: string };
  redact: { paths: string[] };
  serializers: { req: (req: unknown) => Record<string, unknown>; res: (res: unknown) => Record<string, unknown> };
};

describe('logger options', () => {
  const params = loggerOptions(loadConfig({}));
  const http = params.pinoHttp as unknown as HttpOptions;

  it('should mount no request middleware (request lines come from Fastify hooks)', () => {
    expect(params.useExisting).toBe(true);
    expect(params.forRoutes).toEqual([]);
  });

  it('should name the request id request_id', () => {
    expect(http.customAttributeKeys.reqId).toBe('request_id');
  });

  it('should keep probes and scrapes quiet', () => {
    expect([...QUIET_PATHS]).toEqual(['/health/live', '/health/ready', '/metrics']);
    expect(QUIET_PATHS.has('/health')).toBe(false);
  });

  it('should log no request headers and redact credentials', () => {
    const logged = http.serializers.req({ id: 'r1', method: 'GET', url: '/x', headers: { authorization: 'Bearer t' } });
    expect(logged).toEqual({ id: 'r1', method: 'GET', url: '/x' });
    expect(http.serializers.res({ statusCode: 201 })).toEqual({ status_code: 201 });
    expect(http.redact.paths).toEqual(expect.arrayContaining(['req.headers.authorization', 'req.headers["x-internal-service-secret"]']));
  });
});
