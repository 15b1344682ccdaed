import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Histogram, type Registry } from 'prom-client';

/** Label for requests that matched no route (404s of unknown paths): never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Seconds; finer than prom-client's defaults at the low end, where most of this service's requests are. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * `http_request_duration_seconds{method,route,status_code}`, observed in Fastify's `onResponse`
 * hook, so it sees every response: handled, errors mapped by the filter, Fastify's own 4xx and 404s.
 * `route` is the route pattern (`/api/v1/product/products/:product_id`), never the raw URL.
 * The duration is Fastify's own `reply.elapsedTime` (no extra timer); label children are cached.
 */
export class HttpMetrics {
  private readonly histogram: Histogram<'method' | 'route' | 'status_code'>;
  private readonly children = new Map<string, Histogram.Internal<'method' | 'route' | 'status_code'>>();

  constructor(registry: Registry) {
    this.histogram = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration in seconds, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_DURATION_BUCKETS,
      registers: [registry],
    });
  }

  /** Records one response; `route` undefined means no route matched. */
  observe(method: string, route: string | undefined, statusCode: number, seconds: number): void {
    const routeLabel = route ?? UNMATCHED_ROUTE;
    const key = `${method} ${statusCode} ${routeLabel}`;
    let child = this.children.get(key);
    if (!child) {
      child = this.histogram.labels(method, routeLabel, String(statusCode));
      this.children.set(key, child);
    }
    child.observe(seconds);
  }

  /** Adds the `onResponse` hook to a Fastify instance (before it is ready). */
  install(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
      this.observe(req.method, req.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }
}
