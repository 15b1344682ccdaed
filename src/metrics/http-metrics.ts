import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metric, Registry } from 'prom-client';

/** Label for requests that matched no route (404s of unknown paths): never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Seconds; finer than prom-client's defaults at the low end, where most of this service's requests are. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const NAME = 'http_request_duration_seconds';
const HELP = 'HTTP request duration in seconds, by method, route pattern and status code';

type Labels = { method: string; route: string; status_code: string };

/** One sample of the exposition, in the shape a prom-client Registry prints (`Histogram.get()`'s). */
interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** One label set's counts: `buckets[i]` responses in (bound i-1, bound i], the last slot above every bound. */
interface Series {
  labels: Labels;
  buckets: Float64Array;
  sum: number;
  count: number;
}

/** Fastify's route config object: one per route (and one for the not-found handler), stable for the process. */
type RouteConfig = { url?: string };
const NO_ROUTE: RouteConfig = {};

/**
 * `http_request_duration_seconds{method,route,status_code}`, observed in Fastify's `onResponse`
 * hook, so it sees every response: handled, errors mapped by the filter, Fastify's own 4xx and 404s.
 * `route` is the route pattern (`/api/v1/product/products/:product_id`), never the raw URL.
 *
 * A Prometheus histogram with prom-client's exposition (same names, labels and buckets), counted
 * here rather than by prom-client's `Histogram`, whose `observe` validates and hashes the label set
 * on every call (7 % of the CPU of `GET /health/live` under load). Here a response costs two map
 * look-ups keyed by the route's own config object and the method, one by status code, and a walk
 * of the bounds; the exposition is built on scrape. The duration is Fastify's `reply.elapsedTime`.
 */
export class HttpMetrics {
  readonly name = NAME;
  /** the hot path's cache: route config object -> method -> status code -> series */
  private readonly byRoute = new WeakMap<RouteConfig, Map<string, Map<number, Series>>>();
  /** every series by its label set: one per label set, also when two routes share a pattern (HEAD of a GET) */
  private readonly byLabels = new Map<string, Series>();

  constructor(registry: Registry) {
    registry.registerMetric(this as unknown as Metric);
  }

  /**
   * Records one response. `route` is Fastify's route config object (one per route, stable): its
   * identity keys the cache, its `url` is the label; undefined, or without a `url`, when no route matched.
   */
  observe(method: string, route: RouteConfig | undefined, statusCode: number, seconds: number): void {
    const key = route?.url === undefined ? NO_ROUTE : route;
    let byMethod = this.byRoute.get(key);
    if (!byMethod) this.byRoute.set(key, (byMethod = new Map<string, Map<number, Series>>()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map<number, Series>()));
    let series = byStatus.get(statusCode);
    if (!series) {
      series = this.seriesOf({ method, route: route?.url ?? UNMATCHED_ROUTE, status_code: String(statusCode) });
      byStatus.set(statusCode, series);
    }
    let i = 0;
    while (i < HTTP_DURATION_BUCKETS.length && seconds > HTTP_DURATION_BUCKETS[i]) i++;
    series.buckets[i]++;
    series.sum += seconds;
    series.count++;
  }

  private seriesOf(labels: Labels): Series {
    const id = `${labels.method} ${labels.status_code} ${labels.route}`;
    let series = this.byLabels.get(id);
    if (!series) {
      series = { labels, buckets: new Float64Array(HTTP_DURATION_BUCKETS.length + 1), sum: 0, count: 0 };
      this.byLabels.set(id, series);
    }
    return series;
  }

  /** The exposition, as prom-client's `Histogram.get()` gives it (cumulative buckets, `+Inf`, `_sum`, `_count`). */
  get(): Promise<{ name: string; help: string; type: 'histogram'; values: Sample[]; aggregator: 'sum' }> {
    const values: Sample[] = [];
    for (const s of this.byLabels.values()) {
      let cumulative = 0;
      HTTP_DURATION_BUCKETS.forEach((le, i) => {
        cumulative += s.buckets[i];
        values.push({ metricName: `${NAME}_bucket`, labels: { le, ...s.labels }, value: cumulative });
      });
      values.push({ metricName: `${NAME}_bucket`, labels: { le: '+Inf', ...s.labels }, value: s.count });
      values.push({ metricName: `${NAME}_sum`, labels: { ...s.labels }, value: s.sum });
      values.push({ metricName: `${NAME}_count`, labels: { ...s.labels }, value: s.count });
    }
    return Promise.resolve({ name: NAME, help: HELP, type: 'histogram', values, aggregator: 'sum' });
  }

  /** Adds the `onResponse` hook to a Fastify instance (before it is ready). */
  install(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
      this.observe(req.method, req.routeOptions.config, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }
}
