import { Test } from '@nestjs/testing';
import { PlatformDirectory, type MembershipCheck, type UserCheck } from '../../clients/platform-directory.js';
import { Memberships } from './memberships.service.js';
import { Clock, ManualClock } from '../../common/clock/clock.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import { OutboxRepository } from '../../events/outbox/outbox.repository.js';
import { OutboxSignal } from '../../events/outbox/outbox.signal.js';
import { EventPublisher } from '../../events/publishers/event.publisher.js';
import { ConfigService } from '@nestjs/config';
import { FakeUnitOfWork, internalCall, RecordingOutbox, testConfig, userCall } from '../../testing/doubles.js';
import { InMemorySubscriptions } from '../../testing/in-memory-subscriptions.js';
import type { PlanEntity } from '../catalog/entities/plan.entity.js';
import { PlanService } from '../catalog/services/plan.service.js';
import { GroupCommits } from '../../database/group-commit.js';
import { GroupedKeys } from '../../idempotency/grouped-keys.service.js';
import { SubscriptionCommands } from './subscription-commands.service.js';
import { SubscriptionRepository } from './subscription.repository.js';
import { SubscriptionTransitions } from './subscription-transitions.service.js';

const plan = (over: Partial<PlanEntity> = {}): PlanEntity =>
  ({
    planId: 'pro',
    planTier: 'pro',
    monthlyPrice: '20',
    yearlyPrice: '200',
    perSeat: false,
    currency: 'USD',
    minSeats: 1,
    maxSeats: 10,
    trialDays: 14,
    isPublic: true,
    isActive: true,
    includedProducts: [],
    usageLimits: {},
    ...over,
  }) as PlanEntity;

