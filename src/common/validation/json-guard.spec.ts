import { checkJsonBody, inexactNumbers, poisonedKey } from './json-guard.js';

describe('checkJsonBody', () => {
  it('should accept ordinary JSON', () => {
    expect(checkJsonBody({ a: [1, 'x', { b: null, c: 'line\nbreak' }], d: true })).toEqual([]);
  });

  it('should name each string or key with a NUL character', () => {
    expect(checkJsonBody({ name: 'a\u0000b', metadata: { list: ['ok', '\u0000'], ['k\u0000']: 1 } })).toEqual(
      expect.arrayContaining([
        { field: 'name', message: 'name must not contain NUL characters' },
        { field: 'metadata.list[1]', message: 'metadata.list[1] must not contain NUL characters' },
        { field: 'metadata', message: 'metadata has a key with a NUL character' },
      ]),
    );
  });

  it('should name each string or key with an unpaired surrogate, and accept paired ones', () => {
    // JSON.parse('"\\ud800"') gives a lone high surrogate: jsonb refuses it, text would store U+FFFD
    const body = JSON.parse(
      '{"features": ["ok", "\\ud800"], "metadata": {"model": "a\\udc00b", "\\ud83d": 1}, "emoji": "\\ud83d\\udca5"}',
    ) as unknown;
    expect(checkJsonBody(body)).toEqual(
      expect.arrayContaining([
        { field: 'features[1]', message: 'features[1] must be valid Unicode (it has an unpaired surrogate)' },
        { field: 'metadata.model', message: 'metadata.model must be valid Unicode (it has an unpaired surrogate)' },
        { field: 'metadata', message: 'metadata has a key with an unpaired surrogate' },
      ]),
    );
    expect(checkJsonBody(body)).toHaveLength(3);
    expect(checkJsonBody({ emoji: '💥', text: 'é and 日本' })).toEqual([]);
  });

  it('should name the problems in a fixed order: the last value put on the stack first', () => {
    // expected: what the earlier version, which put every value on the stack, answered
    expect(
      checkJsonBody(
        { name: 'a\u0000b', metadata: { list: ['ok', '\u0000', { x: 'y\u0000' }], ['k\u0000']: 1, z: ['\u0000', 2] }, last: '\u0000' },
        3,
      ),
    ).toEqual([
      { field: 'last', message: 'last must not contain NUL characters' },
      { field: 'metadata', message: 'metadata has a key with a NUL character' },
      { field: 'metadata.z[0]', message: 'metadata.z[0] must not contain NUL characters' },
      { field: 'metadata.list[1]', message: 'metadata.list[1] must not contain NUL characters' },
      { field: 'metadata.list[2]', message: 'JSON may be nested at most 3 levels' },
      { field: 'name', message: 'name must not contain NUL characters' },
    ]);
    expect(checkJsonBody(['a\u0000', { 'b\u0000': 'c\u0000' }, [[['\u0000']]]], 3)).toEqual([
      { field: '[0]', message: '[0] must not contain NUL characters' },
      { field: '[1]', message: '[1] has a key with a NUL character' },
      { field: '[2][0][0]', message: 'JSON may be nested at most 3 levels' },
    ]);
    expect(checkJsonBody({ a: { b: { c: { d: 'x' } } }, e: '\u0000', f: [{ g: { h: {} } }] }, 3)).toEqual([
      { field: 'f[0].g', message: 'JSON may be nested at most 3 levels' },
      { field: 'e', message: 'e must not contain NUL characters' },
      { field: 'a.b.c', message: 'JSON may be nested at most 3 levels' },
    ]);
    expect(checkJsonBody('\u0000')).toEqual([{ field: 'body', message: 'body must not contain NUL characters' }]);
    expect(checkJsonBody(Array.from({ length: 30 }, (_, i) => `v${i}\u0000`))).toHaveLength(20);
  });

  it('should refuse nesting deeper than the limit without recursing', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(checkJsonBody({ metadata: deep })).toEqual([
      { field: expect.stringMatching(/^metadata(\[0\])+$/), message: 'JSON may be nested at most 32 levels' },
    ]);
    expect(checkJsonBody({ a: { b: { c: 1 } } }, 3)).toEqual([]);
    expect(checkJsonBody({ a: { b: { c: {} } } }, 3)).toHaveLength(1);
  });
});

describe('inexactNumbers', () => {
  it('should name every number JSON.parse would change, by its path, and none it keeps', () => {
    expect(
      inexactNumbers('{"usage_amount": 0.1, "quantity": 2.0, "x": 1E5, "y": 1e-80, "z": 5e-324, "id": "12345678901234567890"}'),
    ).toEqual([]);
    const problems = inexactNumbers(
      '{"usage_amount": 0.1234567890123456789012, "seats": 49.99999999999999999, "amount": 1000000000000.0000001, "records": [{"usage_amount": 1}, {"usage_amount": 9007199254740993}], "usage_limits": {"gpt-4o": {"daily_requests": 1e999}}, "q": 1e-400}',
    );
    expect(problems.map((p) => p.field).sort()).toEqual(
      ['amount', 'q', 'records[1].usage_amount', 'seats', 'usage_amount', 'usage_limits.gpt-4o.daily_requests'].sort(),
    );
    expect(problems.find((p) => p.field === 'seats')?.message).toBe(
      'seats: the number 49.99999999999999999 cannot be held exactly; send it as a decimal string',
    );
    expect(inexactNumbers('12345678901234567890')).toEqual([expect.objectContaining({ field: 'body' })]);
  });

  it("should leave free-form objects' numbers alone (the caller's own data)", () => {
    expect(
      inexactNumbers('{"metadata": {"t_ns": 1733616000000000001}, "usage_details": {"big": 1e999}, "features": [12345678901234567891]}'),
    ).toEqual([]);
    expect(
      inexactNumbers('{"records": [{"usage_details": {"t": 1733616000000000001}, "usage_amount": 1e999}]}').map((p) => p.field),
    ).toEqual(['records[0].usage_amount']);
  });
});

describe('inexactNumbers on a body nested past the reviver', () => {
  it('should leave it to the depth guard (no RangeError)', () => {
    const deep = `${'['.repeat(200_000)}12345678901234567890${']'.repeat(200_000)}`;
    expect(() => inexactNumbers(deep)).not.toThrow();
  });
});

describe('poisonedKey', () => {
  it('should name a __proto__ key, or a constructor holding a prototype, by its path; nothing else', () => {
    expect(poisonedKey('{"a": [{"b": {"__proto__": {"x": 1}}}]}')).toEqual({
      field: 'a[0].b.__proto__',
      message: 'a[0].b.__proto__: the key "__proto__" is not allowed',
    });
    expect(poisonedKey('{"metadata": {"constructor": {"prototype": {}}}}')?.field).toBe('metadata.constructor');
    expect(poisonedKey('{"metadata": {"constructor": "x"}}')).toBeUndefined();
    expect(poisonedKey('{"a": ')).toBeUndefined();
  });
});
