import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DownstreamHttp, errorCode, MAX_ANSWER_BYTES } from './downstream-http.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A local HTTP server answering with `handler`; counts the connections it accepted. */
async function serve(handler: Handler): Promise<{ origin: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server: Server = createServer(handler);
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const never = (): AbortSignal => new AbortController().signal;

describe('DownstreamHttp (the clients’ HTTP transport, undici)', () => {
  const http = new DownstreamHttp({});
  afterAll(() => http.onApplicationShutdown());

  it('parses a 2xx JSON body, hands over a non-JSON body as text and an empty one as undefined; sends the headers', async () => {
    const seen: IncomingMessage['headers'][] = [];
    const server = await serve((req, res) => {
      seen.push(req.headers);
      if (req.url === '/json') res.setHeader('content-type', 'application/json').end('{"user_id":"u1","is_active":true}');
      else if (req.url === '/text') res.end('<html>not json</html>');
      else res.writeHead(204).end();
    });
    try {
      const headers = { Accept: 'application/json', 'X-Request-Id': 'req-1' };
      await expect(http.get(server.origin, '/json', headers, never())).resolves.toEqual({
        status: 200,
        body: { user_id: 'u1', is_active: true },
      });
      await expect(http.get(server.origin, '/text', headers, never())).resolves.toEqual({ status: 200, body: '<html>not json</html>' });
      await expect(http.get(server.origin, '/empty', headers, never())).resolves.toEqual({ status: 204, body: undefined });
      expect(seen[0]).toMatchObject({ accept: 'application/json', 'x-request-id': 'req-1' });
      // keep-alive: six calls in a row, over at most two connections (undici may open a second one while
      // the first is still being released)
      for (let i = 0; i < 3; i++) await http.get(server.origin, '/json', headers, never());
      expect(server.connections()).toBeLessThanOrEqual(2);
    } finally {
      await server.close();
    }
  });

  it('answers other statuses without their body and follows no redirect', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/moved') res.writeHead(302, { location: '/json' }).end();
      else if (req.url === '/json') res.end('{}');
      else res.writeHead(503).end('{"detail":"down"}');
    });
    try {
      await expect(http.get(server.origin, '/moved', {}, never())).resolves.toEqual({ status: 302 });
      await expect(http.get(server.origin, '/down', {}, never())).resolves.toEqual({ status: 503 });
    } finally {
      await server.close();
    }
  });

  it('fails an answer longer than MAX_ANSWER_BYTES, a refused connection, and an aborted call', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    const server = await serve((req, res) => {
      if (req.url === '/slow') return; // never answers
      for (let i = 0; i <= MAX_ANSWER_BYTES / chunk.length; i++) res.write(chunk);
      res.end();
    });
    try {
      const tooLong = await http.get(server.origin, '/big', {}, never()).catch((err: unknown) => err);
      expect(errorCode(tooLong)).toBe('UND_ERR_RES_EXCEEDED_MAX_SIZE');
      const abort = new AbortController();
      const pending = http.get(server.origin, '/slow', {}, abort.signal);
      abort.abort(new Error('timeout'));
      await expect(pending).rejects.toThrow('timeout');
    } finally {
      await server.close();
    }
    const refused = await http.get(server.origin, '/json', {}, never()).catch((err: unknown) => err);
    expect(errorCode(refused)).toBe('ECONNREFUSED');
  });

  it('goes through HTTP_PROXY when the environment sets one', async () => {
    const proxied: string[] = [];
    const proxy = await serve((req, res) => {
      proxied.push(req.url ?? '');
      res.end('{"via":"proxy"}');
    });
    const viaProxy = new DownstreamHttp({ HTTP_PROXY: proxy.origin });
    try {
      await expect(viaProxy.get('http://account.internal:8200', '/api/v1/accounts/profile/u1', {}, never())).resolves.toEqual({
        status: 200,
        body: { via: 'proxy' },
      });
      // a proxy receives the absolute URL
      expect(proxied).toEqual(['http://account.internal:8200/api/v1/accounts/profile/u1']);
    } finally {
      await viaProxy.onApplicationShutdown();
      await proxy.close();
    }
  });
});
