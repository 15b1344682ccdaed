import { type CryptoKey, decodeProtectedHeader, type JWTVerifyOptions, jwtVerify } from 'jose';
import type { AppConfig } from '../../config/app-config.js';
import type { Clock } from '../clock/clock.js';
import { isIdentifier } from '../validation/validators.js';
import { KEY_SET_ALGORITHMS, KeySetUnavailableError, type RemoteKeySet } from './remote-key-set.js';

/** What a bearer token says: its user, or why it says nothing (never the token itself). */
export type TokenVerdict = { userId: string } | { invalid: string } | { unavailable: KeySetUnavailableError };

const HMAC_ALGORITHMS = ['HS256'];

/** How many verified tokens are remembered at most (the oldest is forgotten first). */
export const VERIFIED_TOKENS_MAX = 10_000;
/** A remembered token is verified again (signature, key set) at least this often. */
export const VERIFIED_TOKEN_MAX_AGE_MS = 60_000;

export interface VerifiedTokenLimits {
  maxTokens: number;
  maxAgeMs: number;
}

/** A token that passed every check, with what decides whether it still would (seconds, as in the claims). */
interface VerifiedToken {
  userId: string;
  exp: number;
  nbf?: number;
  verifiedAt: number;
  /** the key set's generation it was verified with (-1: the shared secret) */
  keySetGeneration: number;
}

/**
 * Checks a user's bearer token (SPEC section 5): HS256 with AUTH_JWT_SECRET, or the keys of
 * AUTH_JWKS_URL (each pinned to its one algorithm, see pinAlgorithms), or both (an HS256 token goes
 * to the secret, any other to the key set: a migration from one to the other). `none` and any
 * algorithm the method does not declare are refused before a key is looked up. `sub` (the user id)
 * and `exp` are required; `exp` and `nbf` are checked on the injected clock with
 * AUTH_CLOCK_TOLERANCE of leeway; `iss` / `aud` when AUTH_ISSUER / AUTH_AUDIENCE are set.
 *
 * A token that passed is remembered (at most VERIFIED_TOKENS_MAX, keyed by the whole token, so only
 * the same signed bytes match) and answered from memory, synchronously, while its `exp` and `nbf`
 * would still pass on the clock (the same comparison as jose's), for at most
 * VERIFIED_TOKEN_MAX_AGE_MS after its check, and only while the key set it was checked with is the
 * one held: a fetched set (a key dropped) makes every key-set token verified again. jose's check
 * (WebCrypto, through libuv's thread pool) costs ~30-50 µs of CPU per token; a user's next requests
 * carry the same token. Refused tokens are never remembered, so what is held is bounded by the
 * valid tokens of the last VERIFIED_TOKEN_MAX_AGE_MS (each verification first forgets those older),
 * not by what callers send.
 */
export class TokenVerifier {
  /**
   * AUTH_JWT_SECRET as a WebCrypto key, imported once on first use: given the secret's bytes, jose
   * imports a key for every token (~47 µs of CPU per check against ~30 µs with the key imported).
   */
  private hmacKey?: Promise<CryptoKey>;
  private readonly secret?: Uint8Array;
  private readonly options: JWTVerifyOptions;
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    auth: AppConfig['auth'],
    private readonly clock: Clock,
    private readonly keySet?: RemoteKeySet,
    private readonly limits: VerifiedTokenLimits = { maxTokens: VERIFIED_TOKENS_MAX, maxAgeMs: VERIFIED_TOKEN_MAX_AGE_MS },
  ) {
    if (auth.jwtSecret) this.secret = new TextEncoder().encode(auth.jwtSecret);
    this.options = {
      issuer: auth.issuer,
      audience: auth.audience,
      clockTolerance: auth.clockToleranceSeconds,
      requiredClaims: ['sub', 'exp'],
    };
  }

  /** how many verified tokens are held (tests, diagnostics) */
  get rememberedCount(): number {
    return this.verified.size;
  }

  /** The user of a token verified before that would still pass now; undefined: verify it. */
  remembered(token: string): string | undefined {
    const known = this.verified.get(token);
    if (known === undefined) return undefined;
    const nowMs = this.clock.now().getTime();
    const now = Math.floor(nowMs / 1000);
    const tolerance = this.options.clockTolerance as number;
    const stillValid =
      known.exp > now - tolerance &&
      (known.nbf === undefined || known.nbf <= now + tolerance) &&
      nowMs >= known.verifiedAt &&
      nowMs - known.verifiedAt < this.limits.maxAgeMs &&
      known.keySetGeneration === this.generationFor(known.keySetGeneration === -1);
    if (stillValid) return known.userId;
    this.verified.delete(token);
    return undefined;
  }

  async verify(token: string): Promise<TokenVerdict> {
    const userId = this.remembered(token);
    if (userId !== undefined) return { userId };
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      return { invalid: 'malformed' };
    }
    const currentDate = this.clock.now();
    const options = { ...this.options, currentDate };
    const bySecret = this.secret !== undefined && (alg === 'HS256' || !this.keySet);
    // read before the check: a set fetched meanwhile makes this token verified again next time
    const keySetGeneration = this.generationFor(bySecret);
    try {
      const { payload } = bySecret
        ? await jwtVerify(token, await this.secretKey(this.secret), { ...options, algorithms: HMAC_ALGORITHMS })
        : await jwtVerify(token, (this.keySet as RemoteKeySet).getKey, { ...options, algorithms: [...KEY_SET_ALGORITHMS] });
      if (typeof payload.sub !== 'string' || !isIdentifier(payload.sub)) return { invalid: 'sub' };
      this.remember(token, {
        userId: payload.sub,
        exp: payload.exp as number, // required above
        nbf: payload.nbf,
        verifiedAt: currentDate.getTime(),
        keySetGeneration,
      });
      return { userId: payload.sub };
    } catch (err) {
      if (err instanceof KeySetUnavailableError) return { unavailable: err };
      return { invalid: (err as { code?: string }).code ?? 'unverifiable' };
    }
  }

  private secretKey(secret: Uint8Array): Promise<CryptoKey> {
    this.hmacKey ??= crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    return this.hmacKey;
  }

  private generationFor(bySecret: boolean): number {
    return bySecret ? -1 : (this.keySet as RemoteKeySet).generation;
  }

  /** Adds a verified token, first forgetting the oldest while there are too many or they are too old. */
  private remember(token: string, entry: VerifiedToken): void {
    for (const [held, known] of this.verified) {
      if (this.verified.size < this.limits.maxTokens && entry.verifiedAt - known.verifiedAt < this.limits.maxAgeMs) break;
      this.verified.delete(held);
    }
    this.verified.set(token, entry);
  }
}
