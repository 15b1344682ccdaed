import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { type Params, PinoLogger } from 'nestjs-pino';
import { loadConfig } from '../src/config/app-config.js';
import { loggerOptions } from '../src/common/logging/logger.options.js';
import { installRequestLogging, noteErrorCode } from '../src/common/logging/request-logging.js';

/** The per-request log line and request-scoped loggers, on a real Fastify server (see request-logging.ts). */
describe('request logging (Fastify hooks)', () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const params = loggerOptions(loadConfig({ LOG_LEVEL: 'info' }));
  const pino = new PinoLogger({ ...params, pinoHttp: [params.pinoHttp, sink] } as Params);
  const app = Fastify({ genReqId: (req) => (req.headers['x-request-id'] as string | undefined) ?? 'generated' });
  installRequestLogging(app, pino);
  app.get('/api/thing', async (req) => {
    req.log.info('from the handler');
    await Promise.resolve();
    pino.warn('from a Nest logger');
    return { ok: true };
  });
  app.post('/api/thing', async (req) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    pino.info({ got: req.body }, 'from a Nest logger after the body was read');
    return { ok: true };
  });
  app.get('/health/live', () => ({ status: 'ok' }));
  app.get('/boom', async (req, reply) => {
    noteErrorCode(req, 'SERVICE_UNAVAILABLE'); // as AllExceptionsFilter does
    return reply.status(503).send({ down: true });
  });

  let base = '';
  const get = async (path: string, headers: Record<string, string> = {}): Promise<void> => {
    const res = await fetch(base + path, { headers });
    await res.arrayBuffer();
    await new Promise((resolve) => setImmediate(resolve)); // onResponse runs after the response is sent
  };

  beforeAll(async () => {
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());
  beforeEach(() => (lines.length = 0));

  it('should write one request line with request_id, method, url, status and no headers', async () => {
    await get('/api/thing?x=1', { 'x-request-id': 'req-1', authorization: 'Bearer secret' });
    const line = lines.find((l) => l.message === 'request completed');
    expect(line).toMatchObject({
      level: 'info',
      request_id: 'req-1',
      req: { method: 'GET', url: '/api/thing?x=1' },
      res: { status_code: 200 },
    });
    expect(typeof line?.responseTime).toBe('number');
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('should bind request_id to req.log and to Nest logger lines written while serving the request', async () => {
    await get('/api/thing', { 'x-request-id': 'req-2' });
    expect(lines.find((l) => l.message === 'from the handler')).toMatchObject({ request_id: 'req-2' });
    expect(lines.find((l) => l.message === 'from a Nest logger')).toMatchObject({ request_id: 'req-2', level: 'warn' });
  });

  it('should keep request_id on lines written after a body was read and after awaiting a timer', async () => {
    const res = await fetch(`${base}/api/thing`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-post' },
      body: JSON.stringify({ big: 'x'.repeat(200_000) }),
    });
    await res.arrayBuffer();
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.find((l) => l.message === 'from a Nest logger after the body was read')).toMatchObject({ request_id: 'req-post' });
    // and nothing of one request leaks into another served meanwhile
    await Promise.all([get('/api/thing', { 'x-request-id': 'req-a' }), get('/api/thing', { 'x-request-id': 'req-b' })]);
    const nestLines = lines.filter((l) => l.message === 'from a Nest logger');
    expect(nestLines.map((l) => l.request_id).sort()).toEqual(['req-a', 'req-b']);
  });

  it('should log 5xx at error level and never log probes', async () => {
    await get('/boom', { 'x-request-id': 'req-3' });
    await get('/health/live');
    expect(lines).toEqual([
      expect.objectContaining({ level: 'error', message: 'request errored', request_id: 'req-3', error_code: 'SERVICE_UNAVAILABLE' }),
    ]);
  });
});
