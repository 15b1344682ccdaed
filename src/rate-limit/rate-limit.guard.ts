import { type ExecutionContext, Injectable, type Type } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerOptions, type ThrottlerRequest } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthedRequest } from '../common/auth/auth.decorators.js';
import type { RefusedCallers } from '../common/auth/refused-callers.js';
import { CommonErrorCode, DomainError } from '../common/errors/domain-error.js';
import type { RateLimitDecision } from './fixed-window.limiter.js';
import { MemoryThrottlerStorage, type ThrottlerStorageRecord } from './memory-throttler.storage.js';

/**
 * The metadata keys of `@SkipThrottle()` / `@Throttle()` (`@nestjs/throttler`'s throttler.constants,
 * which its index does not export), followed by the throttler's name.
 * `rate-limit.guard.spec.ts` checks them against the decorators.
 */
export const THROTTLER_METADATA = {
  skip: 'THROTTLER:SKIP',
  limit: 'THROTTLER:LIMIT',
  ttl: 'THROTTLER:TTL',
  tracker: 'THROTTLER:TRACKER',
  keyGenerator: 'THROTTLER:KEY_GENERATOR',
} as const;

/**
 * How long a refusal blocks in a shared storage: the window itself. `@nest-lab/throttler-storage-redis`'s
 * script resets a caller's window to one hit when it meets a block whose time is up, so a block of
 * 1 ms (meant to refuse until the window ends) let a caller sending a request every millisecond or
 * two start a new window after every refusal: five of every six requests passed a limit of five
 * (found by the e2e test of two replicas on Redis under load; issue 15). Blocked for the window
 * from its first refusal, a caller gets at most `limit` requests per window plus block, and
 * `Retry-After` says when the block ends. The memory storage has no blocks at all.
 */
const blockFor = (ttl: number): number => ttl;

interface RouteLimit {
  name: string;
  limit: ThrottlerOptions['limit'];
  ttl: ThrottlerOptions['ttl'];
  /** `@Throttle()` tunes this throttler on the route: its own counter per caller, apart from the caller's shared one */
  ownCounter: boolean;
}

/** What the guard does on one route, read once from its metadata. */
interface RoutePlan {
  limits: RouteLimit[];
  /** numbers only, no custom tracker, key generator or skipIf: the synchronous path applies */
  plain: boolean;
  /** `Controller.handler`, the prefix of the route's own counters */
  routeId: string;
}

/** The headers of a throttler other than `default` carry its name, as `@nestjs/throttler` names them. */
const headerNames = (name: string) => ({
  limit: `X-RateLimit-Limit-${name}`,
  remaining: `X-RateLimit-Remaining-${name}`,
  reset: `X-RateLimit-Reset-${name}`,
});

/** The shape `@nestjs/throttler`'s storages answer in, as the guard's decision. */
const decisionOf = (record: ThrottlerStorageRecord, limit: number): RateLimitDecision => ({
  allowed: !record.isBlocked,
  limit,
  remaining: Math.max(0, limit - record.totalHits),
  // refused: until the block ends (a shared storage's block can outlast the window); else the window's end
  resetSeconds: Math.max(1, record.isBlocked ? Math.max(record.timeToBlockExpire, record.timeToExpire) : record.timeToExpire),
});

