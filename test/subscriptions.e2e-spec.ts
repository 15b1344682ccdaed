import request from 'supertest';
import { TRANSITIONS, SUBSCRIPTION_STATUSES } from '../src/product/subscriptions/subscription-state-machine.js';
import { CatalogStore } from '../src/product/catalog/catalog-store.js';
import { Db } from './support/catalog-fixture.js';
import { startFakePlatform } from './support/fake-platform.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

type Platform = Awaited<ReturnType<typeof startFakePlatform>>;

describe('subscriptions (PostgreSQL + fake account/organization services)', () => {
  let t: TestApp;
  let platform: Platform;
  let db: Db;
  let n = 0;
  /** a fresh active user known to the account service */
  const newUser = (): string => {
    const id = `user_${++n}_${Date.now()}`;
    platform.accounts.addUser(id);
    return id;
  };
  const asUser = (userId: string) => ({ 'X-User-Id': userId });
  const create = (body: Record<string, unknown>, headers: Record<string, string> = INTERNAL) =>
    request(t.baseUrl).post(`${API}/subscriptions`).set(headers).send(body);

  beforeAll(async () => {
    platform = await startFakePlatform();
    t = await startTestApp({ env: platform.env });
    db = await Db.connect(t.databaseUrl as string, () => t.app.get(CatalogStore).refresh());
    await db.ensureCatalog();
    await db.copyPlan('tier_pro_001', { plan_id: 'retired_plan', is_active: false });
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await t?.close();
    await platform?.stop();
  }, 60_000);
  afterEach(() => {
    platform.accounts.clearFaults();
    platform.organizations.clearFaults();
  });

  describe('create', () => {
    it('should create a free plan subscription as active with a monthly calendar period and publish subscription.created', async () => {
      const user = newUser();
      const res = await create({ user_id: user, plan_id: 'tier_free_001' }, { ...asUser(user), 'X-Request-Id': 'req-create-1' }).expect(
        200,
      );
      const s = res.body;
      expect(Object.keys(s).sort()).toEqual(
        [
          'subscription_id',
          'user_id',
          'organization_id',
          'plan_id',
          'plan_tier',
          'status',
          'billing_cycle',
          'seats',
          'price',
          'currency',
          'current_period_start',
          'current_period_end',
          'trial_start',
          'trial_end',
          'cancel_at_period_end',
          'canceled_at',
          'cancellation_reason',
          'pending_plan_id',
          'next_billing_date',
          'payment_method_id',
          'included_products',
          'quota_limits',
          'metadata',
          'created_at',
          'updated_at',
        ].sort(),
      );
      expect(s).toMatchObject({
        user_id: user,
        plan_id: 'tier_free_001',
        plan_tier: 'free',
        status: 'active',
        billing_cycle: 'monthly',
        seats: 1,
        price: '0',
        currency: 'USD',
      });
      expect(s.included_products).toEqual([{ product_id: 'gpt-4o-mini', included_amount: '100000' }]);
      const start = new Date(s.current_period_start);
      const end = new Date(s.current_period_end);
      const expectedEnd = new Date(start);
      expectedEnd.setUTCMonth(start.getUTCMonth() + 1);
      if (expectedEnd.getUTCDate() === start.getUTCDate()) expect(end.toISOString()).toBe(expectedEnd.toISOString());
      const events = await db.outbox('subscription.created', s.subscription_id);
      expect(events).toHaveLength(1);
      expect(events[0].data).toMatchObject({ subscription_id: s.subscription_id, status: 'active', price: '0', plan_tier: 'free' });
      expect(events[0].metadata.request_id).toBe('req-create-1');
    });

    it('should start a paid plan with trial days as trialing until now + trial_days', async () => {
      const user = newUser();
      const before = Date.now();
      const s = (await create({ user_id: user, plan_id: 'tier_pro_001', metadata: { source: 'web' } }).expect(200)).body;
      expect(s.status).toBe('trialing');
      expect(s.price).toBe('20');
      expect(s.metadata).toEqual({ source: 'web' });
      const trialMs = new Date(s.trial_end).getTime() - new Date(s.trial_start).getTime();
      expect(trialMs).toBe(14 * 86_400_000);
      expect(new Date(s.trial_start).getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(s.next_billing_date).toBe(s.trial_end);
    });

    it('should start as incomplete when trial is false', async () => {
      const user = newUser();
      const s = (await create({ user_id: user, plan_id: 'tier_pro_001', trial: false, billing_cycle: 'quarterly' }).expect(200)).body;
      expect(s).toMatchObject({ status: 'incomplete', billing_cycle: 'quarterly', price: '60', trial_end: null });
    });

    it('should price per-seat plans per cycle times seats and accept explicit nulls', async () => {
      const user = newUser();
      const s = (
        await create({
          user_id: user,
          plan_id: 'tier_team_001',
          seats: 3,
          billing_cycle: 'yearly',
          organization_id: null,
          trial: null,
          payment_method_id: null,
          metadata: null,
        }).expect(200)
      ).body;
      expect(s).toMatchObject({ status: 'trialing', seats: 3, price: '720', billing_cycle: 'yearly', organization_id: null, metadata: {} });
    });

    it('should refuse seats outside the plan range with 400 naming seats', async () => {
      const res = await create({ user_id: newUser(), plan_id: 'tier_team_001', seats: 1 }).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.details[0].field).toBe('seats');
      await create({ user_id: newUser(), plan_id: 'tier_team_001', seats: 51 }).expect(400);
      await create({ user_id: newUser(), plan_id: 'tier_team_001', seats: 2.5 }).expect(400);
    });

    it('should refuse a billing_cycle outside the enum, unknown fields and bad identifiers with 400', async () => {
      const bad = await create({ user_id: newUser(), plan_id: 'tier_pro_001', billing_cycle: 'weekly' }).expect(400);
      expect(bad.body.error.details.map((d: { field: string }) => d.field)).toContain('billing_cycle');
      await create({ user_id: newUser(), plan_id: 'tier_pro_001', colour: 'red' }).expect(400);
      await create({ user_id: 'a\u0000b', plan_id: 'tier_pro_001' }).expect(400);
      // an unpaired surrogate (JSON "\ud800"): refused as the body arrives; it had reached the account client (503)
      const lone = await create({ user_id: 'a\ud800b', plan_id: 'tier_pro_001' }).expect(400);
      expect(lone.body.error.details).toEqual([
        { field: 'user_id', message: 'user_id must be valid Unicode (it has an unpaired surrogate)' },
      ]);
      await create({ plan_id: 'tier_pro_001' }).expect(400);
    });

    it('should answer 404 PLAN_NOT_FOUND for an unknown or inactive plan', async () => {
      expect((await create({ user_id: newUser(), plan_id: 'nope' }).expect(404)).body.error.code).toBe('PLAN_NOT_FOUND');
      expect((await create({ user_id: newUser(), plan_id: 'retired_plan' }).expect(404)).body.error.code).toBe('PLAN_NOT_FOUND');
    });

    it('should keep non-public plans for internal callers (403 PLAN_NOT_AVAILABLE for users)', async () => {
      const user = newUser();
      const res = await create({ user_id: user, plan_id: 'tier_enterprise_001', seats: 10 }, asUser(user)).expect(403);
      expect(res.body.error.code).toBe('PLAN_NOT_AVAILABLE');
      const ok = await create({ user_id: user, plan_id: 'tier_enterprise_001', seats: 10 }).expect(200);
      expect(ok.body).toMatchObject({ status: 'trialing', price: '10000' });
    });

    it('should answer 422 USER_NOT_FOUND and USER_INACTIVE from the account service', async () => {
      expect((await create({ user_id: 'ghost_user', plan_id: 'tier_free_001' }).expect(422)).body.error.code).toBe('USER_NOT_FOUND');
      platform.accounts.addUser('sleepy_user', false);
      expect((await create({ user_id: 'sleepy_user', plan_id: 'tier_free_001' }).expect(422)).body.error.code).toBe('USER_INACTIVE');
    });

    it('should check the organization exists (422) and the user is a member (403)', async () => {
      const member = newUser();
      const outsider = newUser();
      platform.organizations.addOrganization('org_acme', [member]);
      expect((await create({ user_id: member, plan_id: 'tier_free_001', organization_id: 'org_none' }).expect(422)).body.error.code).toBe(
        'ORGANIZATION_NOT_FOUND',
      );
      expect((await create({ user_id: outsider, plan_id: 'tier_free_001', organization_id: 'org_acme' }).expect(403)).body.error.code).toBe(
        'NOT_ORGANIZATION_MEMBER',
      );
      const orgSub = (await create({ user_id: member, plan_id: 'tier_team_001', seats: 2, organization_id: 'org_acme' }).expect(200)).body;
      expect(orgSub.organization_id).toBe('org_acme');
      // one per (user, organization or none): a personal one is still allowed
      await create({ user_id: member, plan_id: 'tier_free_001' }).expect(200);
    });

    it('should refuse a second open subscription with 409 SUBSCRIPTION_EXISTS and allow one after cancellation', async () => {
      const user = newUser();
      const first = (await create({ user_id: user, plan_id: 'tier_free_001' }).expect(200)).body;
      expect((await create({ user_id: user, plan_id: 'tier_pro_001' }).expect(409)).body.error.code).toBe('SUBSCRIPTION_EXISTS');
      await request(t.baseUrl)
        .post(`${API}/subscriptions/${first.subscription_id}/cancel`)
        .set(INTERNAL)
        .send({ immediate: true })
        .expect(200);
      await create({ user_id: user, plan_id: 'tier_pro_001' }).expect(200);
    });

    it('should let exactly one of many concurrent creates for one user win (the database enforces it)', async () => {
      const user = newUser();
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => create({ user_id: user, plan_id: i % 2 ? 'tier_free_001' : 'tier_pro_001' })),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(11);
      const rows = await db.query(`SELECT count(*)::int AS n FROM subscriptions WHERE user_id = $1`, [user]);
      expect(rows[0].n).toBe(1);
    }, 60_000);

    it('should refuse creating for another user with 403 FORBIDDEN', async () => {
      const res = await create({ user_id: newUser(), plan_id: 'tier_free_001' }, asUser('someone_else')).expect(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    });
  });

  describe('reads', () => {
    it('should get one subscription, 404 for unknown ids and 403 for other users', async () => {
      const user = newUser();
      const s = (await create({ user_id: user, plan_id: 'tier_free_001' }).expect(200)).body;
      const got = await request(t.baseUrl).get(`${API}/subscriptions/${s.subscription_id}`).set(asUser(user)).expect(200);
      expect(got.body).toEqual(s);
      expect((await request(t.baseUrl).get(`${API}/subscriptions/sub_nope`).set(INTERNAL).expect(404)).body.error.code).toBe(
        'SUBSCRIPTION_NOT_FOUND',
      );
      expect(
        (await request(t.baseUrl).get(`${API}/subscriptions/${s.subscription_id}`).set(asUser('intruder')).expect(403)).body.error.code,
      ).toBe('FORBIDDEN');
    });

    it("should list a user's subscriptions newest first with status filter and cursor paging", async () => {
      const user = newUser();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const s = (await create({ user_id: user, plan_id: 'tier_free_001' }).expect(200)).body;
        ids.push(s.subscription_id);
        await request(t.baseUrl)
          .post(`${API}/subscriptions/${s.subscription_id}/cancel`)
          .set(INTERNAL)
          .send({ immediate: true })
          .expect(200);
      }
      const open = (await create({ user_id: user, plan_id: 'tier_free_001' }).expect(200)).body;
      const page1 = await request(t.baseUrl).get(`${API}/subscriptions/user/${user}?limit=2`).set(asUser(user)).expect(200);
      expect(page1.body.map((s: { subscription_id: string }) => s.subscription_id)).toEqual([open.subscription_id, ids[2]]);
      expect(page1.headers['link']).toContain('rel="next"');
      const page2 = await request(t.baseUrl)
        .get(`${API}/subscriptions/user/${user}?limit=2&cursor=${page1.headers['x-next-cursor']}`)
        .set(asUser(user))
        .expect(200);
      expect(page2.body.map((s: { subscription_id: string }) => s.subscription_id)).toEqual([ids[1], ids[0]]);
      expect(page2.headers['x-next-cursor']).toBeUndefined();
      const canceled = await request(t.baseUrl).get(`${API}/subscriptions/user/${user}?status=canceled`).set(asUser(user)).expect(200);
      expect(canceled.body).toHaveLength(3);
      await request(t.baseUrl).get(`${API}/subscriptions/user/${user}`).set(asUser('intruder')).expect(403);
      await request(t.baseUrl).get(`${API}/subscriptions/user/${user}?status=bogus`).set(asUser(user)).expect(400);
      await request(t.baseUrl).get(`${API}/subscriptions/user/${user}?cursor=garbage`).set(asUser(user)).expect(400);
    });

    it('should list all subscriptions for internal callers only, with filters', async () => {
      const user = newUser();
      await create({ user_id: user, plan_id: 'tier_pro_001' }).expect(200);
      const res = await request(t.baseUrl)
        .get(`${API}/subscriptions?user_id=${user}&plan_id=tier_pro_001&status=trialing`)
        .set(INTERNAL)
        .expect(200);
      expect(res.body).toHaveLength(1);
      const none = await request(t.baseUrl).get(`${API}/subscriptions?user_id=${user}&status=active`).set(INTERNAL).expect(200);
      expect(none.body).toEqual([]);
      await request(t.baseUrl).get(`${API}/subscriptions`).set(asUser(user)).expect(403);
    });

    it('should list by organization, each item exactly as the subscription reads on its own', async () => {
      const member = newUser();
      const org = `org_list_${member}`;
      platform.organizations.addOrganization(org, [member]);
      const personal = (await create({ user_id: member, plan_id: 'tier_free_001' }).expect(200)).body;
      const team = (await create({ user_id: member, plan_id: 'tier_team_001', seats: 2, organization_id: org }).expect(200)).body;
      const byOrg = await request(t.baseUrl).get(`${API}/subscriptions?organization_id=${org}`).set(INTERNAL).expect(200);
      expect(byOrg.body.map((s: { subscription_id: string }) => s.subscription_id)).toEqual([team.subscription_id]);
      const mine = await request(t.baseUrl).get(`${API}/subscriptions/user/${member}`).set(asUser(member)).expect(200);
      const one = async (id: string): Promise<unknown> =>
        (await request(t.baseUrl).get(`${API}/subscriptions/${id}`).set(INTERNAL).expect(200)).body;
      expect(mine.body).toEqual([await one(team.subscription_id), await one(personal.subscription_id)]);
      expect(byOrg.body[0]).toEqual(await one(team.subscription_id));
    });
  });

  describe('status transitions (the SPEC table)', () => {
    const pairs = SUBSCRIPTION_STATUSES.flatMap((from) =>
      SUBSCRIPTION_STATUSES.map((to) => [from, to, TRANSITIONS[from].includes(to)] as const),
    );

    it.each(pairs)('PUT status %s → %s should be legal=%s', async (from, to, legal) => {
      const user = newUser();
      const s = (await create({ user_id: user, plan_id: 'tier_pro_001' }).expect(200)).body;
      await db.query(`UPDATE subscriptions SET status = $2 WHERE subscription_id = $1`, [s.subscription_id, from]);
      const res = await request(t.baseUrl)
        .put(`${API}/subscriptions/${s.subscription_id}/status`)
        .set(INTERNAL)
        .send({ status: to, reason: 'table test' });
      if (legal) {
        expect(res.status).toBe(200);
        expect(res.body.status).toBe(to);
        const changed = await db.outbox('subscription.status_changed', s.subscription_id);
        expect(changed.at(-1)?.data).toMatchObject({ old_status: from, new_status: to, reason: 'table test' });
        const extra =
          to === 'active'
            ? 'subscription.activated'
            : to === 'canceled'
              ? 'subscription.canceled'
              : to.includes('expired')
                ? 'subscription.expired'
                : undefined;
        if (extra) expect(await db.outbox(extra, s.subscription_id)).toHaveLength(1);
      } else {
        expect(res.status).toBe(409);
        expect(res.body.error.code).toBe('ILLEGAL_TRANSITION');
        const row = await db.query<{ status: string }>(`SELECT status FROM subscriptions WHERE subscription_id = $1`, [s.subscription_id]);
        expect(row[0].status).toBe(from);
      }
    });

    it('should keep PUT status internal and validate its body', async () => {
      const user = newUser();
      const s = (await create({ user_id: user, plan_id: 'tier_pro_001' }).expect(200)).body;
      await request(t.baseUrl)
        .put(`${API}/subscriptions/${s.subscription_id}/status`)
        .set(asUser(user))
        .send({ status: 'active' })
        .expect(403);
      await request(t.baseUrl).put(`${API}/subscriptions/${s.subscription_id}/status`).set(INTERNAL).send({ status: 'gone' }).expect(400);
      await request(t.baseUrl).put(`${API}/subscriptions/sub_nope/status`).set(INTERNAL).send({ status: 'active' }).expect(404);
    });
  });

  describe('cancel, resume, change plan', () => {
    it('should cancel at period end by default and resume undoes it', async () => {
      const user = newUser();
      const s = (await create({ user_id: user, plan_id: 'tier_free_001' }).expect(200)).body;
      const url = `${API}/subscriptions/${s.subscription_id}`;
      const canceled = (await request(t.baseUrl).post(`${url}/cancel`).set(asUser(user)).send({ reason: 'too_expensive' }).expect(200))
        .body;
      expect(canceled).toMatchObject({
        status: 'active',
        cancel_at_period_end: true,
        cancellation_reason: 'too_expensive',
        next_billing_date: null,
      });
      const resumed = (await request(t.baseUrl).post(`${url}/resume`).set(asUser(user)).send({}).expect(200)).body;
      expect(resumed).toMatchObject({ status: 'active', cancel_at_period_end: false, cancellation_reason: null });
      expect(resumed.next_billing_date).toBe(s.current_period_end);
      expect((await request(t.baseUrl).post(`${url}/resume`).set(asUser(user)).send({}).expect(409)).body.error.code).toBe(
        'ILLEGAL_TRANSITION',
      );
      await request(t.baseUrl).post(`${url}/cancel`).set(asUser('intruder')).send({}).expect(403);
    });

    it('should accept a cancel without any body (at period end) and refuse unknown fields', async () => {
      const user = newUser();
      const s = (await create({ user_id: user, plan_id: 'tier_free_001' }).expect(200)).body;
      const url = `${API}/subscriptions/${s.subscription_id}/cancel`;
      await request(t.baseUrl).post(url).set(asUser(user)).send({ now: true }).expect(400);
      await request(t.baseUrl).post(url).set(asUser(user)).send({ immediate: 'yes' }).expect(400);
      const res = await request(t.baseUrl).post(url).set(asUser(user)).expect(200);
      expect(res.body).toMatchObject({ status: 'active', cancel_at_period_end: true });
    });

    it('should treat an empty body sent as application/json like no body', async () => {
      const user = newUser();
      const s = (await create({ user_id: user, plan_id: 'tier_free_001' }).expect(200)).body;
      const res = await request(t.baseUrl)
        .post(`${API}/subscriptions/${s.subscription_id}/cancel`)
        .set(asUser(user))
        .set('Content-Type', 'application/json')
        .send('')
        .expect(200);
      expect(res.body).toMatchObject({ status: 'active', cancel_at_period_end: true });
    });

    it('should cancel immediately, publish subscription.canceled and refuse canceling again', async () => {
      const user = newUser();
      const s = (await create({ user_id: user, plan_id: 'tier_free_001' }).expect(200)).body;
      const url = `${API}/subscriptions/${s.subscription_id}`;
      const res = (await request(t.baseUrl).post(`${url}/cancel`).set(asUser(user)).send({ immediate: true, reason: 'moving' }).expect(200))
        .body;
      expect(res).toMatchObject({ status: 'canceled', cancellation_reason: 'moving', cancel_at_period_end: false });
      expect(res.canceled_at).not.toBeNull();
      const events = await db.outbox('subscription.canceled', s.subscription_id);
      expect(events[0].data).toMatchObject({ old_status: 'active', new_status: 'canceled', cancellation_reason: 'moving' });
      expect((await request(t.baseUrl).post(`${url}/cancel`).set(asUser(user)).send({ immediate: true }).expect(409)).body.error.code).toBe(
        'ILLEGAL_TRANSITION',
      );
    });

    it('should resume a paused subscription to active', async () => {
      const user = newUser();
      const s = (await create({ user_id: user, plan_id: 'tier_free_001' }).expect(200)).body;
      await request(t.baseUrl).put(`${API}/subscriptions/${s.subscription_id}/status`).set(INTERNAL).send({ status: 'paused' }).expect(200);
      const res = (await request(t.baseUrl).post(`${API}/subscriptions/${s.subscription_id}/resume`).set(asUser(user)).send({}).expect(200))
        .body;
      expect(res.status).toBe('active');
    });

    it('should upgrade immediately (price and plan switch, plan_changed published)', async () => {
      const user = newUser();
      const s = (await create({ user_id: user, plan_id: 'tier_pro_001' }).expect(200)).body;
      const res = (
        await request(t.baseUrl)
          .post(`${API}/subscriptions/${s.subscription_id}/change-plan`)
          .set(asUser(user))
          .send({ plan_id: 'tier_max_001' })
          .expect(200)
      ).body;
      expect(res).toMatchObject({ plan_id: 'tier_max_001', plan_tier: 'max', price: '50', pending_plan_id: null, status: 'trialing' });
      const events = await db.outbox('subscription.plan_changed', s.subscription_id);
      expect(events[0].data).toEqual({
        subscription_id: s.subscription_id,
        user_id: user,
        old_plan_id: 'tier_pro_001',
        new_plan_id: 'tier_max_001',
      });
    });

    it('should schedule a downgrade for the period end without changing the price now', async () => {
      const user = newUser();
      const s = (await create({ user_id: user, plan_id: 'tier_max_001' }).expect(200)).body;
      const url = `${API}/subscriptions/${s.subscription_id}/change-plan`;
      const res = (await request(t.baseUrl).post(url).set(asUser(user)).send({ plan_id: 'tier_pro_001' }).expect(200)).body;
      expect(res).toMatchObject({ plan_id: 'tier_max_001', price: '50', pending_plan_id: 'tier_pro_001' });
      expect(await db.outbox('subscription.plan_changed', s.subscription_id)).toHaveLength(0);
      // asking for the current plan again undoes the scheduled downgrade
      const undone = (await request(t.baseUrl).post(url).set(asUser(user)).send({ plan_id: 'tier_max_001' }).expect(200)).body;
      expect(undone.pending_plan_id).toBeNull();
      expect((await request(t.baseUrl).post(url).set(asUser(user)).send({ plan_id: 'nope' }).expect(404)).body.error.code).toBe(
        'PLAN_NOT_FOUND',
      );
      expect(
        (await request(t.baseUrl).post(url).set(asUser(user)).send({ plan_id: 'tier_enterprise_001' }).expect(403)).body.error.code,
      ).toBe('PLAN_NOT_AVAILABLE');
    });
  });
  // last: a failing account service may open its circuit breaker for a while
  describe('dependency failures', () => {
    it('should ask the account service once for a keyed create it refuses, and replay a keyed create while the service fails', async () => {
      const profile = (user: string) => platform.accounts.callsTo(`/api/v1/accounts/profile/${user}`).length;
      const keyed = (body: Record<string, unknown>, key: string) => create(body, { ...INTERNAL, 'Idempotency-Key': key });
      // an unknown user: 422 after one call, with or without a key (the keyed one had run the checks twice)
      const ghost = `ghost_${Date.now()}`;
      expect((await keyed({ user_id: ghost, plan_id: 'tier_free_001' }, 'dep-ghost').expect(422)).body.error.code).toBe('USER_NOT_FOUND');
      expect(profile(ghost)).toBe(1);
      // a create done with its key replays from the store while the account service fails (nothing is asked again)
      const user = newUser();
      const first = await keyed({ user_id: user, plan_id: 'tier_free_001' }, 'dep-replay').expect(200);
      platform.accounts.failNext(Infinity, 503);
      try {
        const again = await keyed({ user_id: user, plan_id: 'tier_free_001' }, 'dep-replay').expect(200);
        expect([again.headers['idempotent-replayed'], again.body.subscription_id]).toEqual(['true', first.body.subscription_id]);
      } finally {
        platform.accounts.clearFaults();
      }
    });

    it('should answer 503 DEPENDENCY_UNAVAILABLE when the account service fails (fail_closed)', async () => {
      const user = newUser();
      platform.accounts.failNext(Infinity, 503);
      const res = await create({ user_id: user, plan_id: 'tier_free_001' }).expect(503);
      expect(res.body.error.code).toBe('DEPENDENCY_UNAVAILABLE');
      const rows = await db.query(`SELECT count(*)::int AS n FROM subscriptions WHERE user_id = $1`, [user]);
      expect(rows[0].n).toBe(0);
    }, 60_000);

    it('should answer 503 DEPENDENCY_UNAVAILABLE when the organization service fails (fail_closed)', async () => {
      const user = newUser();
      platform.organizations.addOrganization('org_down', [user]);
      platform.organizations.failNext(Infinity, 503);
      const res = await create({ user_id: user, plan_id: 'tier_free_001', organization_id: 'org_down' }).expect(503);
      expect(res.body.error.code).toBe('DEPENDENCY_UNAVAILABLE');
    }, 60_000);

    it('should accept when the account service fails and DEPENDENCY_FAILURE_POLICY=fail_open', async () => {
      const open = await startTestApp({ env: { ...platform.env, DEPENDENCY_FAILURE_POLICY: 'fail_open' }, databaseUrl: t.databaseUrl });
      try {
        platform.accounts.failNext(Infinity, 500);
        const res = await request(open.baseUrl)
          .post(`${API}/subscriptions`)
          .set(INTERNAL)
          .send({ user_id: 'unknown_while_down', plan_id: 'tier_free_001' });
        expect(res.status).toBe(200);
        expect(res.body.status).toBe('active');
      } finally {
        await open.app.close();
      }
    }, 60_000);
  });
});
