import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWK,
  type JWTHeaderParameters,
  type JWTVerifyGetKey,
} from 'jose';
import type { Clock } from '../clock/clock.js';
import { isJsonObject } from '../validation/json-guard.js';

/** The signature algorithms a user token may use with a key set: asymmetric ones only (never `none`, never HS*). */
export const KEY_SET_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];
const ALLOWED = new Set(KEY_SET_ALGORITHMS);

/** The one algorithm a key without `alg` is used with (what its type implies); undefined: unusable. */
function impliedAlgorithm(key: JWK): string | undefined {
  switch (key.kty) {
    case 'RSA':
      return 'RS256';
    case 'EC':
      return key.crv === 'P-256' ? 'ES256' : key.crv === 'P-384' ? 'ES384' : key.crv === 'P-521' ? 'ES512' : undefined;
    case 'OKP':
      return key.crv === 'Ed25519' ? 'EdDSA' : undefined;
    default:
      return undefined;
  }
}

/**
 * The signing keys of a JWKS, each pinned to one algorithm: its own `alg`, or the one its type
 * implies (RSA → RS256, EC by curve, Ed25519 → EdDSA). jose then accepts a token only when its
 * header's `alg` equals its key's, so a token cannot pick a weaker algorithm for a key, and keys
 * for other uses (`use` other than `sig`), symmetric keys (`oct`, HS*) and `none` are dropped.
 */
export function pinAlgorithms(set: unknown): JSONWebKeySet {
  if (!isJsonObject(set) || !Array.isArray(set.keys)) throw new Error('not a JSON Web Key Set');
  const keys = set.keys.flatMap((value): JWK[] => {
    if (!isJsonObject(value) || typeof value.kty !== 'string') return [];
    const key = value as JWK;
    if (key.use !== undefined && key.use !== 'sig') return [];
    const alg = typeof key.alg === 'string' ? key.alg : impliedAlgorithm(key);
    return alg !== undefined && ALLOWED.has(alg) ? [{ ...key, alg }] : [];
  });
  return { keys };
}

export interface RemoteKeySetOptions {
  /** keys older than this are fetched again (while the endpoint answers; stale keys keep working otherwise) */
  cacheMaxAgeMs: number;
  /** at most one fetch per this long, whatever the tokens ask (unknown `kid`s cannot flood the endpoint) */
  cooldownMs: number;
  /** per fetch */
  timeoutMs: number;
}

/** No keys could be fetched yet: no token can be checked (the guard answers 503, not 401). */
export class KeySetUnavailableError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('the JSON Web Key Set of AUTH_JWKS_URL could not be fetched');
    this.name = 'KeySetUnavailableError';
  }
}

/**
 * The key set of AUTH_JWKS_URL as jose's key-resolution function, cached on the injected clock:
 * fetched once (and again when older than `cacheMaxAgeMs`); a token whose `kid` is not in the set
 * (a key the issuer just rotated in) makes it fetch the set again, once, and at most once per
 * `cooldownMs` for all tokens together; one fetch at a time (concurrent tokens wait for the same
 * one). When the endpoint fails, the keys already held keep working. jose's own remote set does
 * the same on Date.now(); this one can be moved by a test's clock.
 */
export class RemoteKeySet {
  private keys?: JWTVerifyGetKey;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private pending?: Promise<void>;
  private fetchCount = 0;
  private keysGeneration = 0;

  constructor(
    private readonly url: URL,
    private readonly clock: Clock,
    private readonly options: RemoteKeySetOptions,
    private readonly onFetchFailed: (err: unknown) => void = () => undefined,
  ) {}

  /** how many times the set was fetched (tests, diagnostics) */
  get fetches(): number {
    return this.fetchCount;
  }

  /** changes every time a set is fetched: what a token was verified with is no longer what is held */
  get generation(): number {
    return this.keysGeneration;
  }

  /** jose's `getKey`: the key for this token's header, fetching the set when the rules above say so. */
  readonly getKey = async (header: JWTHeaderParameters, token: FlattenedJWSInput): Promise<Awaited<ReturnType<JWTVerifyGetKey>>> => {
    if (!this.keys) {
      if (!this.pending && !this.mayFetch()) throw new KeySetUnavailableError(this.retryAfterSeconds());
      await this.refresh().catch(() => undefined);
      if (!this.keys) throw new KeySetUnavailableError(this.retryAfterSeconds());
    } else if (this.now() - this.fetchedAt >= this.options.cacheMaxAgeMs && this.mayFetch()) {
      await this.refresh().catch(() => undefined);
    }
    try {
      return await this.keysOrFail()(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      // an unknown kid: the set fetched by another token right now, or one fetch of our own, then no more
      if (this.pending) await this.pending.catch(() => undefined);
      else if (this.mayFetch()) await this.refresh().catch(() => undefined);
      else throw err;
      return this.keysOrFail()(header, token);
    }
  };

  /** Fetches the set now (one fetch at a time); rejects when it cannot, keeping the keys held. */
  refresh(): Promise<void> {
    this.pending ??= this.fetchSet().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchSet(): Promise<void> {
    this.attemptedAt = this.now();
    this.fetchCount += 1;
    try {
      const res = await fetch(this.url, {
        headers: { accept: 'application/jwk-set+json, application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (res.status !== 200) throw new Error(`the key set endpoint answered ${res.status}`);
      const keys = createLocalJWKSet(pinAlgorithms(await res.json()));
      this.keys = keys;
      this.keysGeneration += 1;
      this.fetchedAt = this.now();
    } catch (err) {
      this.onFetchFailed(err);
      throw err;
    }
  }

  private keysOrFail(): JWTVerifyGetKey {
    if (!this.keys) throw new KeySetUnavailableError(this.retryAfterSeconds());
    return this.keys;
  }

  private mayFetch(): boolean {
    return this.now() - this.attemptedAt >= this.options.cooldownMs;
  }

  private retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.attemptedAt + this.options.cooldownMs - this.now()) / 1000));
  }

  private now(): number {
    return this.clock.now().getTime();
  }
}
