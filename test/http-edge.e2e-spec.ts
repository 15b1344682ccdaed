import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net';
import request from 'supertest';
import { AcceptSockets } from '../src/common/http/accept-sockets.js';
import type { AppConfig } from '../src/config/app-config.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/** Jest ignores the e2e project's testTimeout: hooks that start apps say theirs. */
const SLOW = 120_000;
const USER = { 'X-User-Id': 'edge_user' };

/** What every response carries (src/common/http/http-edge.ts, JSON-API profile). */
const EDGE = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'cross-origin-resource-policy': 'same-origin',
};

const expectEdgeHeaders = (headers: Record<string, unknown>, what: string): void => {
  expect({ what, ...Object.fromEntries(Object.keys(EDGE).map((name) => [name, headers[name]])) }).toEqual({ what, ...EDGE });
  expect([what, typeof headers['x-request-id']]).toEqual([what, 'string']);
};

interface RawAnswer {
  /** everything the server wrote before closing */
  text: string;
  /** the client was still trickling when the server closed (it would have gone on for 60 s) */
  closedWhileSending: boolean;
}

/**
 * A raw TCP client: writes `head`, then one byte of `trickle` every `everyMs` (a 60 s trickle),
 * and resolves when the server closes the connection.
 */
function trickle(port: number, head: string, everyMs = 100, seconds = 60): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let sent = 0;
    const total = Math.floor((seconds * 1000) / everyMs);
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset after the answer is still a close
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedWhileSending: sent < total });
    });
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (socket.destroyed || !socket.writable) return;
        if (sent >= total) {
          clearInterval(timer);
          socket.end();
          return;
        }
        sent += 1;
        socket.write('a');
      }, everyMs);
    });
    socket.setTimeout(90_000, () => reject(new Error('the server never closed the trickling connection')));
  });
}

/** The listening sockets on `port` (`ss`): one per accept socket, with its backlog (Send-Q). */
function listenersOn(port: number): Array<{ backlog: number }> {
  const ss = spawnSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
  expect(ss.error).toBeUndefined();
  return ss.stdout
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => ({ backlog: Number(line.split(/\s+/)[2]) }));
}

