import { timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Injectable, Logger, type OnModuleInit, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import type { AppConfig } from '../../config/app-config.js';
import { withoutPassword } from '../../config/app-config.js';
import type { FastifyReply } from 'fastify';
import { Clock } from '../clock/clock.js';
import { NO_STORE } from '../http/http-edge.js';
import { CommonErrorCode, DomainError, forbidden, unauthorized, unavailable } from '../errors/domain-error.js';
import { isIdentifier } from '../validation/validators.js';
import { ACCESS_KEY, type Access, type AuthedRequest } from './auth.decorators.js';
import type { Principal } from './principal.js';
import { RefusedCallers } from './refused-callers.js';
import { RemoteKeySet } from './remote-key-set.js';
import { TokenVerifier } from './token-verifier.js';

/** The key set of AUTH_JWKS_URL is fetched again after this long (while its endpoint answers). */
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
/** At most one fetch of the key set per this long, however many unknown `kid`s tokens bring. */
export const JWKS_REFRESH_COOLDOWN_MS = 30_000;

const header = (req: AuthedRequest, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const safeEqual = (a: string, b: string): boolean => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

/**
 * SPEC section 5. Resolves the caller (internal service, user via JWT or trusted gateway header,
 * or anonymous while user auth is disabled) and enforces the route's access level.
 */
@Injectable()
export class AuthGuard implements CanActivate, OnModuleInit {
  private readonly logger = new Logger('Auth');
  private readonly auth: AppConfig['auth'];
  /** the key set of AUTH_JWKS_URL, when set */
  readonly keySet?: RemoteKeySet;
  private readonly tokens?: TokenVerifier;
  private readonly accessByHandler = new WeakMap<object, Access>();

  constructor(
    private readonly reflector: Reflector,
    config: ConfigService<AppConfig, true>,
    clock: Clock,
    @Optional() private readonly refusedCallers?: RefusedCallers,
  ) {
    this.auth = config.get('auth', { infer: true });
    if (this.auth.jwksUrl) {
      const url = withoutPassword(this.auth.jwksUrl);
      this.keySet = new RemoteKeySet(
        new URL(this.auth.jwksUrl),
        clock,
        {
          cacheMaxAgeMs: JWKS_CACHE_MAX_AGE_MS,
          cooldownMs: JWKS_REFRESH_COOLDOWN_MS,
          timeoutMs: config.get('clients', { infer: true }).timeoutMs,
        },
        (err) => this.logger.warn({ url, error: err instanceof Error ? err.message : String(err) }, 'user token keys could not be fetched'),
      );
    }
    if (this.auth.jwtSecret || this.keySet) this.tokens = new TokenVerifier(this.auth, clock, this.keySet);
  }

  onModuleInit(): void {
    // fetched ahead of the first token; start-up never waits for it (nor fails without it)
    if (this.keySet) void this.keySet.refresh().catch(() => undefined);
    if (this.auth.userAuthDisabled) {
      this.logger.warn('User authentication is OFF (no AUTH_JWT_SECRET, AUTH_JWKS_URL or AUTH_TRUST_USER_HEADER): development only');
    }
    if (!this.auth.internalServiceSecret) {
      this.logger.warn('INTERNAL_SERVICE_SECRET is not set: X-Internal-Service: true is trusted without a secret (development only)');
    }
  }

  /**
   * Synchronous unless a bearer token must be verified (the one asynchronous step): a request with
   * no token, an internal caller, a gateway user or a token verified moments ago pays no promise here.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    try {
      const admitted = this.authenticate(context);
      return admitted instanceof Promise ? admitted.catch((err: unknown) => this.refuse(context, err)) : admitted;
    } catch (err) {
      return this.refuse(context, err);
    }
  }

  /**
   * A refusal (401, 403) is first counted by the rate limits (RefusedCallers), which answer 429
   * instead when its caller is over the limit; anything else (a 503) is thrown as it is.
   */
  private refuse(context: ExecutionContext, err: unknown): never | Promise<never> {
    const refusal = err instanceof DomainError && (err.kind === 'unauthenticated' || err.kind === 'forbidden');
    const counted = refusal ? this.refusedCallers?.count(context) : undefined;
    if (counted instanceof Promise) {
      return counted.then(() => {
        throw err;
      });
    }
    throw err;
  }

  private authenticate(context: ExecutionContext): boolean | Promise<boolean> {
    const access = this.accessOf(context);
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const lenient = access === 'public';
    // what a route that needs credentials answers depends on who asks: never kept by a cache
    if (!lenient) void context.switchToHttp().getResponse<FastifyReply>().header('Cache-Control', NO_STORE);
    const resolved = this.resolve(req, lenient);
    if (typeof resolved !== 'string') return this.admit(req, access, resolved);
    // a token this replica verified a moment ago: answered from memory, no promise (TokenVerifier)
    const userId = (this.tokens as TokenVerifier).remembered(resolved);
    if (userId !== undefined) return this.admit(req, access, { kind: 'user', userId });
    return this.verifyBearer(resolved, lenient).then((principal) => this.admit(req, access, principal));
  }

  /** Remembers the caller on the request and applies the route's access level. */
  private admit(req: AuthedRequest, access: Access, principal: Principal): boolean {
    req.principal = principal;
    if (access === 'public') return true;
    if (access === 'internal' && principal.kind !== 'internal') {
      // With no credentials configured at all (local development) everything is open.
      if (principal.kind === 'anonymous' && !this.auth.internalServiceSecret) return true;
      if (principal.kind === 'anonymous') throw unauthorized('Internal service credentials required');
      throw forbidden('This endpoint is for internal services only');
    }
    return true;
  }

  /** The route's access level (metadata read once per handler, then remembered). */
  private accessOf(context: ExecutionContext): Access {
    const handler = context.getHandler();
    let access = this.accessByHandler.get(handler);
    if (access === undefined) {
      access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, [handler, context.getClass()]) ?? 'authenticated';
      this.accessByHandler.set(handler, access);
    }
    return access;
  }

  /** The caller from the request's headers, or the bearer token still to verify. */
  private resolve(req: AuthedRequest, lenient: boolean): Principal | string {
    if (header(req, 'x-internal-service')?.toLowerCase() === 'true') {
      const secret = this.auth.internalServiceSecret;
      const given = header(req, 'x-internal-service-secret');
      if (!secret) return { kind: 'internal' };
      if (given !== undefined && safeEqual(given, secret)) return { kind: 'internal' };
      if (lenient) return { kind: 'anonymous' };
      throw unauthorized('Invalid internal service credentials');
    }
    const authorization = header(req, 'authorization');
    if (this.tokens && authorization !== undefined && /^bearer /i.test(authorization)) return authorization.slice(7).trim();
    if (this.auth.trustUserHeader) {
      const userId = header(req, 'x-user-id');
      if (userId !== undefined && isIdentifier(userId)) return { kind: 'user', userId };
    }
    if (this.auth.userAuthDisabled || lenient) return { kind: 'anonymous' };
    throw unauthorized();
  }

  private async verifyBearer(token: string, lenient: boolean): Promise<Principal> {
    const verdict = await (this.tokens as TokenVerifier).verify(token);
    if ('userId' in verdict) return { kind: 'user', userId: verdict.userId };
    if (lenient)
      return 'unavailable' in verdict
        ? { kind: 'anonymous', tokenUncheckedRetryAfter: verdict.unavailable.retryAfterSeconds }
        : { kind: 'anonymous' };
    if ('unavailable' in verdict) {
      throw unavailable(CommonErrorCode.SERVICE_UNAVAILABLE, 'User tokens cannot be checked now', verdict.unavailable.retryAfterSeconds);
    }
    this.logger.debug({ reason: verdict.invalid }, 'bearer token refused');
    throw unauthorized('Invalid or expired bearer token');
  }
}
