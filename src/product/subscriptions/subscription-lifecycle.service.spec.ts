import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { Clock, ManualClock } from '../../common/clock/clock.js';
import { OutboxRepository } from '../../events/outbox/outbox.repository.js';
import { OutboxSignal } from '../../events/outbox/outbox.signal.js';
import { EventPublisher } from '../../events/publishers/event.publisher.js';
import { internalCall, RecordingOutbox, testConfig } from '../../testing/doubles.js';
import { InMemorySubscriptions } from '../../testing/in-memory-subscriptions.js';
import type { PlanEntity } from '../catalog/entities/plan.entity.js';
import { PlanService } from '../catalog/services/plan.service.js';
import { periodAt } from './billing-period.js';
import { SubscriptionEffectsService } from './subscription-effects.service.js';
import { SubscriptionLifecycle } from './subscription-lifecycle.service.js';
import type { SubscriptionEntity } from './subscription.entity.js';
import { SubscriptionRepository } from './subscription.repository.js';
import { SubscriptionTransitions } from './subscription-transitions.service.js';

const tx = { afterCommit: () => undefined };
const DAY = 86_400_000;

function subscription(over: Partial<SubscriptionEntity>): SubscriptionEntity {
  const anchor = new Date('2026-01-31T10:00:00.000Z');
  const period = periodAt(anchor, 'monthly', 0);
  return {
    subscriptionId: 'sub_1',
    seq: '1',
    userId: 'u1',
    organizationId: null,
    planId: 'pro',
    planTier: 'pro',
    status: 'active',
    billingCycle: 'monthly',
    seats: 1,
    price: '20',
    currency: 'USD',
    billingAnchor: anchor,
    periodIndex: 0,
    currentPeriodStart: period.start,
    currentPeriodEnd: period.end,
    trialStart: null,
    trialEnd: null,
    cancelAtPeriodEnd: false,
    canceledAt: null,
    cancellationReason: null,
    pendingPlanId: null,
    pendingBillingCycle: null,
    pendingSeats: null,
    pastDueSince: null,
    billingEventAt: null,
    paymentMethodId: null,
    includedProducts: [],
    quotaLimits: {},
    metadata: {},
    createdAt: anchor,
    updatedAt: anchor,
    ...over,
  };
}