/**
 * SPEC section 5 "Rate limits per caller", on `@nestjs/throttler`: its module holds the throttlers
 * (`default`: RATE_LIMIT_PER_MIN requests per 60 s) and the storage (`RateLimitModule`); routes opt
 * out with `@SkipThrottle()` (health, metrics, the API documents) or tune their limit with
 * `@Throttle({ default: { limit, ttl } })`. Registered as an APP_GUARD after AuthGuard, which
 * resolves `req.principal`.
 *
 * What this subclass changes, and why:
 * - **the caller** (`getTracker`): the authenticated user id, else the client IP. Internal platform
 *   services are not limited at all: they share one credential (one bucket would throttle every
 *   service together), batch heavily, and are trusted and sized for.
 * - **the key** (`generateKey`): the caller itself, one counter per caller across the API, as the
 *   SPEC says (the library keys per route and hashes the key with sha256 on every request). A route
 *   tuned with `@Throttle()` gets its own counter per caller, `Controller.handler:<caller>`.
 * - **the refusal**: 429 `RATE_LIMITED` in the SPEC body through the HTTP filter, a DomainError with
 *   `Retry-After` = seconds until the caller's window (or, in Redis, its block) ends; `X-RateLimit-Limit`, `-Remaining`,
 *   `-Reset` (seconds to the window's end) on every limited response, refusals included.
 * - **the cost**: every request passes here. The route's metadata is read once per handler and
 *   cached. With the in-memory storage (the default) `canActivate` answers synchronously: the counter
 *   is one Map lookup, no promise is made (Nest's guard consumer continues without an await on a
 *   boolean). With Redis, one awaited storage call per request. Only a route whose options need
 *   resolving per request (functions, custom trackers) takes the library's own path,
 *   `super.canActivate` with `handleRequest` below.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard implements RefusedCallers {
  private readonly plans = new WeakMap<object, RoutePlan>();
  private memory?: MemoryThrottlerStorage;

  override async onModuleInit(): Promise<void> {
    await super.onModuleInit();
    if (this.storageService instanceof MemoryThrottlerStorage) this.memory = this.storageService;
  }

  /**
   * Declared as the base class's `Promise<boolean>`, but a plain boolean on the synchronous path:
   * `CanActivate` allows either, and Nest's guard consumer takes a boolean without an await.
   */
  override canActivate(context: ExecutionContext): Promise<boolean> {
    return this.check(context) as Promise<boolean>;
  }

  /**
   * A request AuthGuard refuses (RefusedCallers), counted as if it had passed: by its client IP (a
   * 401 knows no caller), or its user (a 403); throws the 429 when that caller is over the limit.
   */
  count(context: ExecutionContext): void | Promise<void> {
    const counted = this.check(context);
    if (counted instanceof Promise) return counted.then(() => undefined);
  }

  private check(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const req = http.getRequest<AuthedRequest>();
    if (req.principal?.kind === 'internal') return true;
    const plan = this.planOf(context);
    if (plan.limits.length === 0) return true;
    if (!plan.plain) return super.canActivate(context);

    const reply = http.getResponse<FastifyReply>();
    const tracker = trackerOf(req);
    if (!this.memory) return this.countShared(plan, tracker, reply);
    for (const { name, limit, ttl, ownCounter } of plan.limits) {
      const key = ownCounter ? `${plan.routeId}:${tracker}` : tracker;
      this.answer(reply, name, ttl as number, this.memory.hit(key, limit as number, ttl as number, name));
    }
    return true;
  }

  /** A plain route over a shared storage (Redis): the same steps, one storage round trip per throttler. */
  private async countShared(plan: RoutePlan, tracker: string, reply: FastifyReply): Promise<boolean> {
    for (const { name, limit, ttl, ownCounter } of plan.limits) {
      const key = ownCounter ? `${plan.routeId}:${tracker}` : tracker;
      const record = await this.storageService.increment(key, ttl as number, limit as number, blockFor(ttl as number), name);
      this.answer(reply, name, ttl as number, decisionOf(record, limit as number));
    }
    return true;
  }

  /**
   * The library's path, for a route that is not plain (limits given as functions, a custom tracker
   * or key generator, `skipIf`): `super.canActivate` resolves the options per request and calls
   * this for each throttler.
   */
  protected override async handleRequest({ context, limit, ttl, throttler, getTracker, generateKey }: ThrottlerRequest): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const ignoreUserAgents = throttler.ignoreUserAgents ?? this.commonOptions.ignoreUserAgents;
    const userAgent = req.headers['user-agent'] ?? '';
    if (ignoreUserAgents?.some((pattern) => pattern.test(userAgent))) return true;
    const name = throttler.name ?? 'default';
    const key = generateKey(context, await getTracker(req, context), name);
    const record = await this.storageService.increment(key, ttl, limit, blockFor(ttl), name);
    this.answer(http.getResponse<FastifyReply>(), name, ttl, decisionOf(record, limit));
    return true;
  }

  protected override getTracker(req: object): Promise<string> {
    return Promise.resolve(trackerOf(req as AuthedRequest));
  }

  protected override generateKey(context: ExecutionContext, tracker: string, throttlerName: string): string {
    const plan = this.planOf(context);
    return plan.limits.some((l) => l.name === throttlerName && l.ownCounter) ? `${plan.routeId}:${tracker}` : tracker;
  }

  /** The X-RateLimit headers, and the refusal when the caller is over the limit. */
  private answer(reply: FastifyReply, name: string, ttlMs: number, decision: RateLimitDecision): void {
    if (name === 'default') {
      // the one throttler there is: constant names, no string built per request
      void reply.headers({
        'X-RateLimit-Limit': decision.limit,
        'X-RateLimit-Remaining': decision.remaining,
        'X-RateLimit-Reset': decision.resetSeconds,
      });
    } else {
      const headers = headerNames(name);
      void reply.headers({
        [headers.limit]: decision.limit,
        [headers.remaining]: decision.remaining,
        [headers.reset]: decision.resetSeconds,
      });
    }
    if (decision.allowed) return;
    const per = ttlMs === 60_000 ? 'minute' : `${ttlMs / 1000} s`;
    throw new DomainError(
      CommonErrorCode.RATE_LIMITED,
      'rate_limited',
      `Rate limit of ${decision.limit} requests per ${per} exceeded; retry in ${decision.resetSeconds} s`,
      undefined,
      decision.resetSeconds,
    );
  }

  private planOf(context: ExecutionContext): RoutePlan {
    const handler = context.getHandler();
    let plan = this.plans.get(handler);
    if (plan === undefined) {
      plan = this.buildPlan(handler, context.getClass());
      this.plans.set(handler, plan);
    }
    return plan;
  }

  private buildPlan(handler: object, classRef: Type<unknown>): RoutePlan {
    const targets = [handler as () => unknown, classRef];
    const meta = <T>(key: string, name: string): T | undefined => this.reflector.getAllAndOverride<T | undefined>(key + name, targets);
    const limits: RouteLimit[] = [];
    let plain = this.commonOptions.skipIf === undefined && this.commonOptions.ignoreUserAgents === undefined;
    for (const throttler of this.throttlers) {
      const name = throttler.name ?? 'default';
      if (meta<boolean>(THROTTLER_METADATA.skip, name)) continue;
      const limit = meta<ThrottlerOptions['limit']>(THROTTLER_METADATA.limit, name);
      const ttl = meta<ThrottlerOptions['ttl']>(THROTTLER_METADATA.ttl, name);
      const entry = {
        name,
        limit: limit ?? throttler.limit,
        ttl: ttl ?? throttler.ttl,
        ownCounter: limit !== undefined || ttl !== undefined,
      };
      limits.push(entry);
      plain &&=
        typeof entry.limit === 'number' &&
        typeof entry.ttl === 'number' &&
        throttler.skipIf === undefined &&
        throttler.ignoreUserAgents === undefined &&
        throttler.getTracker === undefined &&
        throttler.generateKey === undefined &&
        meta(THROTTLER_METADATA.tracker, name) === undefined &&
        meta(THROTTLER_METADATA.keyGenerator, name) === undefined;
    }
    return { limits, plain, routeId: `${classRef.name}.${(handler as { name?: string }).name ?? 'handler'}` };
  }
}

/** The caller: `user:<id>` when authenticated as a user, else `ip:<client address>`. */
function trackerOf(req: AuthedRequest | FastifyRequest): string {
  const principal = (req as AuthedRequest).principal;
  return principal?.kind === 'user' ? `user:${principal.userId}` : `ip:${req.ip}`;
}