describe("the API port's accept sockets (HTTP_ACCEPT_SOCKETS)", () => {
  it(
    'should open one listening socket with HTTP_ACCEPT_SOCKETS=1, and close every socket with the app',
    async () => {
      const one = await startTestApp({ env: { HTTP_ACCEPT_SOCKETS: '1' } });
      const onePort = Number(new URL(one.baseUrl).port);
      expect(listenersOn(onePort)).toHaveLength(1);
      await one.close();
      const two = await startTestApp({ env: { HTTP_ACCEPT_SOCKETS: '2' } });
      const twoPort = Number(new URL(two.baseUrl).port);
      expect(listenersOn(twoPort)).toHaveLength(2);
      await request(two.baseUrl).get('/health/live').expect(200);
      await two.close();
      expect(listenersOn(twoPort)).toEqual([]);
    },
    SLOW,
  );

  it('should refuse to listen on a port another process listens on (SO_REUSEPORT would have shared it silently)', async () => {
    const other = createNetServer();
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const port = (other.address() as AddressInfo).port;
    const sockets = new AcceptSockets({ acceptSockets: 4, listenBacklog: 511 } as AppConfig['http']);
    try {
      await expect(sockets.assertPortFree(port, '127.0.0.1')).rejects.toMatchObject({ code: 'EADDRINUSE' });
      await expect(sockets.assertPortFree(port, '0.0.0.0')).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
    await expect(sockets.assertPortFree(port, '127.0.0.1')).resolves.toBeUndefined();
    // one socket (no SO_REUSEPORT): the listen itself says EADDRINUSE, nothing to check
    await expect(new AcceptSockets({ acceptSockets: 1 } as AppConfig['http']).assertPortFree(port, '127.0.0.1')).resolves.toBeUndefined();
  });
});

/**
 * The HTTP edge: security headers on every response (also errors, 404s, 413s and the /docs page),
 * Cache-Control (no-store unless the catalog says otherwise), limits on headers and query strings
 * answered with the SPEC error body, server timeouts, and a client trickling bytes that does not
 * hold its connection past the request timeout.
 */
describe('HTTP edge: headers, caching, limits, timeouts', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    // short receive timeouts so a trickling client is cut off within a test (docs/configuration.md)
    t = await startTestApp({
      env: {
        HTTP_HEADERS_TIMEOUT: '1s',
        HTTP_REQUEST_TIMEOUT: '2s',
        HTTP_KEEP_ALIVE_TIMEOUT: '65s',
        HTTP_LISTEN_BACKLOG: '1234',
        HTTP_ACCEPT_SOCKETS: '3',
      },
    });
    port = Number(new URL(t.baseUrl).port);
  }, SLOW);
  afterAll(async () => {
    await t?.close();
  }, SLOW);

  describe('security headers', () => {
    it('should send the JSON-API security headers on answers of every kind', async () => {
      const answers: Array<[string, request.Test]> = [
        ['liveness', request(t.baseUrl).get('/health/live')],
        ['catalog read', request(t.baseUrl).get(`${API}/products/gpt-4o`)],
        ['metrics', request(t.baseUrl).get('/metrics')],
        ['unknown route', request(t.baseUrl).get('/nope')],
        ['unauthenticated', request(t.baseUrl).get(`${API}/subscriptions`)],
        ['forbidden', request(t.baseUrl).get(`${API}/subscriptions`).set(USER)],
        ['bad JSON', request(t.baseUrl).post(`${API}/usage/record`).set(USER).set('content-type', 'application/json').send('{nope')],
        ['not JSON', request(t.baseUrl).post(`${API}/usage/record`).set(USER).set('content-type', 'text/plain').send('x')],
        [
          'too large',
          request(t.baseUrl)
            .post(`${API}/usage/record`)
            .set(USER)
            .set('content-type', 'application/json')
            .send(JSON.stringify({ x: 'y'.repeat(1024 * 1024) })),
        ],
        ['HEAD', request(t.baseUrl).head(`${API}/products`)],
      ];
      const statuses: Record<string, number> = {};
      for (const [what, pending] of answers) {
        const res = await pending;
        statuses[what] = res.status;
        expectEdgeHeaders(res.headers, what);
        if (res.status >= 400 && what !== 'HEAD') expect([what, res.body.error?.request_id]).toEqual([what, res.headers['x-request-id']]);
        // a 401 says how to authenticate (RFC 9110: it MUST), nothing else does
        expect([what, res.headers['www-authenticate']]).toEqual([what, res.status === 401 ? 'Bearer realm="product_service"' : undefined]);
      }
      expect(statuses).toEqual({
        liveness: 200,
        'catalog read': 200,
        metrics: 200,
        'unknown route': 404,
        unauthenticated: 401,
        forbidden: 403,
        'bad JSON': 400,
        'not JSON': 415,
        'too large': 413,
        HEAD: 200,
      });
    });

    it('should give the /docs page a Content-Security-Policy, and the JSON answers none', async () => {
      const page = await request(t.baseUrl).get('/docs').expect(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expectEdgeHeaders(page.headers, '/docs');
      expect(page.headers['content-security-policy']).toBe(
        "default-src 'none';base-uri 'none';connect-src 'self';font-src 'self' data:;form-action 'none';frame-ancestors 'none';" +
          "img-src 'self' data:;manifest-src 'self';object-src 'none';script-src 'self';style-src 'self' 'unsafe-inline'",
      );
      expect(page.headers).toMatchObject({ 'referrer-policy': 'no-referrer', 'cross-origin-opener-policy': 'same-origin' });
      const json = await request(t.baseUrl).get(`${API}/info`).expect(200);
      expect(json.headers['content-security-policy']).toBeUndefined();
      expect(json.headers['x-powered-by']).toBeUndefined();
    });
  });

  describe('Cache-Control', () => {
    it('should let caches keep catalog reads (public, max-age, strong ETag) and nothing user-specific', async () => {
      for (const path of ['/categories', '/products', '/products/gpt-4o', '/products/gpt-4o/pricing', '/plans', '/plans/tier_pro_001']) {
        const res = await request(t.baseUrl).get(`${API}${path}`).expect(200);
        expect([path, res.headers['cache-control'], res.headers.etag]).toEqual([path, 'public, max-age=30', expect.stringMatching(/^"/)]);
        // plans depend on the caller (internal callers see non-public ones): a shared cache keys them by its headers
        expect([path, res.headers.vary]).toEqual([
          path,
          path.startsWith('/plans') ? 'X-Internal-Service, X-Internal-Service-Secret' : undefined,
        ]);
      }
      const internalPlans = await request(t.baseUrl).get(`${API}/plans`).set(INTERNAL).expect(200);
      expect([internalPlans.headers['cache-control'], internalPlans.headers.vary]).toEqual([
        'private, max-age=30',
        'X-Internal-Service, X-Internal-Service-Secret',
      ]);
      const userSpecific = [
        `/subscriptions/user/edge_user`,
        `/usage/records?user_id=edge_user`,
        `/statistics/usage?user_id=edge_user`,
        `/products/gpt-4o/pricing?user_id=edge_user`,
        `/products/gpt-4o/availability?user_id=edge_user`,
      ];
      for (const path of userSpecific) {
        const res = await request(t.baseUrl).get(`${API}${path}`).set(USER).expect(200);
        expect([path, res.headers['cache-control']]).toEqual([path, 'no-store']);
      }
      // every route that needs credentials, and every error (also of a cacheable route)
      for (const [path, headers] of [
        [`${API}/statistics/service`, USER],
        [`${API}/subscriptions`, INTERNAL],
        [`${API}/subscriptions`, {}],
        [`${API}/products/nope`, {}],
        [`${API}/products?product_type=bogus`, {}],
        ['/nope', {}],
      ] as const) {
        const res = await request(t.baseUrl).get(path).set(headers);
        expect([path, res.status < 300 || res.status >= 400, res.headers['cache-control']]).toEqual([path, true, 'no-store']);
      }
      // probes and scrapes say nothing about caching (nothing in them belongs to a caller)
      expect((await request(t.baseUrl).get('/health/live').expect(200)).headers['cache-control']).toBeUndefined();
    });
  });

  describe('limits', () => {
    it('should answer 400 with the SPEC body for too many query parameters or values of one, never 500', async () => {
      const many = Array.from({ length: 65 }, (_, i) => `p${i}=1`).join('&');
      const tooMany = await request(t.baseUrl).get(`${API}/products?${many}`).expect(400);
      expect(tooMany.body).toEqual({
        error: { code: 'VALIDATION_ERROR', message: 'Too many query parameters (at most 64)', request_id: tooMany.headers['x-request-id'] },
        detail: 'Too many query parameters (at most 64)',
      });
      expectEdgeHeaders(tooMany.headers, 'too many parameters');
      const repeated = Array.from({ length: 17 }, () => 'product_type=model').join('&');
      const tooLong = await request(t.baseUrl).get(`${API}/products?${repeated}`).expect(400);
      expect(tooLong.body.error).toMatchObject({
        code: 'VALIDATION_ERROR',
        message: 'Too many values of one query parameter (at most 16)',
      });
      // within the limits: the route's own validation decides (an array where one value is expected is 400)
      await request(t.baseUrl)
        .get(`${API}/products?${Array.from({ length: 64 }, (_, i) => `p${i}=1`).join('&')}`)
        .expect(200);
      const twice = await request(t.baseUrl).get(`${API}/usage/records?user_id=a&user_id=b`).set(INTERNAL);
      expect(twice.status).toBe(400);
      expect(twice.body.error.code).toBe('VALIDATION_ERROR');
    });

    it('should answer 431 with the SPEC body for headers or a request line over 16 KiB, and close the connection', async () => {
      const bigHeader = await request(t.baseUrl)
        .get('/health/live')
        .set('X-Big', 'x'.repeat(17 * 1024));
      const longUrl = await request(t.baseUrl).get(`${API}/products?q=${'x'.repeat(17 * 1024)}`);
      for (const [what, res] of [
        ['header', bigHeader],
        ['url', longUrl],
      ] as const) {
        expect([what, res.status]).toEqual([what, 431]);
        expect(res.body).toEqual({
          error: {
            code: 'HEADERS_TOO_LARGE',
            message: 'Request line and headers are larger than 16384 bytes',
            request_id: res.headers['x-request-id'],
          },
          detail: 'Request line and headers are larger than 16384 bytes',
        });
        expectEdgeHeaders(res.headers, what);
        expect(res.headers.connection).toBe('close');
      }
      // a large but allowed header is served
      await request(t.baseUrl)
        .get('/health/live')
        .set('X-Big', 'x'.repeat(8 * 1024))
        .expect(200);
    });

    it('should answer 400 with the SPEC body for bytes that are not HTTP', async () => {
      const answer = await new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
      });
      expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(answer).toContain('x-content-type-options: nosniff');
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'MALFORMED_REQUEST' } });
    });
  });

  describe('refusals before routing, and bodies the parser reads', () => {
    /** One request written as is on a new connection (`Connection: close`), its answer parsed. */
    const raw = (text: string | Buffer): Promise<{ status: number; headers: Record<string, string>; body: string }> =>
      new Promise((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(text));
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('error', reject);
        socket.on('close', () => {
          const answer = Buffer.concat(chunks).toString();
          const [head, ...rest] = answer.split('\r\n\r\n');
          const [statusLine, ...lines] = head.split('\r\n');
          const headers = Object.fromEntries(
            lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
          );
          let body = rest.join('\r\n\r\n');
          if (headers['transfer-encoding'] === 'chunked') body = body.replace(/^[0-9a-f]+\r\n/, '').replace(/\r\n0\r\n\r\n$/, '');
          resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
        });
      });
    const expectSpecRefusal = (answer: { status: number; headers: Record<string, string>; body: string }, status: number, code: string) => {
      expect([answer.status, (JSON.parse(answer.body || '{}') as { error?: { code?: string } }).error?.code]).toEqual([status, code]);
      expectEdgeHeaders(answer.headers, code);
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(JSON.parse(answer.body).error.request_id).toBe(answer.headers['x-request-id']);
    };

    it('should refuse a malformed percent-encoding or an over-long path segment with the SPEC body and the request id', async () => {
      for (const path of [`${API}/products/%ZZ`, `${API}/products/%E2%82/pricing`, '/health/%']) {
        const answer = await raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: edge-req-1\r\nConnection: close\r\n\r\n`);
        expectSpecRefusal(answer, 400, 'MALFORMED_REQUEST');
        expect(answer.headers['x-request-id']).toBe('edge-req-1');
      }
      // over the router's 1,024 characters (identifiers are at most 255: a 400 either way, never Fastify's 414)
      const long = await raw(`GET ${API}/products/${'b'.repeat(1025)}/pricing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expectSpecRefusal(long, 400, 'VALIDATION_ERROR');
      expect(long.body).not.toContain('bbbb'); // the path is not echoed
    });

    it('should refuse a request without Host, or with an Expect it cannot meet, with the SPEC body', async () => {
      expectSpecRefusal(await raw(`GET ${API}/info HTTP/1.1\r\nConnection: close\r\n\r\n`), 400, 'MALFORMED_REQUEST');
      // HTTP/1.0 has no Host requirement
      expect((await raw(`GET /health/live HTTP/1.0\r\n\r\n`)).status).toBe(200);
      const expectation = await raw(
        `POST ${API}/categories HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      );
      expectSpecRefusal(expectation, 417, 'EXPECTATION_FAILED');
    });

    it('should refuse a body that is not UTF-8 (400 INVALID_JSON) instead of storing U+FFFD in its place', async () => {
      const body = Buffer.concat([Buffer.from('{"category_id":"utf8_bad","name":"Bad'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
      const answer = await raw(
        Buffer.concat([
          Buffer.from(
            `POST ${API}/categories HTTP/1.1\r\nHost: x\r\nX-Internal-Service: true\r\nX-Internal-Service-Secret: ${INTERNAL['X-Internal-Service-Secret']}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
          ),
          body,
        ]),
      );
      expectSpecRefusal(answer, 400, 'INVALID_JSON');
      await request(t.baseUrl).get(`${API}/categories/utf8_bad`).expect(404);
    });

    it('should read application/*+json bodies as JSON, and a chunked empty body without a Content-Type as no body', async () => {
      await request(t.baseUrl)
        .post(`${API}/categories`)
        .set(INTERNAL)
        .set('content-type', 'application/vnd.api+json')
        .send(JSON.stringify({ category_id: 'plus_json', name: 'Plus JSON' }))
        .expect(201);
      // no body at all, chunked: the route's verdict on a missing body (400), not 415
      const empty = await raw(
        `POST ${API}/usage/record HTTP/1.1\r\nHost: x\r\nX-User-Id: edge_user\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`,
      );
      expectSpecRefusal(empty, 400, 'VALIDATION_ERROR');
      expect(JSON.parse(empty.body).error.message).toBe('Request body must be a JSON object');
      // a chunked body that is there without a Content-Type is still 415
      const text = await raw(
        `POST ${API}/usage/record HTTP/1.1\r\nHost: x\r\nX-User-Id: edge_user\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      );
      expectSpecRefusal(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });
  });

  describe('timeouts', () => {
    it('should run the HTTP server with the configured timeouts', () => {
      const server = t.app.getHttpServer() as import('node:http').Server & { maxHeaderSize?: number };
      expect({
        keepAlive: server.keepAliveTimeout,
        headers: server.headersTimeout,
        request: server.requestTimeout,
        maxHeaderSize: server.maxHeaderSize,
      }).toEqual({ keepAlive: 65_000, headers: 1000, request: 2000, maxHeaderSize: 16_384 });
    });

    it('should listen on HTTP_ACCEPT_SOCKETS sockets, each with the configured accept backlog', () => {
      // ss shows a listening socket's backlog as Send-Q (net.core.somaxconn caps it; 4096 here and on CI)
      expect(listenersOn(port).map((l) => l.backlog)).toEqual([1234, 1234, 1234]);
    });

    it('should answer connections opened at once over every socket of the port', async () => {
      const agent = new http.Agent({ keepAlive: false });
      const statuses = await Promise.all(
        Array.from(
          { length: 96 },
          () =>
            new Promise<number>((resolve, reject) => {
              http
                .get({ host: '127.0.0.1', port, path: '/health/live', agent }, (res) => resolve(res.resume().statusCode ?? 0))
                .on('error', reject);
            }),
        ),
      );
      expect(statuses).toEqual(Array.from({ length: 96 }, () => 200));
    });

    it('should close a connection whose headers trickle in (408) instead of waiting for them', async () => {
      const answer = await trickle(port, 'GET /health/live HTTP/1.1\r\nHost: edge\r\nX-Slow: ');
      expect(answer.closedWhileSending).toBe(true);
      expect(answer.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(JSON.parse(answer.text.slice(answer.text.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'REQUEST_TIMEOUT' } });
    });

    it('should close a connection whose body trickles in (408) instead of holding it for 60 s', async () => {
      const head =
        `POST ${API}/usage/record HTTP/1.1\r\nHost: edge\r\nX-User-Id: edge_user\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"user_id": "';
      const answer = await trickle(port, head);
      expect(answer.closedWhileSending).toBe(true);
      expect(answer.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      // the service keeps serving
      await request(t.baseUrl).get('/health/live').expect(200);
    });
  });
});