describe('SubscriptionCommands (repository, directory and plans swapped by overrideProvider)', () => {
  let commands: SubscriptionCommands;
  let subscriptions: InMemorySubscriptions;
  let outbox: RecordingOutbox;
  let uow: FakeUnitOfWork;
  let user: UserCheck;
  let membership: MembershipCheck;
  const plans = new Map<string, PlanEntity>();

  beforeEach(async () => {
    outbox = new RecordingOutbox();
    subscriptions = new InMemorySubscriptions(outbox);
    uow = new FakeUnitOfWork();
    user = 'active';
    membership = 'member';
    plans.clear();
    plans.set('pro', plan());
    plans.set('basic', plan({ planId: 'basic', planTier: 'basic', monthlyPrice: '5', yearlyPrice: '50', trialDays: 0 }));
    plans.set('free', plan({ planId: 'free', planTier: 'free', monthlyPrice: '0', yearlyPrice: '0', trialDays: 0 }));
    const module = await Test.createTestingModule({
      providers: [
        SubscriptionCommands,
        SubscriptionTransitions,
        SubscriptionRepository,
        EventPublisher,
        OutboxRepository,
        OutboxSignal,
        UnitOfWork,
        PlanService,
        { provide: PlatformDirectory, useValue: {} },
        Memberships,
        // no create here sends an Idempotency-Key (keyed creates: test/subscription-group-commit.e2e-spec.ts)
        { provide: GroupedKeys, useValue: {} },
        GroupCommits,
        { provide: Clock, useValue: new ManualClock('2026-03-10T12:00:00.000Z') },
        { provide: ConfigService, useValue: testConfig() },
      ],
    })
      .overrideProvider(SubscriptionRepository)
      .useValue(subscriptions)
      .overrideProvider(OutboxRepository)
      .useValue(outbox)
      .overrideProvider(UnitOfWork)
      .useValue(uow)
      .overrideProvider(PlanService)
      .useValue({
        requireSubscribable: (planId: string) => {
          const found = plans.get(planId);
          if (!found) throw new DomainError('PLAN_NOT_FOUND', 'not_found', 'no plan');
          return found;
        },
      })
      .overrideProvider(PlatformDirectory)
      .useValue({ checkUser: () => Promise.resolve(user), checkMembership: () => Promise.resolve(membership) })
      .compile();
    commands = module.get(SubscriptionCommands);
  });

  it('should start a paid plan with trial days as trialing, the trial being its own period, with subscription.created', async () => {
    const view = await commands.create({ user_id: 'u1', plan_id: 'pro' }, userCall('u1'));
    expect(view).toMatchObject({ status: 'trialing', price: '20', trial_end: '2026-03-24T12:00:00.000Z' });
    expect(view.current_period_end).toBe('2026-03-24T12:00:00.000Z');
    expect(outbox.types()).toEqual(['subscription.created']);
    expect(subscriptions.rows.size).toBe(1);
  });

  it('should make a free plan active and a paid plan without trial incomplete', async () => {
    expect((await commands.create({ user_id: 'u1', plan_id: 'free' }, internalCall)).status).toBe('active');
    expect((await commands.create({ user_id: 'u2', plan_id: 'basic' }, internalCall)).status).toBe('incomplete');
  });

  it('should refuse a second open subscription with 409 SUBSCRIPTION_EXISTS (the unique index refuses the insert), writing no event', async () => {
    await commands.create({ user_id: 'u1', plan_id: 'pro' }, internalCall);
    await expect(commands.create({ user_id: 'u1', plan_id: 'basic' }, internalCall)).rejects.toMatchObject({
      code: 'SUBSCRIPTION_EXISTS',
      kind: 'conflict',
    });
    // another organization (or none vs one) is another owner
    await commands.create({ user_id: 'u1', plan_id: 'basic', organization_id: 'o1' }, internalCall);
    expect(outbox.types()).toEqual(['subscription.created', 'subscription.created']);
    expect(subscriptions.rows.size).toBe(2);
  });

  it('should apply the directory: unknown or inactive users are 422, non-members 403, unverified (fail_open) accepted', async () => {
    user = 'not_found';
    await expect(commands.create({ user_id: 'u1', plan_id: 'pro' }, internalCall)).rejects.toMatchObject({
      code: 'USER_NOT_FOUND',
      kind: 'rejected',
    });
    user = 'inactive';
    await expect(commands.create({ user_id: 'u1', plan_id: 'pro' }, internalCall)).rejects.toMatchObject({ code: 'USER_INACTIVE' });
    user = 'active';
    membership = 'not_member';
    await expect(commands.create({ user_id: 'u1', plan_id: 'pro', organization_id: 'o1' }, internalCall)).rejects.toMatchObject({
      code: 'NOT_ORGANIZATION_MEMBER',
      kind: 'forbidden',
    });
    expect(subscriptions.rows.size).toBe(0);
    user = 'unverified';
    membership = 'unverified';
    await commands.create({ user_id: 'u1', plan_id: 'pro', organization_id: 'o1' }, internalCall);
    expect(subscriptions.rows.size).toBe(1);
  });

  it('should refuse seats outside the plan range with 400 naming seats', async () => {
    await expect(commands.create({ user_id: 'u1', plan_id: 'pro', seats: 11 }, internalCall)).rejects.toMatchObject({
      kind: 'invalid',
      details: [{ field: 'seats', message: 'seats must be between 1 and 10 for plan pro' }],
    });
  });

  it('should not let a user act for another user', async () => {
    await expect(commands.create({ user_id: 'u2', plan_id: 'pro' }, userCall('u1'))).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('should cancel an incomplete subscription at once, and schedule a downgrade for the period end', async () => {
    const incomplete = await commands.create({ user_id: 'u1', plan_id: 'basic' }, internalCall);
    const canceled = await commands.cancel(incomplete.subscription_id, {}, internalCall);
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'canceled_by_request' });
    expect(outbox.types()).toEqual(['subscription.created', 'subscription.status_changed', 'subscription.canceled']);

    const trialing = await commands.create({ user_id: 'u2', plan_id: 'pro' }, internalCall);
    const downgraded = await commands.changePlan(trialing.subscription_id, { plan_id: 'basic' }, internalCall);
    expect(downgraded).toMatchObject({ plan_id: 'pro', pending_plan_id: 'basic' });
    expect(subscriptions.rows.get(trialing.subscription_id)?.pendingPlanId).toBe('basic');
  });

  it('should answer 409 ILLEGAL_TRANSITION for a transition outside the table, changing nothing', async () => {
    const sub = await commands.create({ user_id: 'u1', plan_id: 'free' }, internalCall);
    await expect(commands.setStatus(sub.subscription_id, 'trialing', null, internalCall)).rejects.toMatchObject({
      code: 'ILLEGAL_TRANSITION',
    });
    expect(subscriptions.rows.get(sub.subscription_id)?.status).toBe('active');
    await expect(commands.resume('sub_nope', internalCall)).rejects.toMatchObject({ code: 'SUBSCRIPTION_NOT_FOUND', kind: 'not_found' });
  });
});
