import { sqlFilters } from './sql-filters.js';

describe('sqlFilters', () => {
  it('numbers the parameters of the filters that have a value, in order, and names the combination', () => {
    expect(
      sqlFilters([
        ['u', 'r.user_id', '=', 'user_1'],
        ['o', 'r.organization_id', '=', undefined],
        ['f', 'r.usage_timestamp', '>=', new Date(0)],
        ['c', 'r.seq', '<', '42', '::bigint'],
      ]),
    ).toEqual({
      conditions: ['r.user_id = $1', 'r.usage_timestamp >= $2', 'r.seq < $3::bigint'],
      params: ['user_1', new Date(0), '42'],
      key: 'ufc',
    });
  });

  it('gives nothing when no filter has a value', () => {
    expect(sqlFilters([['u', 'r.user_id', '=', undefined]])).toEqual({ conditions: [], params: [], key: '' });
  });
});
