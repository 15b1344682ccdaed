import { BIGINT_AS_TEXT } from './bigint-text.js';

describe('BIGINT_AS_TEXT', () => {
  it("should read every driver's int8 as its decimal text, and leave text, null and writes alone", () => {
    expect(BIGINT_AS_TEXT.from('9007199254740993')).toBe('9007199254740993'); // node-postgres
    expect(BIGINT_AS_TEXT.from(42)).toBe('42'); // PGlite, within 2^53
    expect(BIGINT_AS_TEXT.from(9007199254740993n)).toBe('9007199254740993'); // PGlite, beyond
    expect(BIGINT_AS_TEXT.from(null)).toBeNull();
    expect(BIGINT_AS_TEXT.to('17')).toBe('17');
  });
});
