import request from 'supertest';
import { ManualClock } from '../src/common/clock/clock.js';
import { UnitOfWork } from '../src/database/unit-of-work.js';
import { LifecycleSweeper } from '../src/product/subscriptions/lifecycle.sweeper.js';
import { SubscriptionEffects } from '../src/product/subscriptions/subscription-effects.js';
import { CatalogStore } from '../src/product/catalog/catalog-store.js';
import { Db } from './support/catalog-fixture.js';
import { startFakePlatform } from './support/fake-platform.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('subscription lifecycle sweeper (ManualClock, PostgreSQL)', () => {
  const clock = new ManualClock('2026-01-31T10:00:00.000Z');
  let t: TestApp;
  let replica: TestApp;
  let platform: Awaited<ReturnType<typeof startFakePlatform>>;
  let db: Db;
  let n = 0;

  const newUser = (): string => {
    const id = `lc_user_${++n}`;
    platform.accounts.addUser(id);
    return id;
  };
  const create = async (body: Record<string, unknown>) =>
    (await request(t.baseUrl).post(`${API}/subscriptions`).set(INTERNAL).send(body).expect(200)).body;
  const get = async (id: string) => (await request(t.baseUrl).get(`${API}/subscriptions/${id}`).set(INTERNAL).expect(200)).body;
  const setStatus = (id: string, status: string) =>
    request(t.baseUrl).put(`${API}/subscriptions/${id}/status`).set(INTERNAL).send({ status }).expect(200);
  const sweep = () => t.app.get(LifecycleSweeper).sweepOnce();

  beforeAll(async () => {
    platform = await startFakePlatform();
    const env = platform.env;
    t = await startTestApp({ env, clock });
    replica = await startTestApp({ env, clock, databaseUrl: t.databaseUrl });
    db = await Db.connect(t.databaseUrl as string, () => t.app.get(CatalogStore).refresh());
    await db.ensureCatalog();
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await replica?.app.close();
    await t?.close();
    await platform?.stop();
  }, 60_000);

  it('should renew an active period at its end, anchored on Jan 31 (Feb 28, then Mar 31), and catch up missed periods one by one', async () => {
    clock.set('2026-01-31T10:00:00.000Z');
    const s = await create({ user_id: newUser(), plan_id: 'tier_free_001' });
    expect(s.current_period_end).toBe('2026-02-28T10:00:00.000Z');

    clock.set('2026-02-28T09:59:59.999Z');
    await sweep();
    expect(await db.outbox('subscription.renewed', s.subscription_id)).toHaveLength(0);

    clock.set('2026-02-28T10:00:00.000Z');
    await sweep();
    let got = await get(s.subscription_id);
    expect(got).toMatchObject({
      status: 'active',
      current_period_start: '2026-02-28T10:00:00.000Z',
      current_period_end: '2026-03-31T10:00:00.000Z',
    });
    const first = await db.outbox('subscription.renewed', s.subscription_id);
    expect(first).toHaveLength(1);
    expect(first[0].data).toEqual({
      subscription_id: s.subscription_id,
      user_id: s.user_id,
      plan_id: 'tier_free_001',
      price: '0',
      currency: 'USD',
      current_period_start: '2026-02-28T10:00:00.000Z',
      current_period_end: '2026-03-31T10:00:00.000Z',
    });

    // the sweeper was down for three periods: each rolls forward with its own renewal
    clock.set('2026-06-01T00:00:00.000Z');
    await sweep();
    got = await get(s.subscription_id);
    expect(got.current_period_start).toBe('2026-05-31T10:00:00.000Z');
    expect(got.current_period_end).toBe('2026-06-30T10:00:00.000Z');
    const renewals = (await db.outbox('subscription.renewed', s.subscription_id)).map((e) => e.data.current_period_end);
    expect(renewals).toEqual([
      '2026-03-31T10:00:00.000Z',
      '2026-04-30T10:00:00.000Z',
      '2026-05-31T10:00:00.000Z',
      '2026-06-30T10:00:00.000Z',
    ]);

    await sweep(); // nothing more is due
    expect(await db.outbox('subscription.renewed', s.subscription_id)).toHaveLength(4);
  }, 60_000);

  it('should move an ended trial to past_due and, after PAST_DUE_GRACE, to unpaid', async () => {
    clock.set('2026-07-01T00:00:00.000Z');
    const s = await create({ user_id: newUser(), plan_id: 'tier_pro_001' });
    expect(s.status).toBe('trialing');
    clock.advance(14 * DAY - 1);
    await sweep();
    expect((await get(s.subscription_id)).status).toBe('trialing');
    clock.advance(1);
    await sweep();
    expect((await get(s.subscription_id)).status).toBe('past_due');
    const changed = await db.outbox('subscription.status_changed', s.subscription_id);
    expect(changed.map((e) => [e.data.old_status, e.data.new_status, e.data.reason])).toEqual([['trialing', 'past_due', 'trial_ended']]);

    clock.advance(7 * DAY - 1);
    await sweep();
    expect((await get(s.subscription_id)).status).toBe('past_due');
    clock.advance(1);
    await sweep();
    expect((await get(s.subscription_id)).status).toBe('unpaid');
  });

  it('should expire an incomplete subscription after INCOMPLETE_EXPIRY (23 h) and publish subscription.expired', async () => {
    clock.set('2026-08-01T00:00:00.000Z');
    const s = await create({ user_id: newUser(), plan_id: 'tier_pro_001', trial: false });
    expect(s.status).toBe('incomplete');
    clock.advance(23 * HOUR - 1);
    await sweep();
    expect((await get(s.subscription_id)).status).toBe('incomplete');
    clock.advance(1);
    await sweep();
    expect((await get(s.subscription_id)).status).toBe('incomplete_expired');
    const expired = await db.outbox('subscription.expired', s.subscription_id);
    expect(expired).toHaveLength(1);
    expect(expired[0].data).toMatchObject({ old_status: 'incomplete', new_status: 'incomplete_expired' });
  });

  it('should cancel at the period end when cancel_at_period_end is set, instead of renewing', async () => {
    clock.set('2026-09-10T00:00:00.000Z');
    const s = await create({ user_id: newUser(), plan_id: 'tier_free_001' });
    await request(t.baseUrl).post(`${API}/subscriptions/${s.subscription_id}/cancel`).set(INTERNAL).send({ reason: 'bye' }).expect(200);
    clock.set('2026-10-10T00:00:00.000Z');
    await sweep();
    const got = await get(s.subscription_id);
    expect(got).toMatchObject({
      status: 'canceled',
      canceled_at: '2026-10-10T00:00:00.000Z',
      cancellation_reason: 'bye',
      cancel_at_period_end: false,
    });
    expect(await db.outbox('subscription.renewed', s.subscription_id)).toHaveLength(0);
    expect((await db.outbox('subscription.canceled', s.subscription_id))[0].data.cancellation_reason).toBe('bye');
  });

  it('should apply a pending downgrade at the period end: switch plan, publish plan_changed, then renew at the new price', async () => {
    clock.set('2026-11-01T00:00:00.000Z');
    const s = await create({ user_id: newUser(), plan_id: 'tier_max_001', trial: false });
    await setStatus(s.subscription_id, 'active'); // first payment: the paid period starts now
    const paid = await get(s.subscription_id);
    expect(paid.current_period_end).toBe('2026-12-01T00:00:00.000Z');
    await request(t.baseUrl)
      .post(`${API}/subscriptions/${s.subscription_id}/change-plan`)
      .set(INTERNAL)
      .send({ plan_id: 'tier_pro_001', billing_cycle: 'yearly' })
      .expect(200);
    clock.set('2026-12-01T00:00:00.000Z');
    await sweep();
    const got = await get(s.subscription_id);
    expect(got).toMatchObject({
      plan_id: 'tier_pro_001',
      billing_cycle: 'yearly',
      price: '192',
      pending_plan_id: null,
      current_period_start: '2026-12-01T00:00:00.000Z',
      current_period_end: '2027-12-01T00:00:00.000Z',
    });
    expect((await db.outbox('subscription.plan_changed', s.subscription_id))[0].data).toMatchObject({
      old_plan_id: 'tier_max_001',
      new_plan_id: 'tier_pro_001',
    });
    expect((await db.outbox('subscription.renewed', s.subscription_id))[0].data).toMatchObject({ price: '192', plan_id: 'tier_pro_001' });
  });

  it('should expire a one_time subscription at its period end instead of renewing', async () => {
    clock.set('2028-01-31T00:00:00.000Z');
    const s = await create({ user_id: newUser(), plan_id: 'tier_pro_001', trial: false, billing_cycle: 'one_time' });
    await setStatus(s.subscription_id, 'active');
    expect((await get(s.subscription_id)).current_period_end).toBe('2028-02-29T00:00:00.000Z');
    clock.set('2028-03-01T00:00:00.000Z');
    await sweep();
    expect((await get(s.subscription_id)).status).toBe('expired');
    expect(await db.outbox('subscription.expired', s.subscription_id)).toHaveLength(1);
    expect(await db.outbox('subscription.renewed', s.subscription_id)).toHaveLength(0);
  });

  it('should renew each subscription exactly once when two replicas sweep at the same time', async () => {
    clock.set('2029-01-15T00:00:00.000Z');
    const ids: string[] = [];
    for (let i = 0; i < 15; i++) {
      const created = await Promise.all(Array.from({ length: 10 }, () => create({ user_id: newUser(), plan_id: 'tier_free_001' })));
      ids.push(...created.map((s: { subscription_id: string }) => s.subscription_id));
    }
    clock.set('2029-02-15T00:00:00.000Z');
    const [a, b] = await Promise.all([sweep(), replica.app.get(LifecycleSweeper).sweepOnce()]);
    // (other tests' subscriptions may be due too, so count only these through their events)
    expect(a.subscriptions + b.subscriptions).toBeGreaterThanOrEqual(150);
    const rows = await db.query<{ id: string; n: number }>(
      `SELECT aggregate_id AS id, count(*)::int AS n FROM outbox_events WHERE type = 'subscription.renewed' AND aggregate_id = ANY($1) GROUP BY aggregate_id`,
      [ids],
    );
    expect(rows).toHaveLength(150);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    const periods = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM subscriptions WHERE subscription_id = ANY($1) AND current_period_end = '2029-03-15T00:00:00Z'`,
      [ids],
    );
    expect(periods[0].n).toBe(150);
  }, 60_000);

  it('should prune expired idempotency keys', async () => {
    clock.set('2030-01-01T00:00:00.000Z');
    const user = newUser();
    await request(t.baseUrl)
      .post(`${API}/subscriptions`)
      .set(INTERNAL)
      .set('Idempotency-Key', 'prune-me')
      .send({ user_id: user, plan_id: 'tier_free_001' })
      .expect(200);
    clock.advance(24 * HOUR + 1);
    const result = await sweep();
    expect(result.idempotencyKeysPruned).toBeGreaterThanOrEqual(1);
    expect(await db.query(`SELECT key FROM idempotency_keys WHERE key = 'prune-me'`)).toEqual([]);
  }, 60_000);

  it('should run the sweep on its own every SWEEP_INTERVAL_MS once the application has started', async () => {
    const ownClock = new ManualClock('2026-03-10T00:00:00.000Z');
    const timed = await startTestApp({ env: { ...platform.env, SWEEP_INTERVAL_MS: '50' }, clock: ownClock });
    try {
      const user = newUser();
      const s = (
        await request(timed.baseUrl)
          .post(`${API}/subscriptions`)
          .set(INTERNAL)
          .send({ user_id: user, plan_id: 'tier_free_001' })
          .expect(200)
      ).body;
      ownClock.set('2026-04-10T00:00:01.000Z');
      let end = s.current_period_end;
      for (let i = 0; i < 200 && end === s.current_period_end; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        end = (await request(timed.baseUrl).get(`${API}/subscriptions/${s.subscription_id}`).set(INTERNAL).expect(200)).body
          .current_period_end;
      }
      expect(end).toBe('2026-05-10T00:00:00.000Z');
    } finally {
      await timed.close();
    }
  }, 60_000);

  describe('SubscriptionEffects (what consumed events do)', () => {
    const effects = () => t.app.get(SubscriptionEffects);
    const uow = () => t.app.get(UnitOfWork);
    const ctx = { requestId: 'evt-1', correlationId: 'evt-1', principal: { kind: 'internal' as const } };

    it('should activate on payment from incomplete with a fresh paid period, and do nothing when already active or unknown', async () => {
      clock.set('2030-02-01T00:00:00.000Z');
      const s = await create({ user_id: newUser(), plan_id: 'tier_pro_001', trial: false });
      clock.advance(HOUR);
      expect(
        await uow().run((tx) => effects().activateForPayments(tx, [{ subscriptionId: s.subscription_id, ctx, occurredAt: clock.now() }])),
      ).toEqual([true]);
      const got = await get(s.subscription_id);
      expect(got).toMatchObject({
        status: 'active',
        current_period_start: '2030-02-01T01:00:00.000Z',
        current_period_end: '2030-03-01T01:00:00.000Z',
      });
      expect(
        await uow().run((tx) => effects().activateForPayments(tx, [{ subscriptionId: s.subscription_id, ctx, occurredAt: clock.now() }])),
      ).toEqual([false]);
      expect(
        await uow().run((tx) => effects().activateForPayments(tx, [{ subscriptionId: 'sub_unknown', ctx, occurredAt: clock.now() }])),
      ).toEqual([false]);
      const activated = await db.outbox('subscription.activated', s.subscription_id);
      expect(activated).toHaveLength(1);
      expect(activated[0].metadata).toMatchObject({ request_id: 'evt-1', correlation_id: 'evt-1' });
    });

    it('should mark active and trialing subscriptions past_due on insufficient funds and cancel all on user deletion', async () => {
      clock.set('2030-03-01T00:00:00.000Z');
      const user = newUser();
      platform.organizations.addOrganization('org_fx', [user]);
      const personal = await create({ user_id: user, plan_id: 'tier_pro_001' });
      const org = await create({ user_id: user, plan_id: 'tier_free_001', organization_id: 'org_fx' });
      expect(await uow().run((tx) => effects().markPastDueForUsers(tx, [{ userId: user, ctx, occurredAt: clock.now() }]))).toEqual([2]);
      expect((await get(personal.subscription_id)).status).toBe('past_due');
      expect((await get(org.subscription_id)).status).toBe('past_due');
      expect(await uow().run((tx) => effects().markPastDueForUsers(tx, [{ userId: user, ctx, occurredAt: clock.now() }]))).toEqual([0]);
      expect(await uow().run((tx) => effects().cancelAllForUsers(tx, [{ userId: user, ctx, occurredAt: clock.now() }]))).toEqual([2]);
      const canceled = await get(personal.subscription_id);
      expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'user_deleted' });
      expect(await uow().run((tx) => effects().cancelAllForUsers(tx, [{ userId: user, ctx, occurredAt: clock.now() }]))).toEqual([0]);
    });

    it('should apply a group of requests in order with one answer each: repeats, unknown ids and several users', async () => {
      clock.set('2030-04-01T00:00:00.000Z');
      const subs = [];
      for (let i = 0; i < 3; i++) subs.push(await create({ user_id: newUser(), plan_id: 'tier_pro_001', trial: false }));
      const [a, b, c] = subs.map((s) => s.subscription_id);
      const requests = [a, 'sub_unknown', b, a, c].map((subscriptionId) => ({ subscriptionId, ctx, occurredAt: clock.now() }));
      expect(await uow().run((tx) => effects().activateForPayments(tx, requests))).toEqual([true, false, true, false, true]);
      for (const id of [a, b, c]) {
        expect((await get(id)).status).toBe('active');
        expect(await db.outbox('subscription.activated', id)).toHaveLength(1);
      }
      // two users, one of them twice: the repeat finds nothing left to change
      const [u1, u2] = [subs[0].user_id, subs[1].user_id];
      const users = [u1, u2, u1].map((userId) => ({ userId, ctx, occurredAt: clock.now() }));
      expect(await uow().run((tx) => effects().cancelAllForUsers(tx, users))).toEqual([1, 1, 0]);
      expect(await db.outbox('subscription.canceled', a)).toHaveLength(1);
      expect((await get(c)).status).toBe('active');
    });
  });
});
