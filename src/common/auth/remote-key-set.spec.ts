import { pinAlgorithms } from './remote-key-set.js';

describe('pinAlgorithms', () => {
  const rsa = { kty: 'RSA', n: 'AQAB', e: 'AQAB' };

  it('should keep signing keys with their own alg, and give the others the one their type implies', () => {
    const set = pinAlgorithms({
      keys: [
        { ...rsa, kid: 'a', alg: 'PS384' },
        { ...rsa, kid: 'b' },
        { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'c' },
        { kty: 'EC', crv: 'P-384', x: 'x', y: 'y', kid: 'd' },
        { kty: 'EC', crv: 'P-521', x: 'x', y: 'y', kid: 'e', use: 'sig' },
        { kty: 'OKP', crv: 'Ed25519', x: 'x', kid: 'f' },
      ],
    });
    expect(set.keys.map((k) => [k.kid, k.alg])).toEqual([
      ['a', 'PS384'],
      ['b', 'RS256'],
      ['c', 'ES256'],
      ['d', 'ES384'],
      ['e', 'ES512'],
      ['f', 'EdDSA'],
    ]);
  });

  it('should drop symmetric keys, none, encryption keys, unknown types and anything that is no key', () => {
    const set = pinAlgorithms({
      keys: [
        { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' },
        { kty: 'oct', k: 'c2VjcmV0', kid: 'hs', alg: 'HS256' },
        { ...rsa, kid: 'none', alg: 'none' },
        { ...rsa, kid: 'enc', use: 'enc' },
        { kty: 'OKP', crv: 'X25519', x: 'x', kid: 'x25519' },
        { kty: 'EC', crv: 'secp256k1', x: 'x', y: 'y', kid: 'k1' },
        'not a key',
        null,
        { kid: 'no kty' },
      ],
    });
    expect(set.keys).toEqual([]);
  });

  it('should refuse what is not a key set', () => {
    expect(() => pinAlgorithms([])).toThrow('not a JSON Web Key Set');
    expect(() => pinAlgorithms({ keys: 'x' })).toThrow('not a JSON Web Key Set');
  });
});
