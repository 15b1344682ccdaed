import { timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { AppConfig } from '../../config/app-config.js';
import { forbidden, unauthorized } from '../errors/domain-error.js';
import { isIdentifier } from '../validation/validators.js';
import { ACCESS_KEY, type Access, type AuthedRequest } from './auth.decorators.js';
import type { Principal } from './principal.js';

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
  private readonly jwks?: JWTVerifyGetKey;
  private readonly hmacKey?: Uint8Array;
  private readonly accessByHandler = new WeakMap<object, Access>();

  constructor(
    private readonly reflector: Reflector,
    config: ConfigService<AppConfig, true>,
  ) {
    this.auth = config.get('auth', { infer: true });
    if (this.auth.jwksUrl) this.jwks = createRemoteJWKSet(new URL(this.auth.jwksUrl));
    if (this.auth.jwtSecret) this.hmacKey = new TextEncoder().encode(this.auth.jwtSecret);
  }

  onModuleInit(): void {
    if (this.auth.userAuthDisabled) {
      this.logger.warn('User authentication is OFF (no AUTH_JWT_SECRET, AUTH_JWKS_URL or AUTH_TRUST_USER_HEADER): development only');
    }
    if (!this.auth.internalServiceSecret) {
      this.logger.warn('INTERNAL_SERVICE_SECRET is not set: X-Internal-Service: true is trusted without a secret (development only)');
    }
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const access = this.accessOf(context);
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const principal = await this.resolve(req, access === 'public');
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

  private async resolve(req: AuthedRequest, lenient: boolean): Promise<Principal> {
    if (header(req, 'x-internal-service')?.toLowerCase() === 'true') {
      const secret = this.auth.internalServiceSecret;
      const given = header(req, 'x-internal-service-secret');
      if (!secret) return { kind: 'internal' };
      if (given !== undefined && safeEqual(given, secret)) return { kind: 'internal' };
      if (lenient) return { kind: 'anonymous' };
      throw unauthorized('Invalid internal service credentials');
    }
    const authorization = header(req, 'authorization');
    if (authorization?.toLowerCase().startsWith('bearer ') && (this.hmacKey || this.jwks)) {
      const userId = await this.verifyJwt(authorization.slice(7).trim());
      if (userId) return { kind: 'user', userId };
      if (lenient) return { kind: 'anonymous' };
      throw unauthorized('Invalid or expired bearer token');
    }
    if (this.auth.trustUserHeader) {
      const userId = header(req, 'x-user-id');
      if (userId !== undefined && isIdentifier(userId)) return { kind: 'user', userId };
    }
    if (this.auth.userAuthDisabled || lenient) return { kind: 'anonymous' };
    throw unauthorized();
  }

  private async verifyJwt(token: string): Promise<string | undefined> {
    const options = {
      issuer: this.auth.issuer,
      audience: this.auth.audience,
    };
    try {
      const { payload } = this.hmacKey
        ? await jwtVerify(token, this.hmacKey, { ...options, algorithms: ['HS256'] })
        : await jwtVerify(token, this.jwks as JWTVerifyGetKey, options);
      return typeof payload.sub === 'string' && isIdentifier(payload.sub) ? payload.sub : undefined;
    } catch {
      return undefined;
    }
  }
}