describe('SubscriptionLifecycle and SubscriptionEffects (repository swapped by overrideProvider)', () => {
  let lifecycle: SubscriptionLifecycle;
  let effects: SubscriptionEffectsService;
  let rows: InMemorySubscriptions;
  let outbox: RecordingOutbox;
  let clock: ManualClock;

  beforeEach(async () => {
    rows = new InMemorySubscriptions();
    outbox = new RecordingOutbox();
    clock = new ManualClock('2026-01-31T10:00:00.000Z');
    const basic = {
      planId: 'basic',
      planTier: 'basic',
      monthlyPrice: '5',
      yearlyPrice: '50',
      perSeat: false,
      currency: 'USD',
    } as PlanEntity;
    const module = await Test.createTestingModule({
      providers: [
        SubscriptionLifecycle,
        SubscriptionEffectsService,
        SubscriptionTransitions,
        SubscriptionRepository,
        EventPublisher,
        OutboxRepository,
        OutboxSignal,
        { provide: PlanService, useValue: { find: (id: string) => (id === 'basic' ? basic : undefined) } },
        { provide: Clock, useValue: clock },
        { provide: ConfigService, useValue: testConfig({ PAST_DUE_GRACE: '7d', INCOMPLETE_EXPIRY: '23h' }) },
      ],
    })
      .overrideProvider(SubscriptionRepository)
      .useValue(rows)
      .overrideProvider(OutboxRepository)
      .useValue(outbox)
      .compile();
    lifecycle = module.get(SubscriptionLifecycle);
    effects = module.get(SubscriptionEffectsService);
  });

  it('should catch up missed periods one renewal at a time, clamping the month end (Jan 31 → Feb 28 → Mar 31)', async () => {
    const sub = subscription({});
    clock.set('2026-04-01T00:00:00.000Z');
    const steps = await lifecycle.advance(tx, sub, clock.now(), internalCall);
    expect(steps).toBe(2);
    expect(outbox.types()).toEqual(['subscription.renewed', 'subscription.renewed']);
    expect(sub.currentPeriodStart.toISOString()).toBe('2026-03-31T10:00:00.000Z');
    expect(sub.currentPeriodEnd.toISOString()).toBe('2026-04-30T10:00:00.000Z');
  });

  it('should end a trial without payment as past_due, then unpaid after the grace, at the logical instants', async () => {
    const trialEnd = new Date('2026-02-14T10:00:00.000Z');
    const sub = subscription({ status: 'trialing', trialEnd, periodIndex: -1, currentPeriodEnd: trialEnd, billingAnchor: trialEnd });
    clock.set(new Date(trialEnd.getTime() + 8 * DAY));
    await lifecycle.advance(tx, sub, clock.now(), internalCall);
    expect(sub.status).toBe('unpaid');
    expect(sub.pastDueSince).toBeNull();
    expect(outbox.messages.filter((m) => m.type === 'subscription.status_changed').map((m) => m.envelope.data.new_status)).toEqual([
      'past_due',
      'unpaid',
    ]);
  });

  it('should switch a pending downgrade at the period end and renew on the new plan', async () => {
    const sub = subscription({ pendingPlanId: 'basic' });
    clock.set('2026-03-01T00:00:00.000Z');
    await lifecycle.advance(tx, sub, clock.now(), internalCall);
    expect(sub).toMatchObject({ planId: 'basic', price: '5', pendingPlanId: null });
    expect(outbox.types()).toEqual(['subscription.plan_changed', 'subscription.renewed']);
  });

  it('should activate on payment once, and do nothing for an unknown or already active subscription', async () => {
    await rows.insert(tx, subscription({ subscriptionId: 'sub_i', status: 'incomplete' }));
    expect(await effects.activateForPayments(tx, [{ subscriptionId: 'sub_i', ctx: internalCall, occurredAt: clock.now() }])).toEqual([
      true,
    ]);
    expect(await effects.activateForPayments(tx, [{ subscriptionId: 'sub_i', ctx: internalCall, occurredAt: clock.now() }])).toEqual([
      false,
    ]);
    expect(await effects.activateForPayments(tx, [{ subscriptionId: 'sub_nope', ctx: internalCall, occurredAt: clock.now() }])).toEqual([
      false,
    ]);
    expect(rows.rows.get('sub_i')?.status).toBe('active');
    expect(outbox.types()).toEqual(['subscription.status_changed', 'subscription.activated']);
  });

  it('should mark only active and trialing subscriptions of the user past_due, and cancel every open one on user.deleted', async () => {
    await rows.insert(tx, subscription({ subscriptionId: 'a', organizationId: null, status: 'active' }));
    await rows.insert(tx, subscription({ subscriptionId: 'b', organizationId: 'o1', status: 'paused' }));
    expect(await effects.markPastDueForUsers(tx, [{ userId: 'u1', ctx: internalCall, occurredAt: clock.now() }])).toEqual([1]);
    expect(rows.rows.get('a')?.status).toBe('past_due');
    expect(rows.rows.get('b')?.status).toBe('paused');
    expect(await effects.cancelAllForUsers(tx, [{ userId: 'u1', ctx: internalCall, occurredAt: clock.now() }])).toEqual([2]);
    expect([...rows.rows.values()].map((s) => [s.status, s.cancellationReason])).toEqual([
      ['canceled', 'user_deleted'],
      ['canceled', 'user_deleted'],
    ]);
  });

  it('should let the newer of a payment and a failed charge decide, in whichever order they arrive', async () => {
    const at = (iso: string) => ({ ctx: internalCall, occurredAt: new Date(iso) });
    // failed at 10:00, paid at 10:05; the payment arrives first: the older failure changes nothing
    await rows.insert(tx, subscription({ subscriptionId: 'late_failure', userId: 'u_late', status: 'past_due' }));
    expect(await effects.activateForPayments(tx, [{ subscriptionId: 'late_failure', ...at('2026-03-01T10:05:00Z') }])).toEqual([true]);
    expect(await effects.markPastDueForUsers(tx, [{ userId: 'u_late', ...at('2026-03-01T10:00:00Z') }])).toEqual([0]);
    expect(rows.rows.get('late_failure')).toMatchObject({ status: 'active', billingEventAt: new Date('2026-03-01T10:05:00Z') });
    // paid at 10:00 (already active: no change, still the latest), failed at 10:05, then an older payment arrives
    await rows.insert(tx, subscription({ subscriptionId: 'late_payment', userId: 'u_pay', status: 'active' }));
    expect(await effects.activateForPayments(tx, [{ subscriptionId: 'late_payment', ...at('2026-03-01T10:00:00Z') }])).toEqual([false]);
    expect(await effects.markPastDueForUsers(tx, [{ userId: 'u_pay', ...at('2026-03-01T10:05:00Z') }])).toEqual([1]);
    expect(await effects.activateForPayments(tx, [{ subscriptionId: 'late_payment', ...at('2026-03-01T10:01:00Z') }])).toEqual([false]);
    expect(rows.rows.get('late_payment')?.status).toBe('past_due');
    // user.deleted is final, whatever its time
    expect(await effects.cancelAllForUsers(tx, [{ userId: 'u_pay', ...at('2026-03-01T09:00:00Z') }])).toEqual([1]);
  });
});
