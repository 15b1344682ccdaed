import { decodeProtectedHeader, type JWTVerifyOptions, jwtVerify } from 'jose';
import type { AppConfig } from '../../config/app-config.js';
import type { Clock } from '../clock/clock.js';
import { isIdentifier } from '../validation/validators.js';
import { KEY_SET_ALGORITHMS, KeySetUnavailableError, type RemoteKeySet } from './remote-key-set.js';

/** What a bearer token says: its user, or why it says nothing (never the token itself). */
export type TokenVerdict = { userId: string } | { invalid: string } | { unavailable: KeySetUnavailableError };

const HMAC_ALGORITHMS = ['HS256'];

/**
 * Checks a user's bearer token (SPEC section 5): HS256 with AUTH_JWT_SECRET, or the keys of
 * AUTH_JWKS_URL (each pinned to its one algorithm, see pinAlgorithms), or both (an HS256 token goes
 * to the secret, any other to the key set: a migration from one to the other). `none` and any
 * algorithm the method does not declare are refused before a key is looked up. `sub` (the user id)
 * and `exp` are required; `exp` and `nbf` are checked on the injected clock with
 * AUTH_CLOCK_TOLERANCE of leeway; `iss` / `aud` when AUTH_ISSUER / AUTH_AUDIENCE are set.
 */
export class TokenVerifier {
  private readonly hmacKey?: Uint8Array;
  private readonly options: JWTVerifyOptions;

  constructor(
    auth: AppConfig['auth'],
    private readonly clock: Clock,
    private readonly keySet?: RemoteKeySet,
  ) {
    if (auth.jwtSecret) this.hmacKey = new TextEncoder().encode(auth.jwtSecret);
    this.options = {
      issuer: auth.issuer,
      audience: auth.audience,
      clockTolerance: auth.clockToleranceSeconds,
      requiredClaims: ['sub', 'exp'],
    };
  }

  async verify(token: string): Promise<TokenVerdict> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      return { invalid: 'malformed' };
    }
    const options = { ...this.options, currentDate: this.clock.now() };
    try {
      const { payload } =
        this.hmacKey && (alg === 'HS256' || !this.keySet)
          ? await jwtVerify(token, this.hmacKey, { ...options, algorithms: HMAC_ALGORITHMS })
          : await jwtVerify(token, (this.keySet as RemoteKeySet).getKey, { ...options, algorithms: [...KEY_SET_ALGORITHMS] });
      return typeof payload.sub === 'string' && isIdentifier(payload.sub) ? { userId: payload.sub } : { invalid: 'sub' };
    } catch (err) {
      if (err instanceof KeySetUnavailableError) return { unavailable: err };
      return { invalid: (err as { code?: string }).code ?? 'unverifiable' };
    }
  }
}
