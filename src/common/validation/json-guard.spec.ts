import { checkJsonBody } from './json-guard.js';

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
