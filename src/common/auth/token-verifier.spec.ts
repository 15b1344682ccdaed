import { SignJWT } from 'jose';
import type { AppConfig } from '../../config/app-config.js';
import { ManualClock } from '../clock/clock.js';
import { TokenVerifier, VERIFIED_TOKEN_MAX_AGE_MS } from './token-verifier.js';

const SECRET = 'a-token-verifier-secret-of-32-bytes!!';
const NOW = '2026-12-01T10:00:00.000Z';
const NOW_S = Date.parse(NOW) / 1000;
const TOLERANCE_S = 30;

const auth: AppConfig['auth'] = {
  internalServiceSecret: undefined,
  jwtSecret: SECRET,
  jwksUrl: undefined,
  issuer: undefined,
  audience: undefined,
  trustUserHeader: false,
  userAuthDisabled: false,
  clockToleranceSeconds: TOLERANCE_S,
};

const hs256 = (claims: Record<string, unknown>, secret = SECRET): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));

/** whether jose, with nothing remembered, accepts the token at this clock */
const acceptedAfresh = async (token: string, clock: ManualClock): Promise<boolean> =>
  'userId' in (await new TokenVerifier(auth, clock).verify(token));

describe('TokenVerifier: verified tokens remembered', () => {
  let clock: ManualClock;
  let verifier: TokenVerifier;

  beforeEach(() => {
    clock = new ManualClock(NOW);
    verifier = new TokenVerifier(auth, clock);
  });

  it('should remember a token once it has passed, and answer it without a promise', async () => {
    const token = await hs256({ sub: 'user_1', exp: NOW_S + 3600 });
    expect(verifier.remembered(token)).toBeUndefined();
    expect(await verifier.verify(token)).toEqual({ userId: 'user_1' });
    expect(verifier.remembered(token)).toBe('user_1');
    expect(await verifier.verify(token)).toEqual({ userId: 'user_1' });
  });

  it('should never remember a refused token', async () => {
    const refused = [
      await hs256({ sub: 'user_1', exp: NOW_S + 3600 }, 'another-secret-of-at-least-32-bytes!!'),
      await hs256({ sub: 'a\u0000b', exp: NOW_S + 3600 }),
      await hs256({ sub: 'user_1' }),
      await hs256({ sub: 'user_1', exp: NOW_S - 3600 }),
      'not.a.token',
    ];
    for (const token of refused) {
      expect('invalid' in (await verifier.verify(token))).toBe(true);
      expect(verifier.remembered(token)).toBeUndefined();
    }
  });

  it('should stop answering a remembered token at the very second jose would refuse it (exp and nbf, with the tolerance)', async () => {
    const token = await hs256({ sub: 'user_1', exp: NOW_S + 40, nbf: NOW_S + 20 });
    // valid from NOW - 10 s (nbf within the 30 s tolerance) to NOW + 70 s (exp, the same): remembered at its first second
    const longLived = new TokenVerifier(auth, clock, undefined, { maxTokens: 10, maxAgeMs: 3_600_000 });
    clock.set(new Date((NOW_S - 11) * 1000 + 999));
    expect('invalid' in (await longLived.verify(token))).toBe(true);
    clock.set(new Date((NOW_S - 10) * 1000));
    expect(await longLived.verify(token)).toEqual({ userId: 'user_1' });
    const probes = [-10, 0, 35, 69, 70, 71, 90].flatMap((offset) => [0, 999].map((ms) => (NOW_S + offset) * 1000 + ms));
    const answers = [];
    for (const at of probes) {
      clock.set(new Date(at));
      answers.push({
        at: clock.now().toISOString(),
        remembered: longLived.remembered(token) !== undefined,
        jose: await acceptedAfresh(token, clock),
      });
    }
    expect(answers.map(({ at, remembered }) => ({ at, remembered }))).toEqual(answers.map(({ at, jose }) => ({ at, remembered: jose })));
    // both edges were crossed
    expect(answers.map((a) => a.jose)).toEqual([...Array(8).fill(true), ...Array(6).fill(false)]);
  });

  it('should check a remembered token again once it is older than the maximum age, and when the clock went back', async () => {
    const token = await hs256({ sub: 'user_1', exp: NOW_S + 86_400 });
    await verifier.verify(token);
    clock.advance(VERIFIED_TOKEN_MAX_AGE_MS - 1);
    expect(verifier.remembered(token)).toBe('user_1');
    clock.advance(1);
    expect(verifier.remembered(token)).toBeUndefined();
    await verifier.verify(token);
    clock.advance(-1000);
    expect(verifier.remembered(token)).toBeUndefined();
  });

  it('should hold at most its limit of tokens, forgetting the oldest first', async () => {
    const small = new TokenVerifier(auth, clock, undefined, { maxTokens: 3, maxAgeMs: VERIFIED_TOKEN_MAX_AGE_MS });
    const tokens = await Promise.all([1, 2, 3, 4].map((i) => hs256({ sub: `user_${i}`, exp: NOW_S + 3600 })));
    for (const token of tokens) await small.verify(token);
    expect(small.rememberedCount).toBe(3);
    expect(tokens.map((token) => small.remembered(token))).toEqual([undefined, 'user_2', 'user_3', 'user_4']);
  });

  it('should forget the tokens older than the maximum age when it verifies another', async () => {
    const [first, second, third] = await Promise.all([1, 2, 3].map((i) => hs256({ sub: `user_${i}`, exp: NOW_S + 3600 })));
    await verifier.verify(first);
    clock.advance(VERIFIED_TOKEN_MAX_AGE_MS / 2);
    await verifier.verify(second);
    clock.advance(VERIFIED_TOKEN_MAX_AGE_MS / 2);
    await verifier.verify(third);
    expect(verifier.rememberedCount).toBe(2);
    expect([second, third].map((token) => verifier.remembered(token))).toEqual(['user_2', 'user_3']);
  });
});
