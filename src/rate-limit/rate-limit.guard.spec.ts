import { type CanActivate, Controller, type ExecutionContext, Get, Injectable } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { SkipThrottle, Throttle, ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import type { AuthedRequest } from '../common/auth/auth.decorators.js';
import { ManualClock } from '../common/clock/clock.js';
import { AllExceptionsFilter } from '../common/http/all-exceptions.filter.js';
import { MemoryThrottlerStorage } from './memory-throttler.storage.js';
import { RateLimitGuard, THROTTLER_METADATA } from './rate-limit.guard.js';

/** Stands in for AuthGuard: `x-user` makes a user, `x-internal` an internal service. */
@Injectable()
class PrincipalFromHeaders implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const user = req.headers['x-user'];
    if (typeof user === 'string') req.principal = { kind: 'user', userId: user };
    else if (req.headers['x-internal'] === 'true') req.principal = { kind: 'internal' };
    return true;
  }
}

@Controller()
class SampleController {
  @Get('plain')
  plain() {
    return { ok: true };
  }

  @Get('other')
  other() {
    return { ok: true };
  }

  @Get('tuned')
  @Throttle({ default: { limit: 1, ttl: 10_000 } })
  tuned() {
    return { ok: true };
  }

  @Get('computed')
  @Throttle({ default: { limit: () => 2 } })
  computed() {
    return { ok: true };
  }

  @Get('free')
  @SkipThrottle()
  free() {
    return { ok: true };
  }
}

/** A storage that is not the in-memory one (like Redis): the guard awaits it. */
class AsyncStorage implements ThrottlerStorage {
  calls = 0;
  constructor(private readonly inner: MemoryThrottlerStorage) {}
  increment(...args: Parameters<ThrottlerStorage['increment']>) {
    this.calls++;
    return this.inner.increment(...args);
  }
}

async function startApp(storage: ThrottlerStorage, limit = 3): Promise<NestFastifyApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [ThrottlerModule.forRoot({ throttlers: [{ name: 'default', ttl: 60_000, limit }], storage })],
    controllers: [SampleController],
    providers: [
      { provide: APP_FILTER, useClass: AllExceptionsFilter },
      { provide: APP_GUARD, useClass: PrincipalFromHeaders },
      { provide: APP_GUARD, useClass: RateLimitGuard },
    ],
  }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

describe('RateLimitGuard', () => {
  it('should read the metadata @SkipThrottle() and @Throttle() write', () => {
    const meta = (key: string, method: keyof SampleController) =>
      Reflect.getMetadata(`${key}default`, SampleController.prototype[method]) as unknown;
    expect(meta(THROTTLER_METADATA.skip, 'free')).toBe(true);
    expect(meta(THROTTLER_METADATA.limit, 'tuned')).toBe(1);
    expect(meta(THROTTLER_METADATA.ttl, 'tuned')).toBe(10_000);
    expect(meta(THROTTLER_METADATA.limit, 'plain')).toBeUndefined();
  });

  describe.each([
    ['in memory (synchronous path)', (clock: ManualClock) => new MemoryThrottlerStorage(clock)],
    ['in a storage it awaits (as Redis)', (clock: ManualClock) => new AsyncStorage(new MemoryThrottlerStorage(clock))],
  ])('with the counters %s', (_, makeStorage) => {
    let app: NestFastifyApplication;
    let clock: ManualClock;
    let storage: ThrottlerStorage;
    const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

    beforeEach(async () => {
      clock = new ManualClock('2026-12-01T10:00:00.000Z');
      storage = makeStorage(clock);
      app = await startApp(storage);
    });
    afterEach(async () => {
      await app.close();
    });

    it('should count a caller across routes and refuse with the SPEC body and Retry-After', async () => {
      const first = await get('/plain', { 'x-user': 'u1' });
      expect(first.headers).toMatchObject({ 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '2', 'x-ratelimit-reset': '60' });
      await get('/other', { 'x-user': 'u1' });
      await get('/plain', { 'x-user': 'u1' });
      clock.advance(20_000);
      const refused = await get('/other', { 'x-user': 'u1' });
      expect(refused.statusCode).toBe(429);
      expect(refused.headers).toMatchObject({ 'retry-after': '40', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '40' });
      expect(refused.json()).toEqual({
        error: {
          code: 'RATE_LIMITED',
          message: 'Rate limit of 3 requests per minute exceeded; retry in 40 s',
          request_id: expect.any(String),
        },
        detail: 'Rate limit of 3 requests per minute exceeded; retry in 40 s',
      });
      expect((await get('/plain', { 'x-user': 'u2' })).statusCode).toBe(200);
      expect((await get('/plain')).headers['x-ratelimit-remaining']).toBe('2'); // anonymous: by IP
      if (storage instanceof AsyncStorage) expect(storage.calls).toBe(6);
    });

    it('should give a route tuned with @Throttle() its own counter per caller, with its limit and window', async () => {
      await get('/plain', { 'x-user': 'u1' });
      const tuned = await get('/tuned', { 'x-user': 'u1' });
      expect(tuned.headers).toMatchObject({ 'x-ratelimit-limit': '1', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '10' });
      const refused = await get('/tuned', { 'x-user': 'u1' });
      expect(refused.statusCode).toBe(429);
      expect(refused.json().error.message).toBe('Rate limit of 1 requests per 10 s exceeded; retry in 10 s');
      expect((await get('/tuned', { 'x-user': 'u2' })).statusCode).toBe(200);
      expect((await get('/plain', { 'x-user': 'u1' })).headers['x-ratelimit-remaining']).toBe('1');
      clock.advance(10_000);
      expect((await get('/tuned', { 'x-user': 'u1' })).statusCode).toBe(200);
    });

    it('should resolve a limit given as a function per request (the library path)', async () => {
      expect((await get('/computed', { 'x-user': 'u1' })).headers['x-ratelimit-limit']).toBe('2');
      await get('/computed', { 'x-user': 'u1' });
      const refused = await get('/computed', { 'x-user': 'u1' });
      expect([refused.statusCode, refused.json().error.code, refused.headers['retry-after']]).toEqual([429, 'RATE_LIMITED', '60']);
    });

    it('should not limit routes with @SkipThrottle() nor internal services', async () => {
      for (let i = 0; i < 5; i++) {
        const free = await get('/free', { 'x-user': 'u1' });
        expect([free.statusCode, free.headers['x-ratelimit-limit']]).toEqual([200, undefined]);
        const internal = await get('/plain', { 'x-internal': 'true' });
        expect([internal.statusCode, internal.headers['x-ratelimit-limit']]).toEqual([200, undefined]);
      }
    });
  });
});
