import { exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import request from 'supertest';
import { ManualClock } from '../src/common/clock/clock.js';
import { API, startTestApp, type TestApp } from './support/test-app.js';
import { type IssuerKey, issuerKey, JwksServer, TokenIssuer } from './support/tokens.js';

/** Jest ignores the e2e project's testTimeout: hooks that start apps say theirs. */
const SLOW = 120_000;
const NOW = '2026-12-01T10:00:00.000Z';
const ISSUER = 'https://accounts.platform.test';
const AUDIENCE = 'product_service';
const SECRET = 'an-hs256-secret-of-at-least-32-bytes!';
const COOLDOWN_MS = 30_000;
const MAX_AGE_MS = 10 * 60_000;

/**
 * User tokens (SPEC section 5) against a local JWKS server: the key set cached on the service's
 * clock, an unknown `kid` fetching it again once per cooldown (a rotated-in key works, a flood of
 * made-up kids does not reach the issuer), the previous key working while it is published, stale
 * keys kept while the endpoint fails, algorithms pinned to what the set declares, AUTH_CLOCK_TOLERANCE,
 * a verified token remembered only while the key set it was checked with is held, and 503 (not 401)
 * while no key set could be fetched at all.
 */
describe('user tokens: JWKS cache, rotation, pinned algorithms, clock tolerance', () => {
  const clock = new ManualClock(NOW);
  const jwks = new JwksServer();
  const tokens = new TokenIssuer(() => clock.now(), { iss: ISSUER, aud: AUDIENCE });
  let t: TestApp;
  let k1: IssuerKey;
  let k2: IssuerKey;

  /** the status of a user-only route for this token (200: accepted as `sub`, 401: refused) */
  const statusFor = async (token: string, sub = 'token_user', base = t.baseUrl): Promise<number> =>
    (await request(base).get(`${API}/subscriptions/user/${sub}`).set('Authorization', `Bearer ${token}`)).status;

  beforeAll(async () => {
    k1 = await issuerKey('k1', 'ES256');
    k2 = await issuerKey('k2', 'ES256');
    await jwks.publish(k1).start();
    t = await startTestApp({
      clock,
      env: {
        AUTH_TRUST_USER_HEADER: 'false',
        AUTH_JWKS_URL: jwks.url,
        AUTH_JWT_SECRET: SECRET,
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: AUDIENCE,
        AUTH_CLOCK_TOLERANCE: '30s',
      },
    });
  }, SLOW);
  afterAll(async () => {
    await t?.close();
    await jwks.stop();
  }, SLOW);

  it('should accept tokens signed with a published key and fetch the key set once for all of them', async () => {
    for (let i = 0; i < 10; i++) expect(await statusFor(await tokens.sign(k1, { sub: 'token_user' }))).toBe(200);
    expect(jwks.fetches).toBe(1);
    // the token's sub is the caller: another user's data is 403
    expect(await statusFor(await tokens.sign(k1, { sub: 'token_user' }), 'someone_else')).toBe(403);
  });

  it('should fetch the set again for an unknown kid at most once per cooldown, so a rotated-in key works', async () => {
    jwks.publish(k1, k2);
    const rotated = await tokens.sign(k2, { sub: 'token_user' });
    // within the cooldown of the last fetch: not fetched again, refused
    expect(await statusFor(rotated)).toBe(401);
    expect(jwks.fetches).toBe(1);
    clock.advance(COOLDOWN_MS);
    expect(await statusFor(rotated)).toBe(200);
    expect(jwks.fetches).toBe(2);
    // made-up kids: refused, and the issuer is not asked again within the cooldown
    for (let i = 0; i < 20; i++) expect(await statusFor(await tokens.sign(k2, { sub: 'token_user' }, { kid: `made-up-${i}` }))).toBe(401);
    expect(jwks.fetches).toBe(2);
    // after it, many at once share one fetch
    clock.advance(COOLDOWN_MS);
    const burst = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => statusFor(await tokens.sign(k2, { sub: 'token_user' }, { kid: `burst-${i}` }))),
    );
    expect(burst).toEqual(Array(8).fill(401));
    expect(jwks.fetches).toBe(3);
  });

  it('should keep accepting the previous key while it is published, and refuse it after the set drops it', async () => {
    const old = await tokens.sign(k1, { sub: 'token_user' });
    expect(await statusFor(old)).toBe(200);
    jwks.publish(k2);
    // the set held is still fresh: the old key works until the set is fetched again
    expect(await statusFor(old)).toBe(200);
    clock.advance(MAX_AGE_MS);
    expect(await statusFor(old)).toBe(401);
    expect(await statusFor(await tokens.sign(k2, { sub: 'token_user' }))).toBe(200);
  });

  it('should keep the keys it holds while the key set endpoint fails', async () => {
    const before = jwks.fetches;
    jwks.failing = true;
    clock.advance(MAX_AGE_MS);
    expect(await statusFor(await tokens.sign(k2, { sub: 'token_user' }))).toBe(200);
    expect(jwks.fetches).toBe(before + 1);
    jwks.failing = false;
  });

  it('should pin algorithms to the set: no none, no HS256 keyed with a public key, no other algorithm for a key', async () => {
    clock.advance(COOLDOWN_MS);
    const attacker = await issuerKey('k2', 'ES256');
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const refused = {
      none: tokens.unsigned({ sub: 'token_user' }, 'k2'),
      'HS256 keyed with the public key': await tokens.withPublicKeyAsSecret(k2, { sub: 'token_user' }),
      'forged: another key under kid k2': await tokens.sign(attacker, { sub: 'token_user' }),
      'RS256 under an ES256 kid': await new SignJWT({ sub: 'token_user', iss: ISSUER, aud: AUDIENCE, exp: Date.parse(NOW) / 1000 + 86_400 })
        .setProtectedHeader({ alg: 'RS256', kid: 'k2' })
        .sign(rsa.privateKey),
      'HS512 with the shared secret': await new SignJWT({
        sub: 'token_user',
        iss: ISSUER,
        aud: AUDIENCE,
        exp: Date.parse(NOW) / 1000 + 86_400,
      })
        .setProtectedHeader({ alg: 'HS512' })
        .sign(new TextEncoder().encode(SECRET)),
      'HS256 with another secret': await tokens.hs256('another-secret-of-at-least-32-bytes!!', { sub: 'token_user' }),
      'not a JWT': 'not.a.token',
    };
    const statuses = Object.fromEntries(
      await Promise.all(Object.entries(refused).map(async ([what, token]) => [what, await statusFor(token)])),
    );
    expect(statuses).toEqual(Object.fromEntries(Object.keys(refused).map((what) => [what, 401])));
    // both methods at once (a migration): HS256 with AUTH_JWT_SECRET is still accepted
    expect(await statusFor(await tokens.hs256(SECRET, { sub: 'token_user' }))).toBe(200);
  });

  it('should use a published key without alg with the one algorithm its type implies (RSA: RS256 only)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const k3: IssuerKey = { kid: 'k3', alg: 'RS256', privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid: 'k3' } };
    jwks.keys = [k2.jwk, k3.jwk];
    clock.advance(MAX_AGE_MS);
    expect(await statusFor(await tokens.sign(k3, { sub: 'token_user' }))).toBe(200);
    const pss = await importJWK(privateJwk, 'PS256');
    const ps256 = await new SignJWT({
      sub: 'token_user',
      iss: ISSUER,
      aud: AUDIENCE,
      exp: Date.parse(clock.now().toISOString()) / 1000 + 60,
    })
      .setProtectedHeader({ alg: 'PS256', kid: 'k3' })
      .sign(pss);
    expect(await statusFor(ps256)).toBe(401);
  });

  it('should allow AUTH_CLOCK_TOLERANCE of clock skew on exp and nbf, and require exp, sub, iss and aud', async () => {
    const now = Math.floor(clock.now().getTime() / 1000);
    const cases: Array<[string, Parameters<TokenIssuer['sign']>[1], number]> = [
      ['expired 20 s ago (within 30 s)', { sub: 'token_user', exp: now - 20 }, 200],
      ['expired 40 s ago', { sub: 'token_user', exp: now - 40 }, 401],
      ['expired an hour ago', { sub: 'token_user', exp: now - 3600 }, 401],
      ['valid from 20 s from now (within 30 s)', { sub: 'token_user', nbf: now + 20 }, 200],
      ['valid from 40 s from now', { sub: 'token_user', nbf: now + 40 }, 401],
      ['no exp: would never expire', { sub: 'token_user', exp: null }, 401],
      ['no sub', {}, 401],
      ['a sub that is no identifier', { sub: 'a\u0000b' }, 401],
      ['another issuer', { sub: 'token_user', iss: 'https://elsewhere.test' }, 401],
      ['another audience', { sub: 'token_user', aud: 'billing_service' }, 401],
    ];
    const results = await Promise.all(cases.map(async ([what, claims]) => [what, await statusFor(await tokens.sign(k2, claims))]));
    expect(Object.fromEntries(results)).toEqual(Object.fromEntries(cases.map(([what, , status]) => [what, status])));
  });

  it('should answer a token it verified from memory, and check it again as soon as a fetched key set no longer holds its key', async () => {
    clock.advance(MAX_AGE_MS);
    const k4 = await issuerKey('k4', 'ES256');
    jwks.publish(k2, k4);
    const token = await tokens.sign(k4, { sub: 'token_user' });
    expect(await statusFor(token)).toBe(200);
    const fetches = jwks.fetches;
    jwks.publish(k2);
    // the set held still has k4 (and the token was verified a moment ago): accepted, nothing fetched
    expect(await statusFor(token)).toBe(200);
    expect(await statusFor(token, 'someone_else')).toBe(403);
    expect(jwks.fetches).toBe(fetches);
    // a token with an unknown kid makes the service fetch the set again, well within the time a verified token is remembered
    clock.advance(COOLDOWN_MS);
    expect(await statusFor(await tokens.sign(k2, { sub: 'token_user' }, { kid: 'not-published' }))).toBe(401);
    expect(jwks.fetches).toBe(fetches + 1);
    expect(await statusFor(token)).toBe(401);
  });

  describe('a key set that could never be fetched', () => {
    const downClock = new ManualClock(NOW);
    const down = new JwksServer();
    let other: TestApp;

    beforeAll(async () => {
      down.failing = true;
      await down.publish(k2).start();
      other = await startTestApp({
        clock: downClock,
        databaseUrl: t.databaseUrl,
        env: { AUTH_TRUST_USER_HEADER: 'false', AUTH_JWKS_URL: down.url, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE },
      });
    }, SLOW);
    afterAll(async () => {
      await other?.app.close();
      await down.stop();
    }, SLOW);

    it('should answer 503 with Retry-After on user routes and where a public route needs the user, serve the rest of public routes, and recover', async () => {
      const token = await new TokenIssuer(() => downClock.now(), { iss: ISSUER, aud: AUDIENCE }).sign(k2, { sub: 'token_user' });
      const refused = await request(other.baseUrl).get(`${API}/subscriptions/user/token_user`).set('Authorization', `Bearer ${token}`);
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('SERVICE_UNAVAILABLE');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      await request(other.baseUrl).get(`${API}/products/gpt-4o`).set('Authorization', `Bearer ${token}`).expect(200);
      // a public route's part that needs the user: 503 too (the token may well be good), not "credentials required"
      for (const pending of [
        request(other.baseUrl).get(`${API}/products/gpt-4o/pricing?user_id=token_user`),
        request(other.baseUrl).get(`${API}/products/gpt-4o/availability?user_id=token_user`),
        request(other.baseUrl).post('/api/v1/pricing/calculate').send({ product_id: 'gpt-4o', quantity: 1, user_id: 'token_user' }),
      ]) {
        const answer = await pending.set('Authorization', `Bearer ${token}`);
        expect([answer.status, answer.body.error.code, Number(answer.headers['retry-after']) > 0]).toEqual([
          503,
          'SERVICE_UNAVAILABLE',
          true,
        ]);
      }
      // without a token, still 401
      await request(other.baseUrl).get(`${API}/products/gpt-4o/pricing?user_id=token_user`).expect(401);
      down.failing = false;
      const fetches = down.fetches;
      // the endpoint is back, but it is not asked again before the cooldown
      expect(await statusFor(token, 'token_user', other.baseUrl)).toBe(503);
      expect(down.fetches).toBe(fetches);
      downClock.advance(COOLDOWN_MS);
      expect(await statusFor(token, 'token_user', other.baseUrl)).toBe(200);
      expect(down.fetches).toBe(fetches + 1);
    });
  });
});
