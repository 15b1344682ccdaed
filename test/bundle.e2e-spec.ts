import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { asciiOnly } from '../scripts/ascii-only.mjs';
import { ENTRY, ensureBuilt } from './chaos/support/service.js';

/** Evaluates a JavaScript expression (the escaped and the original source must give the same value). */
const evaluate = (expression: string): unknown => runInNewContext(`(\n${expression}\n)`) as unknown;

describe('the bundle (dist/bundle/main.mjs, what `npm start` and the image run)', () => {
  it('is ASCII-only, so V8 keeps its source as a one-byte string', async () => {
    await ensureBuilt();
    const source = readFileSync(ENTRY, 'utf8');
    const nonAscii = source.match(/[\u0080-\uffff]/g) ?? [];
    expect(nonAscii).toEqual([]);
    expect(source.length).toBeGreaterThan(1_000_000);
  }, 300_000);

  describe('asciiOnly (scripts/ascii-only.mjs) keeps what the source means', () => {
    it.each([
      ['a string', `'≥ 0 — µs ∞'`],
      ['a string with a character beyond the BMP', `'rocket 🚀'`],
      ['a template literal', '`before → after ${1 + 1}`'],
      ['a regex, as validator writes its locales', `/^[А-Я]+$/i.test('БЯ')`],
      ['a regex character class, no match', `/^[A-ZÆØÅ]+$/.test('AE')`],
      ['a u-flag regex with an astral character', `/^[🚀]$/u.test('🚀')`],
      ['a regex without the u flag on a surrogate pair', `/^🚀$/.test('🚀')`],
      ['an identifier', `(() => { const café = 2; return café * 3; })()`],
      ['a comment', `/* ≥ — × */ 42 // ±0`],
    ])('%s', (_what, expression) => {
      const escaped = asciiOnly(expression);
      expect(escaped).not.toMatch(/[\u0080-\uffff]/);
      expect(evaluate(escaped)).toEqual(evaluate(expression));
    });

    it('leaves ASCII as it is', () => {
      const source = "const a = 'x\\u00e9'; /[\\x00-\\x7f]/.test(a);";
      expect(asciiOnly(source)).toBe(source);
    });

    it('refuses a non-ASCII character after a backslash, where the escape would change the text', () => {
      expect(() => asciiOnly("'\\é'")).toThrow(/backslash/);
    });
  });
});
