import { Agent, get as httpGet, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/** How a request ended: an HTTP status, or the way the connection failed. */
export type Outcome = 'http' | 'refused' | 'reset' | 'timeout' | 'error';

export interface HttpResult {
  outcome: Outcome;
  /** HTTP status (0 when there was no response) */
  status: number;
  headers: IncomingHttpHeaders;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON answers of the service
  text: string;
  /** from the moment the request was handed to the socket layer to the end of the answer */
  ms: number;
  error?: string;
}

export interface RequestOptions {
  body?: unknown;
  /** sent verbatim instead of JSON.stringify(body) */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** Connection failures that mean "the server was not there / went away", not a server answer. */
export const isConnectionFailure = (r: HttpResult): boolean => r.outcome === 'refused' || r.outcome === 'reset';

/**
 * A small keep-alive HTTP/1.1 client on node:http with exact failure classes (refused, reset,
 * timeout) instead of fetch's opaque errors. One instance per load generator.
 */
export class HttpClient {
  readonly agent: Agent;

  constructor(maxSockets = 1024) {
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
  }

  request(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<HttpResult> {
    const url = new URL(path, baseUrl);
    const payload =
      options.rawBody !== undefined ? options.rawBody : options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string | number> = { ...(options.headers ?? {}) };
    if (payload !== undefined) {
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const started = performance.now();
    return new Promise<HttpResult>((resolve) => {
      let settled = false;
      const done = (r: Omit<HttpResult, 'ms'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...r, ms: performance.now() - started });
      };
      const req = httpRequest(
        { host: url.hostname, port: url.port, method, path: `${url.pathname}${url.search}`, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err: NodeJS.ErrnoException) => done(failure(err)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            if ((res.headers['content-type'] ?? '').includes('json')) {
              try {
                body = JSON.parse(text);
              } catch {
                body = undefined;
              }
            }
            done({ outcome: 'http', status: res.statusCode ?? 0, headers: res.headers, body, text });
          });
        },
      );
      const timer = setTimeout(() => {
        done({ outcome: 'timeout', status: 0, headers: {}, body: undefined, text: '', error: `no answer within ${options.timeoutMs} ms` });
        req.destroy();
      }, options.timeoutMs ?? 10_000);
      req.on('error', (err: NodeJS.ErrnoException) => done(failure(err)));
      if (payload !== undefined) req.end(payload);
      else req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function failure(err: NodeJS.ErrnoException): Omit<HttpResult, 'ms'> {
  const code = err.code ?? '';
  const outcome: Outcome =
    code === 'ECONNREFUSED' ? 'refused' : ['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET'].includes(code) ? 'reset' : 'error';
  return { outcome, status: 0, headers: {}, body: undefined, text: '', error: `${code} ${err.message}`.trim() };
}

/** One GET on a fresh connection that is closed afterwards (health probes: nothing kept alive). */
export function probe(url: string, timeoutMs = 2000): Promise<{ status: number; text: string } | undefined> {
  return new Promise((resolve) => {
    const req = httpGet(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', () => resolve(undefined));
    });
    req.setTimeout(timeoutMs, () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}
