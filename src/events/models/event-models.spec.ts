import { PaymentCompletedEvent, paymentSubscriptionId, UserDeletedEvent, WalletInsufficientFundsEvent } from './consumed-events.js';
import { SubscriptionCanceledEvent, SubscriptionCreatedEvent } from './event-data.js';
import { fastPayloadProblems, jsonSchemaOf } from './event-field.js';
import { EventValidationError, parsePayload, payloadProblems } from './validate-payload.js';

const created = {
  subscription_id: 'sub_1',
  user_id: 'user_1',
  organization_id: null,
  plan_id: 'pro',
  plan_tier: 'pro',
  billing_cycle: 'monthly',
  status: 'active',
  seats: 1,
  price: '29.00',
  currency: 'USD',
  current_period_start: '2026-11-27T10:00:00.000Z',
  current_period_end: '2026-12-27T10:00:00.000Z',
  trial_end: null,
  metadata: {},
};

describe('event payload classes', () => {
  it('should accept a valid published payload', () => {
    expect(payloadProblems(SubscriptionCreatedEvent, created)).toEqual([]);
  });

  it('should name every field that breaks the contract, including unknown ones', () => {
    const problems = payloadProblems(SubscriptionCreatedEvent, {
      ...created,
      price: 29,
      seats: 0,
      status: 'weird',
      extra: 1,
      trial_end: 'soon',
    });
    expect(problems.join('\n')).toMatch(/price/);
    expect(problems.join('\n')).toMatch(/seats/);
    expect(problems.join('\n')).toMatch(/status/);
    expect(problems.join('\n')).toMatch(/trial_end/);
    expect(problems.join('\n')).toMatch(/extra is not a field/);
  });

  it('should find the same broken fields with the fast check the publisher uses as with class-validator', () => {
    expect(fastPayloadProblems(SubscriptionCreatedEvent, created)).toEqual([]);
    const broken = [
      { price: 29 },
      { seats: 0 },
      { status: 'weird' },
      { trial_end: 'soon' },
      { user_id: '' },
      { user_id: 'a\u0000b' },
      { metadata: [] },
      { current_period_start: null },
      { extra: 1 },
    ];
    for (const change of broken) {
      const payload = { ...created, ...change };
      const field = Object.keys(change)[0];
      expect(payloadProblems(SubscriptionCreatedEvent, payload).join('\n')).toContain(field);
      expect(fastPayloadProblems(SubscriptionCreatedEvent, payload).join('\n')).toContain(field);
    }
    const { plan_id: _p, ...missing } = created;
    expect(fastPayloadProblems(SubscriptionCreatedEvent, missing)).toEqual(['plan_id is required']);
    expect(payloadProblems(SubscriptionCreatedEvent, missing).join('\n')).toContain('plan_id');
  });

  it('should inherit the status_changed fields in the lifecycle events', () => {
    const schema = jsonSchemaOf(SubscriptionCanceledEvent);
    expect(Object.keys(schema.properties as object)).toEqual([
      'subscription_id',
      'user_id',
      'organization_id',
      'plan_id',
      'old_status',
      'new_status',
      'reason',
      'metadata',
      'cancellation_reason',
    ]);
    expect(schema.additionalProperties).toBe(false);
  });

  it("should read the payment service's shape, with the subscription id at the top or in metadata", () => {
    const payment = {
      payment_intent_id: 'pi',
      payment_id: 'p',
      user_id: 'u',
      amount: 29.5,
      currency: 'USD',
      payment_method: 'card',
      metadata: { subscription_id: 'sub_m', order: 7 },
    };
    expect(paymentSubscriptionId(parsePayload(PaymentCompletedEvent, payment, 'payment.completed'))).toBe('sub_m');
    expect(
      paymentSubscriptionId(parsePayload(PaymentCompletedEvent, { subscription_id: 'sub_t', metadata: null }, 'payment.completed')),
    ).toBe('sub_t');
    expect(paymentSubscriptionId(parsePayload(PaymentCompletedEvent, { amount: '1.00' }, 'payment.completed'))).toBeUndefined();
  });

  it('should find the same broken consumed fields with the fast check as with class-validator', () => {
    const broken: [new () => object, Record<string, unknown>, string][] = [
      [UserDeletedEvent, { user_id: 42 }, 'user_id'],
      [UserDeletedEvent, { user_id: '' }, 'user_id'],
      [UserDeletedEvent, {}, 'user_id'],
      [PaymentCompletedEvent, { subscription_id: 7 }, 'subscription_id'],
      [PaymentCompletedEvent, { metadata: { subscription_id: 5 } }, 'subscription_id'],
      [PaymentCompletedEvent, { metadata: 'x' }, 'metadata'],
    ];
    for (const [cls, payload, field] of broken) {
      expect(payloadProblems(cls, payload).join('\n')).toContain(field);
      expect(fastPayloadProblems(cls, payload).join('\n')).toContain(field);
    }
    // fields no handler reads are never checked (a tolerant reader): whatever their shape, the payment applies
    const odd = {
      subscription_id: 'sub_1',
      payment_method: { type: 'card', last4: '4242' },
      payment_id: 987654,
      user_id: 42,
      amount: '0E-8',
      currency: 'x'.repeat(40),
      payment_intent_id: 'p'.repeat(300),
    };
    expect(payloadProblems(PaymentCompletedEvent, odd)).toEqual([]);
    expect(fastPayloadProblems(PaymentCompletedEvent, odd)).toEqual([]);
    const funds = { user_id: 'u', wallet_id: 9, required_amount: '2E+1', available_balance: { usd: 1 }, subscription_id: 3 };
    expect(payloadProblems(WalletInsufficientFundsEvent, funds)).toEqual([]);
    expect(fastPayloadProblems(WalletInsufficientFundsEvent, funds)).toEqual([]);
    // open classes: fields we do not read are allowed
    expect(fastPayloadProblems(UserDeletedEvent, { user_id: 'u', reason: 'gdpr' })).toEqual([]);
    expect(payloadProblems(UserDeletedEvent, { user_id: 'u', reason: 'gdpr' })).toEqual([]);
  });

  it('should refuse consumed data of the wrong shape', () => {
    expect(() => parsePayload(UserDeletedEvent, { user_id: 42 }, 'user.deleted')).toThrow(EventValidationError);
    expect(() => parsePayload(UserDeletedEvent, {}, 'user.deleted')).toThrow(/user_id/);
    expect(() => parsePayload(PaymentCompletedEvent, { metadata: { subscription_id: 5 } }, 'payment.completed')).toThrow(/subscription_id/);
    expect(() => parsePayload(PaymentCompletedEvent, [], 'payment.completed')).toThrow(/object/);
  });
});
