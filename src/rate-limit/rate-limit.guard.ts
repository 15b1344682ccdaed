import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply } from 'fastify';
import type { AppConfig } from '../../config/app-config.js';
import type { AuthedRequest } from '../auth/auth.decorators.js';
import { Clock } from '../clock/clock.js';
import { CommonErrorCode, DomainError } from '../errors/domain-error.js';
import { FixedWindowLimiter } from './fixed-window.limiter.js';

/**
 * Route patterns that are never limited: probes and scrapes must answer under any load (the
 * /health summary's aliases the platform calls too, SPEC section 7).
 */
const UNLIMITED_PREFIXES = ['/health', '/metrics', '/api/v1/products/health', '/api/v1/product/health'];

/**
 * SPEC section 5 "Rate limits per caller": `RATE_LIMIT_PER_MIN` requests per caller per minute.
 * Registered as an APP_GUARD after AuthGuard, which resolves `req.principal`.
 *
 * The caller is the authenticated user id, else the client IP (anonymous callers of public
 * routes). Internal platform services are not limited: they share one credential (so one bucket
 * would throttle every service together) and batch heavily (usage, billing); they are trusted
 * and sized for. Health, metrics and docs are not limited.
 *
 * Over the limit: 429 `RATE_LIMITED` with `Retry-After` (seconds until the caller's window ends).
 * Every limited response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`.
 *
 * Counters live in process memory (per replica): with N replicas behind a load balancer a caller
 * gets up to about N x the limit. `@nestjs/throttler` (v6, CommonJS) cannot be loaded by Jest's ESM
 * runtime on Node 20 next to the ESM-only Nest 12 packages, hence this small guard.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly limiter: FixedWindowLimiter;

  constructor(
    config: ConfigService<AppConfig, true>,
    private readonly clock: Clock,
  ) {
    this.limiter = new FixedWindowLimiter(config.get('rateLimitPerMin', { infer: true }), 60_000);
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const req = http.getRequest<AuthedRequest>();
    const principal = req.principal;
    if (principal?.kind === 'internal') return true;
    const route = req.routeOptions.url ?? '';
    if (UNLIMITED_PREFIXES.some((prefix) => route.startsWith(prefix))) return true;

    const key = principal?.kind === 'user' ? `user:${principal.userId}` : `ip:${req.ip}`;
    const decision = this.limiter.hit(key, this.clock.now().getTime());
    const reply = http.getResponse<FastifyReply>();
    void reply.headers({
      'X-RateLimit-Limit': decision.limit,
      'X-RateLimit-Remaining': decision.remaining,
      'X-RateLimit-Reset': decision.resetSeconds,
    });
    if (!decision.allowed) {
      throw new DomainError(
        CommonErrorCode.RATE_LIMITED,
        'rate_limited',
        `Rate limit of ${decision.limit} requests per minute exceeded; retry in ${decision.resetSeconds} s`,
        undefined,
        decision.resetSeconds,
      );
    }
    return true;
  }
}
