import { loadConfig } from '../../config/app-config.js';
import { configuredSecrets, createLogScrubber } from './log-scrubber.js';

describe('log scrubber', () => {
  it('should collect the secret values and URL passwords of the configuration', () => {
    const config = loadConfig({
      INTERNAL_SERVICE_SECRET: 'internal-s3cret',
      AUTH_JWT_SECRET: 'jwt-s3cret-value',
      DATABASE_URL: 'postgres://app:db%2Fpass@db:5432/product',
      NATS_URL: 'nats://bus:nats-pass@n1:4222,nats://n2:4222',
      ACCOUNT_SERVICE_URL: 'http://svc:acct-pass@account:8200',
      ORGANIZATION_SERVICE_URL: 'http://organization:8205',
      AUTH_JWKS_URL: 'https://keys:jwks-pass@issuer/jwks.json',
    });
    expect(configuredSecrets(config).sort()).toEqual(
      ['internal-s3cret', 'jwt-s3cret-value', 'db%2Fpass', 'db/pass', 'nats-pass', 'acct-pass', 'jwks-pass'].sort(),
    );
    // nothing configured, nothing to look for; very short values are not searched for
    expect(configuredSecrets(loadConfig({ INTERNAL_SERVICE_SECRET: 'abc' }))).toEqual([]);
  });

  it('should remove every secret, as written and as JSON escapes it, bearer credentials and JWTs', () => {
    const scrub = createLogScrubber(['s3cret-"quoted"', 'plain-secret']);
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl';
    const line = JSON.stringify({
      message: 'failed with plain-secret and s3cret-"quoted" twice: plain-secret',
      url: `/x?access_token=${jwt}`,
      header: 'Bearer abcdefghijklmnopqrstuvwxyz.0123',
      other: 'bearer token refused',
    });
    const out = scrub(line);
    expect(out).not.toMatch(/plain-secret|s3cret|abcdefghijklmnop|eyJhbGci/);
    expect(JSON.parse(out)).toEqual({
      message: 'failed with [redacted] and [redacted] twice: [redacted]',
      url: '/x?access_token=[redacted]',
      header: 'Bearer [redacted]',
      other: 'bearer token refused',
    });
    // a line without any is returned as it is
    const clean = JSON.stringify({ message: 'request completed', request_id: 'r1' });
    expect(scrub(clean)).toBe(clean);
  });
});
