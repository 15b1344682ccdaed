import request from 'supertest';
import { systemContext } from '../src/common/auth/principal.js';
import { managerOf } from '../src/database/transaction.js';
import { UnitOfWork } from '../src/database/unit-of-work.js';
import { EventPublisher } from '../src/events/publishers/event.publisher.js';
import { busClient, type Bus, deleteStream, eventsEnv, eventually, readAll } from './support/events.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

const created = {
  subscription_id: 'sub_1',
  user_id: 'user_1',
  organization_id: null,
  plan_id: 'pro',
  plan_tier: 'pro',
  billing_cycle: 'monthly',
  status: 'trialing',
  seats: 2,
  price: '58.00',
  currency: 'USD',
  current_period_start: '2026-11-27T10:00:00.000Z',
  current_period_end: '2026-12-27T10:00:00.000Z',
  trial_end: '2026-12-11T10:00:00.000Z',
  metadata: { team: 'a' },
};
const statusChange = (new_status: string) => ({
  subscription_id: 'sub_1',
  user_id: 'user_1',
  organization_id: 'org_1',
  plan_id: 'pro',
  plan_tier: 'pro',
  old_status: 'trialing',
  new_status,
  reason: 'because',
  metadata: {},
});
const usage = {
  usage_record_id: '0b9c1c9e-3d0b-4c38-9d8e-5f6f0f5f8a11',
  user_id: 'user_1',
  organization_id: null,
  subscription_id: 'sub_1',
  product_id: 'minio_storage',
  usage_amount: '2147483648',
  unit_price: '0.000000000023',
  total_cost: '0.024696061952',
  currency: 'USD',
  is_free_tier: false,
  session_id: null,
  request_id: 'r-1',
  usage_details: { bucket: 'b' },
  usage_timestamp: '2026-11-27T10:00:00.000Z',
};

