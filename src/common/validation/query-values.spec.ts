import { withoutEmptyValues } from './validation.pipe.js';
import { parseQueryBoolean } from './validators.js';

describe('query values', () => {
  it('should drop empty parameters (Python httpx writes None as `?x=`) and keep the rest', () => {
    expect(withoutEmptyValues({ user_id: 'u', subscription_id: '', limit: '5', cursor: '' })).toEqual({ user_id: 'u', limit: '5' });
    expect(withoutEmptyValues({ a: '' })).toEqual({});
  });

  it('should hand back the same object when nothing is empty (no copy per request)', () => {
    const query = { user_id: 'u', status: 'active' };
    expect(withoutEmptyValues(query)).toBe(query);
    const none = {};
    expect(withoutEmptyValues(none)).toBe(none);
    const repeated = { a: ['x', ''] };
    expect(withoutEmptyValues(repeated)).toBe(repeated);
  });

  it('should read true/false/1/0 in any letter case and leave anything else for validation to refuse', () => {
    for (const v of ['true', 'True', 'TRUE', 'tRUE', '1']) expect([v, parseQueryBoolean(v)]).toEqual([v, true]);
    for (const v of ['false', 'False', 'FALSE', '0']) expect([v, parseQueryBoolean(v)]).toEqual([v, false]);
    for (const v of ['yes', 'T', '', ' true', 'truefalse', '01', 1, null]) expect([v, parseQueryBoolean(v)]).toEqual([v, v]);
  });
});
