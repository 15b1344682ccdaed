import { canonicalJson, withoutNullFields } from './canonical-json.js';

describe('canonicalJson', () => {
  it('should give the same string for objects that differ only in key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }),
    );
  });

  it('should distinguish different values and keep array order', () => {
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: '1' }));
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('should leave out top-level fields sent as null (SPEC: absent or null both mean "not given"), not nested ones', () => {
    const body = { user_id: 'u', usage_amount: 2 };
    expect(canonicalJson(withoutNullFields({ ...body, session_id: null }))).toBe(canonicalJson(withoutNullFields(body)));
    expect(withoutNullFields(body)).toBe(body); // nothing to leave out: no copy
    const nested = { included_products: [{ product_id: 'p', included_amount: null }], metadata: { k: null } };
    expect(withoutNullFields(nested)).toBe(nested);
    expect(canonicalJson(withoutNullFields({ metadata: { k: null } }))).not.toBe(canonicalJson(withoutNullFields({ metadata: {} })));
    expect(withoutNullFields([null])).toEqual([null]);
    expect(withoutNullFields(null)).toBeNull();
  });
});
