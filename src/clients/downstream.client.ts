import { randomUUID } from 'node:crypto';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/app-config.js';
import type { ClientMetrics, DownstreamService } from './client.metrics.js';
import { type ClientCallOptions, DependencyUnavailableError, type DownstreamHealth } from './client.types.js';
import { type DownstreamHttp, errorCode } from './downstream-http.js';
import { type CircuitStatus, isCircuitOpen, isTimeout, PositiveCache, ResiliencePolicy, TransientFailure } from './resilience.js';

/** A 4xx other than 404: neither retried nor counted by the breaker, but still "no answer". */
class UnexpectedStatus extends Error {
  constructor(readonly status: number) {
    super(`unexpected HTTP ${status}`);
  }
}

/** An id in an answer (a string, or a number from a service with numeric ids) names `asked`. */
export const sameId = (answered: unknown, asked: string): boolean =>
  (typeof answered === 'string' || typeof answered === 'number') && String(answered) === asked;

/**
 * A path segment for an identifier: URL-encoded. `.` and `..` cannot be sent as a segment at all
 * (URL parsers resolve them, `%2E%2E` included), so they yield undefined: no such resource.
 */
export function pathSegment(id: string): string | undefined {
  if (id === '' || id === '.' || id === '..') return undefined;
  return encodeURIComponent(id);
}

/**
 * What the account and organization clients share: the HTTP call with the internal headers and the
 * caller's request id, the resilience policy (one breaker per service), the positive cache, metrics,
 * logs and the shutdown. Subclasses only build paths and read answers.
 *
 * `get` answers the decoded JSON (2xx) or null (404); everything else — timeout, network error, 5xx,
 * 429, another 4xx, open circuit, client closed — is DependencyUnavailableError ("unknown").
 */
export abstract class DownstreamClient implements OnApplicationShutdown {
  readonly baseUrl: string;
  /** where calls go: the base URL's origin, and its path (without a trailing slash) before every call's path */
  private readonly origin: string;
  private readonly basePath: string;
  protected readonly logger: Logger;
  protected readonly cache: PositiveCache<unknown>;
  private readonly policy: ResiliencePolicy;
  private readonly secret: string | undefined;
  private readonly closing = new AbortController();

  protected constructor(
    readonly service: DownstreamService,
    baseUrl: string,
    private readonly http: DownstreamHttp,
    config: ConfigService<AppConfig, true>,
    private readonly metrics: ClientMetrics,
  ) {
    const settings = config.get('clients', { infer: true });
    this.baseUrl = baseUrl;
    const url = new URL(baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.secret = config.get('auth', { infer: true }).internalServiceSecret;
    this.logger = new Logger(this.constructor.name);
    this.cache = new PositiveCache(settings.cacheTtlMs, settings.cacheMaxEntries);
    this.policy = new ResiliencePolicy(settings, {
      onCircuitChange: (state, reason) => this.circuitChanged(state, reason),
      onTimeout: () => this.metrics.record(service, 'timeout'),
    });
    this.metrics.setCircuit(service, 'closed');
  }

  get circuitState(): CircuitStatus {
    return this.policy.circuit;
  }

  /**
   * GET /health (no retry, no cache): an open circuit answers "down" without a call; otherwise the
   * probe goes outside the breaker. A failing /health says nothing about the API the service calls,
   * and through the breaker anyone could keep it open (GET /health is public): five probes of a
   * failing /health opened it, and while they went on each took the half-open trial, so every
   * subscription create was 503 though the account API answered.
   */
  async healthCheck(): Promise<DownstreamHealth> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    if (this.circuitState === 'open') return { status: 'down', circuit: 'open', message: 'circuit open', response_time_ms: 0 };
    try {
      const body = await this.get('/health', undefined, { idempotent: false, breaker: false });
      if (body === null) return { status: 'down', circuit: this.circuitState, message: 'no /health endpoint (HTTP 404)' };
      return { status: 'up', circuit: this.circuitState, response_time_ms: elapsed() };
    } catch (err) {
      const message = err instanceof DependencyUnavailableError ? err.reason : 'unexpected error';
      return { status: 'down', circuit: this.circuitState, message, response_time_ms: elapsed() };
    }
  }

