import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Agent, type Dispatcher, EnvHttpProxyAgent } from 'undici';

/** Largest answer body read from the account or organization service; a longer one fails the call. */
export const MAX_ANSWER_BYTES = 10 * 1024 * 1024;

/** Keep-alive connections per downstream origin at most (calls beyond wait for one). */
export const MAX_CONNECTIONS_PER_ORIGIN = 64;

/** What a GET answered: the status, and for a 2xx the body as JSON (a body that is not JSON: its text). */
export interface DownstreamAnswer {
  status: number;
  body?: unknown;
}

/** The error code of a failed call (undici's `UND_ERR_*`, or the system's: `ECONNREFUSED`...). */
export const errorCode = (err: unknown): string | undefined =>
  typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code
    : undefined;

/**
 * The HTTP transport of the account and organization clients (DownstreamClient): undici's pool of
 * keep-alive connections per origin (TCP keepalive on; an idle connection is closed after 4 s, or
 * 2 s before the server's own `Keep-Alive: timeout` when it sends one; no redirects followed; answers
 * up to MAX_ANSWER_BYTES). With HTTP_PROXY / HTTPS_PROXY set (NO_PROXY honoured), calls go through the proxy.
 *
 * Why not axios (@nestjs/axios' HttpService, which this replaced): on subscription create, where
 * each new user is one call, axios' per-call configuration merge, header handling and
 * proxy-from-env lookup plus Node's `http.ClientRequest` were ~35 % of the service's CPU
 * (docs/performance.md); undici parses with llhttp straight from the socket and builds no per-call
 * configuration. Cancellation is the resilience policy's AbortSignal (timeouts, shutdown).
 */
@Injectable()
export class DownstreamHttp implements OnApplicationShutdown {
  private readonly dispatcher: Dispatcher;

  constructor(env: Record<string, string | undefined> = process.env) {
    const options = { connections: MAX_CONNECTIONS_PER_ORIGIN, maxResponseSize: MAX_ANSWER_BYTES };
    const httpProxy = env.http_proxy || env.HTTP_PROXY;
    const httpsProxy = env.https_proxy || env.HTTPS_PROXY;
    this.dispatcher =
      httpProxy || httpsProxy
        ? new EnvHttpProxyAgent({ ...options, httpProxy, httpsProxy, noProxy: env.no_proxy || env.NO_PROXY || '' })
        : new Agent(options);
  }

  /** GET `origin` + `path`; a 2xx body is read and parsed, any other body is discarded. */
  async get(origin: string, path: string, headers: Record<string, string>, signal: AbortSignal): Promise<DownstreamAnswer> {
    const { statusCode, body } = await this.dispatcher.request({ origin, path, method: 'GET', headers, signal });
    if (statusCode < 200 || statusCode >= 300) {
      await body.dump();
      return { status: statusCode };
    }
    const text = await body.text();
    try {
      return { status: statusCode, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
    } catch {
      return { status: statusCode, body: text };
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.dispatcher.destroy();
  }
}
