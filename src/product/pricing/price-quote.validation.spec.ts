import { DomainError } from '../../common/errors/domain-error.js';
import { validateBody } from '../../common/validation/validation.pipe.js';
import { generatedBodies } from '../../testing/generated-bodies.js';
import { priceQuoteProblems, PriceQuotePipe } from './price-quote.validation.js';
import { PriceQuoteDto } from './pricing.dto.js';

/** Values worth trying for each field: valid ones, edge ones and wrong types. */
const CANDIDATES: Record<string, unknown[]> = {
  product_id: ['gpt-4o', '', 'x'.repeat(255), 'x'.repeat(256), 'bad\u0000id', 5, null, true, ['p'], { id: 'p' }],
  quantity: [
    0,
    1,
    1000,
    0.1,
    -1,
    -0,
    1e18,
    1e19,
    Number.MAX_VALUE,
    '1073741824',
    '0.5',
    '1e3',
    '-1',
    '',
    ' 1',
    '1.',
    5n.toString(),
    null,
    true,
    [1],
    {},
  ],
  unit_type: [
    'token',
    'byte',
    '',
    'x'.repeat(64),
    'x'.repeat(65),
    'to\u0000ken',
    't\u007f',
    5,
    0,
    false,
    true,
    ['token'],
    [],
    ['a'.repeat(70)],
    { length: 100 },
    {},
    null,
  ],
  tier_code: ['standard', '', 'x'.repeat(255), 'x'.repeat(256), 'c\u001f', 1, 0, true, [], {}, null],
  user_id: ['user_1', '', 'u\u0000', 7, null, false],
  subscription_id: ['sub_1', '', 's\u007f', 3, null, ['s']],
};
/** Values each field accepts (null stands for "not given" on the optional ones). */
const VALID: Record<string, unknown[]> = {
  product_id: ['gpt-4o', 'minio_storage'],
  quantity: [0, 1500, '2147483648', '0.25'],
  unit_type: ['token', null],
  tier_code: ['standard', null],
  user_id: ['user_1', null],
  subscription_id: ['sub_1', null],
};
const UNKNOWN: Record<string, unknown>[] = [{}, { colour: 'red' }, { zz: 1, aa: 2 }, { __x: null }];

describe('priceQuoteProblems (the field table of POST /api/v1/pricing/calculate)', () => {
  it('should give exactly what class-validator gives for PriceQuoteDto: the same details, in the same order', async () => {
    const bodies = [
      { product_id: 'gpt-4o', quantity: 1 },
      {},
      ...Object.entries(CANDIDATES).flatMap(([field, values]) => values.map((value) => ({ product_id: 'p', quantity: 1, [field]: value }))),
      ...generatedBodies(3000, 20261208, { candidates: CANDIDATES, valid: VALID, unknown: UNKNOWN, required: ['product_id', 'quantity'] }),
    ];
    let refused = 0;
    for (const body of bodies) {
      const expected = (await validateBody(PriceQuoteDto, { ...body })).details;
      expect({ body, details: priceQuoteProblems(body) }).toEqual({ body, details: expected });
      if (expected.length > 0) refused++;
    }
    // the generated bodies exercise both verdicts, not only one
    expect(refused).toBeGreaterThan(100);
    expect(bodies.length - refused).toBeGreaterThan(100);
  });
});

describe('PriceQuotePipe', () => {
  const pipe = new PriceQuotePipe();

  it('should pass a valid body through unchanged', () => {
    const body = { product_id: 'gpt-4o', quantity: '1500', unit_type: 'token', user_id: 'u1', subscription_id: null };
    expect(pipe.transform(body)).toBe(body);
  });

  it.each([null, [], 'text', 5])('should refuse %p as a body with 400', (body) => {
    expect(() => pipe.transform(body)).toThrow(new DomainError('VALIDATION_ERROR', 'invalid', 'Request body must be a JSON object'));
  });

  it('should refuse a bad body with 400 naming each problem, unknown fields first', () => {
    try {
      pipe.transform({ quantity: -1, unit_type: 'x'.repeat(65), extra: true });
      throw new Error('not refused');
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).details).toEqual([
        { field: 'extra', message: 'extra is not an allowed field' },
        { field: 'product_id', message: 'product_id must be a string of 1-255 characters without control characters' },
        {
          field: 'quantity',
          message: 'quantity must be a number or a decimal string (e.g. "1073741824"), at least 0 and at most 1000000000000000000',
        },
        { field: 'unit_type', message: 'unit_type must be shorter than or equal to 64 characters' },
      ]);
    }
  });
});
