import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../../config/app-config.js';
import { CommonErrorCode, notFound } from '../errors/domain-error.js';
import { pathOf } from '../logging/request-logging.js';

const ARRIVED_ON_PROBE_LISTENER = Symbol('arrived on HEALTH_PORT');
type ProbeRequest = IncomingMessage & { [ARRIVED_ON_PROBE_LISTENER]?: true };

/** What HEALTH_PORT serves: the health endpoints (probes, the /health summary) and the Prometheus scrape. */
function isProbePath(url: string): boolean {
  const path = pathOf(url);
  return path === '/metrics' || path === '/health' || path.startsWith('/health/');
}

/**
 * The probes' own listener (HEALTH_PORT, docs/configuration.md "HTTP server"): the same Fastify
 * instance (same routes, hooks, request log, histogram, shutdown state) behind a second listening
 * socket, so the kubelet's probes never queue behind the API's new connections.
 *
 * Why: libuv accepts one connection per turn of the event loop. Under overload a turn takes
 * 50-100 ms, so a client opening hundreds of connections at once (a pool growing behind slowed
 * answers) fills the accept queue, and a probe's fresh connection waited seconds in it: in the
 * PostgreSQL-outage chaos run readiness then missed the probe's 3 s while the API kept answering
 * 503 in ~300 ms. On its own socket a probe waits for at most one turn.
 *
 * `install` (before the app starts) restricts the listener to `isProbePath` (404 with the SPEC body
 * otherwise: the API is never served there) and closes it with the app; `listen` (after
 * `app.listen`) opens it. Without HEALTH_PORT both do nothing.
 */
export class ProbeListener {
  private server?: Server;

  constructor(private readonly http: AppConfig['http']) {}

  get enabled(): boolean {
    return this.http.healthPort !== undefined;
  }

  install(fastify: FastifyInstance): void {
    if (!this.enabled) return;
    fastify.addHook('onRequest', (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
      if ((req.raw as ProbeRequest)[ARRIVED_ON_PROBE_LISTENER] && !isProbePath(req.url)) {
        done(notFound(CommonErrorCode.NOT_FOUND, 'HEALTH_PORT serves /health and /metrics only; the API is on PORT'));
        return;
      }
      done();
    });
    fastify.addHook('onClose', (_instance, done) => {
      const server = this.server;
      if (!server) return done();
      server.close(() => done());
      server.closeAllConnections();
    });
  }

  /** Opens HEALTH_PORT on `host`; its requests go to `api`'s handler (Fastify's). Resolves to the bound port. */
  async listen(api: Server, host = this.http.host): Promise<number | undefined> {
    if (!this.enabled) return undefined;
    const { http } = this;
    const server = createServer(
      { maxHeaderSize: http.maxHeaderBytes, headersTimeout: http.headersTimeoutMs, requestTimeout: http.requestTimeoutMs },
      (req, res) => {
        (req as ProbeRequest)[ARRIVED_ON_PROBE_LISTENER] = true;
        api.emit('request', req, res);
      },
    );
    server.keepAliveTimeout = http.keepAliveTimeoutMs;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: http.healthPort, host, backlog: http.listenBacklog }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  }
}