describe('events: every published type lands on JetStream (PostgreSQL + NATS)', () => {
  const env = eventsEnv();
  const prefix = env.EVENTS_SUBJECT_PREFIX;
  let t: TestApp;
  let bus: Bus;

  beforeAll(async () => {
    bus = await busClient();
    t = await startTestApp({ env });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await deleteStream(bus.jsm, env.EVENTS_STREAM);
    await bus?.close();
  }, 60_000);

  it('should create the stream with subjects <prefix>.> and a 2-minute duplicate window', async () => {
    const info = await eventually(
      () => bus.jsm.streams.info(env.EVENTS_STREAM).catch(() => undefined),
      (i) => i !== undefined,
    );
    expect(info?.config.subjects).toEqual([`${prefix}.>`]);
    expect(info?.config.duplicate_window).toBe(120_000_000_000);
  }, 30_000);

  it('should publish every event type with its exact envelope, subject and Nats-Msg-Id', async () => {
    const publisher = t.app.get(EventPublisher);
    const ctx = { ...systemContext('req-abc'), principal: { kind: 'internal' as const } };
    await t.app.get(UnitOfWork).run(async (tx) => {
      await publisher.publishSubscriptionCreated(tx, created, ctx);
      await publisher.publishSubscriptionStatusChanged(tx, statusChange('active'), ctx);
      await publisher.publishSubscriptionStatusChanged(tx, { ...statusChange('canceled'), cancellation_reason: 'user_deleted' }, ctx);
      await publisher.publishSubscriptionStatusChanged(
        tx,
        { ...statusChange('expired'), expiration_date: '2026-12-27T10:00:00.000Z' },
        ctx,
      );
      await publisher.publishSubscriptionRenewed(
        tx,
        {
          subscription_id: 'sub_1',
          user_id: 'user_1',
          plan_id: 'pro',
          price: '29.00',
          currency: 'USD',
          current_period_start: '2026-12-27T10:00:00.000Z',
          current_period_end: '2027-01-27T10:00:00.000Z',
        },
        ctx,
      );
      await publisher.publishSubscriptionPlanChanged(
        tx,
        { subscription_id: 'sub_1', user_id: 'user_1', old_plan_id: 'basic', new_plan_id: 'pro' },
        ctx,
      );
      await publisher.publishProductUsageRecorded(tx, usage, ctx);
      await publisher.publishCatalogChanged(tx, { entity: 'product', id: 'minio_storage', change: 'updated' }, ctx);
    });

    const messages = await eventually(
      () => readAll(bus, env.EVENTS_STREAM, `${prefix}.>`),
      (m) => m.length >= 11,
    );
    // the order SPEC promises is per aggregate (here: subscription sub_1, in commit order); events of other
    // aggregates may come earlier (the relay publishes an aggregate's k-th event of a batch in wave k)
    const subjects = messages.map((m) => m.subject);
    const ofSubscription = subjects.filter((subject) => subject.includes('.subscription.'));
    const subscriptionTypes = [
      'subscription.created',
      'subscription.status_changed',
      'subscription.activated',
      'subscription.status_changed',
      'subscription.canceled',
      'subscription.status_changed',
      'subscription.expired',
      'subscription.renewed',
      'subscription.plan_changed',
    ];
    const subjectOf = (type: string) => `${prefix}.product_service.${type}`;
    expect(ofSubscription).toEqual(subscriptionTypes.map(subjectOf));
    expect([...subjects].sort()).toEqual([...subscriptionTypes, 'product.usage.recorded', 'product.catalog.changed'].map(subjectOf).sort());
    for (const m of messages) {
      const e = m.json();
      expect(Object.keys(e)).toEqual(['id', 'type', 'source', 'subject', 'timestamp', 'data', 'metadata', 'version']);
      expect(e.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(m.headers['Nats-Msg-Id']).toBe(e.id);
      expect(m.subject).toBe(`${prefix}.product_service.${e.type}`);
      expect(e.source).toBe('product_service');
      expect(e.subject).toBeNull();
      expect(e.version).toBe('1.0.0');
      expect(e.metadata).toEqual({ request_id: 'req-abc' });
      expect(new Date(e.timestamp).toISOString()).toBe(e.timestamp);
    }
    const data = (type: string) => messages.map((m) => m.json()).find((e) => e.type === type)?.data;
    expect(data('subscription.created')).toEqual(created);
    expect(Object.keys(data('subscription.created'))).toEqual(Object.keys(created));
    // subscription.activated carries plan_tier (SPEC section 7); status_changed, canceled and expired do not
    expect(data('subscription.activated')).toEqual(statusChange('active'));
    const { plan_tier: _tier, ...withoutTier } = statusChange('canceled');
    expect(data('subscription.status_changed')).toEqual({ ...withoutTier, new_status: 'active' });
    expect(data('subscription.canceled')).toEqual({ ...withoutTier, cancellation_reason: 'user_deleted' });
    expect(data('subscription.expired')).toEqual({
      ...withoutTier,
      new_status: 'expired',
      expiration_date: '2026-12-27T10:00:00.000Z',
    });
    expect(data('product.usage.recorded')).toEqual(usage);
    expect(data('product.catalog.changed')).toEqual({ entity: 'product', id: 'minio_storage', change: 'updated' });
  }, 30_000);

  it('should delete relayed rows once JetStream acknowledged them and count them in the metrics', async () => {
    const rows = await eventually(
      () => t.app.get(UnitOfWork).run((tx) => managerOf(tx).query(`SELECT count(*)::int AS n FROM outbox_events`)),
      (r: { n: number }[]) => r[0].n === 0,
    );
    expect(rows[0].n).toBe(0);
    const metrics = await request(t.baseUrl).get('/metrics').expect(200);
    expect(metrics.text).toContain('product_events_published_total{type="subscription.created"} 1');
    expect(metrics.text).toContain('product_events_published_total{type="subscription.status_changed"} 3');
    expect(metrics.text).toMatch(/product_outbox_backlog 0/);
    expect(metrics.text).toMatch(/product_outbox_oldest_age_seconds 0/);
  }, 30_000);

  it('should carry the causing request id from a real catalog write to its event on NATS', async () => {
    await request(t.baseUrl)
      .post(`${API}/categories`)
      .set(INTERNAL)
      .set('X-Request-Id', 'req-catalog-42')
      .send({ category_id: 'cat_events_test', name: 'Events test' })
      .expect((res) => expect(res.status).toBeLessThan(300));
    const messages = await eventually(
      () => readAll(bus, env.EVENTS_STREAM, `${prefix}.product_service.product.catalog.changed`),
      (m) => m.some((x) => x.json().data.id === 'cat_events_test'),
    );
    const event = messages.find((x) => x.json().data.id === 'cat_events_test')!.json();
    expect(event.data).toEqual({ entity: 'category', id: 'cat_events_test', change: 'created' });
    expect(event.metadata).toEqual({ request_id: 'req-catalog-42' });
  }, 30_000);

  it('should refuse an event whose data breaks its contract, writing nothing', async () => {
    const publisher = t.app.get(EventPublisher);
    await expect(
      t.app
        .get(UnitOfWork)
        .run((tx) => publisher.publishSubscriptionCreated(tx, { ...created, price: 12.5 as unknown as string }, systemContext('r'))),
    ).rejects.toThrow(/price/);
  }, 30_000);
});
