import { DomainError } from '../../common/errors/domain-error.js';
import { validateBody } from '../../common/validation/validation.pipe.js';
import { generatedBodies } from '../../testing/generated-bodies.js';
import { createSubscriptionProblems, CreateSubscriptionPipe } from './create-subscription.validation.js';
import { CreateSubscriptionDto } from './dto/subscription.dto.js';

/** Values worth trying for each field: valid ones, edge ones and wrong types. */
const CANDIDATES: Record<string, unknown[]> = {
  user_id: ['user_1', '', 'x'.repeat(255), 'x'.repeat(256), 'bad\u0000id', 5, null, true, ['u'], { id: 'u' }],
  plan_id: ['tier_pro_001', '', 'p\u001f', 7, null, false],
  organization_id: ['org_1', '', 'o\u007f', 3, null, ['o']],
  billing_cycle: ['monthly', 'quarterly', 'yearly', 'one_time', 'weekly', 'Monthly', '', 1, null, true],
  seats: [1, 2, 1_000_000, 1_000_001, 0, -3, 1.5, 0.5, 2e6 + 0.5, '5', '', null, true, [1], Number.MAX_SAFE_INTEGER],
  trial: [true, false, 'true', 0, 1, null, {}],
  payment_method_id: ['pm_1', '', 'pm\u0000', 9, null],
  metadata: [{}, { source: 'web' }, [], ['a'], 'meta', 1, null, true],
};
/** Values each field accepts (null stands for "not given" on the optional ones). */
const VALID: Record<string, unknown[]> = {
  user_id: ['user_1', 'x'.repeat(255)],
  plan_id: ['tier_pro_001'],
  organization_id: ['org_1', null],
  billing_cycle: ['monthly', 'yearly', null],
  seats: [1, 1_000_000, null],
  trial: [true, false, null],
  payment_method_id: ['pm_1', null],
  metadata: [{}, { source: 'web' }, null],
};
const UNKNOWN: Record<string, unknown>[] = [{}, { colour: 'red' }, { zz: 1, aa: 2 }, { __x: null }];

describe('createSubscriptionProblems (the field table of POST /subscriptions)', () => {
  it('should give exactly what class-validator gives for CreateSubscriptionDto: the same details, in the same order', async () => {
    const bodies = [
      { user_id: 'u1', plan_id: 'tier_pro_001' },
      {},
      ...Object.entries(CANDIDATES).flatMap(([field, values]) => values.map((value) => ({ user_id: 'u1', plan_id: 'p1', [field]: value }))),
      ...generatedBodies(3000, 20261207, { candidates: CANDIDATES, valid: VALID, unknown: UNKNOWN, required: ['user_id', 'plan_id'] }),
    ];
    let refused = 0;
    for (const body of bodies) {
      const expected = (await validateBody(CreateSubscriptionDto, body)).details;
      expect({ body, details: createSubscriptionProblems(body) }).toEqual({ body, details: expected });
      if (expected.length > 0) refused++;
    }
    // the generated bodies exercise both verdicts, not only one
    expect(refused).toBeGreaterThan(100);
    expect(bodies.length - refused).toBeGreaterThan(100);
  });

  it('should name unknown fields first, then each failed check of a field in class-validator order (seats: one message for its three rules)', () => {
    expect(createSubscriptionProblems({ seats: '5', zz: 1, user_id: 'u', plan_id: 'p' })).toEqual([
      { field: 'zz', message: 'zz is not an allowed field' },
      { field: 'seats', message: 'seats must be an integer from 1 to 1000000' },
    ]);
  });
});

describe('CreateSubscriptionPipe', () => {
  const pipe = new CreateSubscriptionPipe();

  it('should pass a valid body through unchanged', () => {
    const body = { user_id: 'u1', plan_id: 'tier_pro_001', seats: 3, trial: false, metadata: { source: 'web' } };
    expect(pipe.transform(body)).toBe(body);
  });

  it.each([null, [], 'text', 5])('should refuse %p as a body with 400', (body) => {
    expect(() => pipe.transform(body)).toThrow(new DomainError('VALIDATION_ERROR', 'invalid', 'Request body must be a JSON object'));
  });

  it('should refuse a bad body with 400 naming each problem', () => {
    try {
      pipe.transform({ plan_id: 'p', seats: 0 });
      throw new Error('not refused');
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).details).toEqual([
        { field: 'user_id', message: 'user_id must be a string of 1-255 characters without control characters' },
        { field: 'seats', message: 'seats must be an integer from 1 to 1000000' },
      ]);
    }
  });
});
