import { escapeLike } from './catalog.repository.js';

describe('LIKE escaping', () => {
  it('should escape %, _ and the escape character itself', () => {
    expect(escapeLike('50%_off\\')).toBe('50\\%\\_off\\\\');
  });
});
