import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';

/** A signing key of the test's token issuer: its private half signs, its public JWK is published. */
export interface IssuerKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** the public JWK as published (with `kid`, and `alg` unless made without it) */
  jwk: JWK;
}

export async function issuerKey(kid: string, alg = 'ES256', options: { publishAlg?: boolean } = {}): Promise<IssuerKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, use: 'sig', ...(options.publishAlg === false ? {} : { alg }) };
  return { kid, alg, privateKey, publicKey, jwk };
}

/**
 * A small real HTTP server publishing a JSON Web Key Set (what AUTH_JWKS_URL points at): the test
 * changes `keys` to rotate, counts the fetches, and can make it fail.
 */
export class JwksServer {
  keys: JWK[] = [];
  /** GET requests received */
  fetches = 0;
  /** answer 500 while set */
  failing = false;
  private server?: Server;

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  publish(...keys: IssuerKey[]): this {
    this.keys = keys.map((k) => k.jwk);
    return this;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.fetches += 1;
      if (this.failing || req.url !== '/.well-known/jwks.json') {
        res.writeHead(this.failing ? 500 : 404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export interface Claims {
  sub?: string;
  /** seconds since the epoch; default: an hour after `now` */
  exp?: number | null;
  nbf?: number;
  iss?: string;
  aud?: string;
}

const seconds = (at: Date): number => Math.floor(at.getTime() / 1000);
const base64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

/** The tokens of one issuer (its `iss` and `aud`), timed on the test's clock. */
export class TokenIssuer {
  constructor(
    private readonly now: () => Date,
    private readonly defaults: { iss?: string; aud?: string } = {},
  ) {}

  private claims(claims: Claims): Record<string, unknown> {
    const iat = seconds(this.now());
    const { exp, ...rest } = { ...this.defaults, ...claims };
    return { iat, ...(exp === null ? {} : { exp: exp ?? iat + 3600 }), ...rest };
  }

  /** signed with one of the issuer's keys (header `alg` and `kid` of that key unless overridden) */
  sign(key: IssuerKey, claims: Claims, header: { alg?: string; kid?: string } = {}): Promise<string> {
    return new SignJWT(this.claims(claims))
      .setProtectedHeader({ alg: header.alg ?? key.alg, kid: header.kid ?? key.kid, typ: 'JWT' })
      .sign(key.privateKey);
  }

  /** HS256 with a shared secret (AUTH_JWT_SECRET) */
  hs256(secret: string | Uint8Array, claims: Claims, kid?: string): Promise<string> {
    const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
    return new SignJWT(this.claims(claims)).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...(kid ? { kid } : {}) }).sign(key);
  }

  /** `alg: none`, no signature (RFC 7519 "unsecured JWT") */
  unsigned(claims: Claims, kid?: string): string {
    return `${base64url(JSON.stringify({ alg: 'none', typ: 'JWT', ...(kid ? { kid } : {}) }))}.${base64url(JSON.stringify(this.claims(claims)))}.`;
  }

  /** the classic algorithm confusion: HS256 keyed with the issuer's *public* key (its PEM), as a verifier that trusts the header would check it */
  async withPublicKeyAsSecret(key: IssuerKey, claims: Claims): Promise<string> {
    return this.hs256(new TextEncoder().encode(await exportSPKI(key.publicKey)), claims, key.kid);
  }
}
