import { decodeCursor, decodeSeqCursor, encodeCursor } from './page.js';

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

describe('cursors', () => {
  it('should read back what it issued', () => {
    expect(decodeCursor(encodeCursor([3, 'cat_a']), ['number', 'string'])).toEqual([3, 'cat_a']);
    expect(decodeSeqCursor(encodeCursor(['9223372036854775807']))).toBe('9223372036854775807');
    expect(decodeCursor(undefined, ['string'])).toBeUndefined();
  });

  it('should refuse with 400 what the database cannot hold (they had been 500s): a seq past bigint, NUL, a lone surrogate', () => {
    for (const seq of ['9223372036854775808', '9999999999999999999']) {
      expect(() => decodeSeqCursor(cursorOf([seq]))).toThrow(expect.objectContaining({ kind: 'invalid' }));
    }
    for (const text of ['\u0000', 'a\u0000b', '\ud800', 'x'.repeat(511)]) {
      expect(() => decodeCursor(cursorOf([text]), ['string'])).toThrow(expect.objectContaining({ kind: 'invalid' }));
    }
    expect(decodeCursor(cursorOf(['emoji 🙂 and ü']), ['string'])).toEqual(['emoji 🙂 and ü']);
    expect(() => decodeCursor(Buffer.from('[1e999]').toString('base64url'), ['number'])).toThrow(
      expect.objectContaining({ kind: 'invalid' }),
    ); // Infinity
  });
});
