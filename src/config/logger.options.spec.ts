import type { IncomingMessage } from 'node:http';
import { loadConfig } from './app-config.js';
import { loggerOptions } from './logger.options.js';

type HttpOptions = {
  quietReqLogger: boolean;
  customAttributeKeys: { reqId: string };
  autoLogging: { ignore: (req: IncomingMessage & { originalUrl?: string }) => boolean };
  redact: { paths: string[] };
  serializers: { req: (req: unknown) => Record<string, unknown> };
};

describe('logger options', () => {
  const params = loggerOptions(loadConfig({}));
  const http = params.pinoHttp as unknown as HttpOptions;

  it('should mount the request logger once, as one wildcard route', () => {
    expect(params.forRoutes).toHaveLength(1);
  });

  it('should bind request_id to every line of a request', () => {
    expect(http.quietReqLogger).toBe(true);
    expect(http.customAttributeKeys.reqId).toBe('request_id');
  });

  it('should skip probes and scrapes by the path the client asked for', () => {
    const req = (originalUrl: string, url = '/'): IncomingMessage & { originalUrl?: string } =>
      ({ originalUrl, url }) as IncomingMessage & { originalUrl?: string };
    expect(http.autoLogging.ignore(req('/health/ready'))).toBe(true);
    expect(http.autoLogging.ignore(req('/metrics?x=1'))).toBe(true);
    expect(http.autoLogging.ignore(req('/health'))).toBe(false);
    expect(http.autoLogging.ignore(req('/api/v1/product/products'))).toBe(false);
  });

  it('should log no request headers and redact credentials', () => {
    const logged = http.serializers.req({ id: 'r1', method: 'GET', url: '/x', headers: { authorization: 'Bearer t' } });
    expect(logged).toEqual({ id: 'r1', method: 'GET', url: '/x' });
    expect(http.redact.paths).toEqual(expect.arrayContaining(['req.headers.authorization', 'req.headers["x-internal-service-secret"]']));
  });
});