  onApplicationShutdown(): void {
    this.closing.abort();
  }

  /** The JSON body (2xx) or null (404); DependencyUnavailableError otherwise. */
  protected async get<T = unknown>(
    path: string,
    options: ClientCallOptions | undefined,
    { idempotent = true, breaker = true }: { idempotent?: boolean; breaker?: boolean } = {},
  ): Promise<T | null> {
    if (this.closing.signal.aborted) throw this.unavailable('client closed');
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'X-Internal-Service': 'true',
      'X-Request-Id': options?.requestId ?? randomUUID(),
    };
    if (this.secret) headers['X-Internal-Service-Secret'] = this.secret;
    try {
      return await this.policy.execute((signal) => this.attempt<T>(`${this.basePath}${path}`, headers, signal), {
        idempotent,
        breaker,
        signal: this.closing.signal,
      });
    } catch (err) {
      throw this.toUnavailable(err);
    }
  }

  /** A cached positive answer, or `load()` (whose non-null answer is cached). */
  protected async cached<T>(key: string, load: () => Promise<T | null>): Promise<T | null> {
    const { value, hit } = await this.cache.lookup<T>(key, load);
    if (hit) this.metrics.record(this.service, 'cache_hit');
    return value;
  }

  protected unavailable(reason: string): DependencyUnavailableError {
    return new DependencyUnavailableError(this.service, reason);
  }

  private async attempt<T>(path: string, headers: Record<string, string>, signal: AbortSignal): Promise<T | null> {
    let response;
    try {
      response = await this.http.get(this.origin, path, headers, signal);
    } catch (err) {
      if (signal.aborted) throw err; // the timeout (or shutdown) already decided
      this.metrics.record(this.service, 'network_error');
      throw new TransientFailure(undefined, `network error (${errorCode(err) ?? 'no response'})`);
    }
    const { status } = response;
    if (status >= 200 && status < 300) {
      this.metrics.record(this.service, 'success');
      // only a 404 says "no such thing" (null): a 2xx answering JSON null is no usable answer, which
      // the callers refuse as malformed like an empty body (undefined)
      return (response.body ?? undefined) as T;
    }
    if (status === 404) {
      this.metrics.record(this.service, 'not_found');
      return null;
    }
    if (status >= 500 || status === 429) {
      this.metrics.record(this.service, 'server_error');
      throw new TransientFailure(status, `HTTP ${status}`);
    }
    this.metrics.record(this.service, 'client_error');
    throw new UnexpectedStatus(status);
  }

  private toUnavailable(err: unknown): DependencyUnavailableError {
    if (err instanceof DependencyUnavailableError) return err;
    if (isCircuitOpen(err)) {
      this.metrics.record(this.service, 'circuit_open');
      return this.unavailable('circuit open');
    }
    if (this.closing.signal.aborted) return this.unavailable('client closed');
    if (isTimeout(err)) return this.unavailable(`timeout after ${this.policy.settings.timeoutMs} ms`);
    if (err instanceof TransientFailure || err instanceof UnexpectedStatus) return this.unavailable(err.message);
    // never log the raw error: an HTTP client error carries the request headers (and so the secret)
    const error = err instanceof Error ? { name: err.name, message: err.message } : { name: typeof err };
    this.logger.error({ dependency: this.service, error }, 'Unexpected error calling downstream service');
    return this.unavailable('unexpected error');
  }

  private circuitChanged(state: CircuitStatus, reason?: unknown): void {
    this.metrics.setCircuit(this.service, state);
    const fields = { dependency: this.service, circuit: state, base_url: this.baseUrl };
    if (state === 'open') {
      const why = reason instanceof Error ? reason.message : undefined;
      this.logger.warn(
        { ...fields, reason: why, half_open_after_ms: this.policy.settings.breakerHalfOpenAfterMs },
        'circuit breaker opened',
      );
    } else if (state === 'half_open') {
      this.logger.log(fields, 'circuit breaker half-open: trial call');
    } else {
      this.logger.log(fields, 'circuit breaker closed');
    }
  }
}
