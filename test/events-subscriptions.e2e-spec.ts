import pg from 'pg';
import request from 'supertest';
import { busClient, type Bus, deleteStream, eventsEnv, eventually, publishEnvelope, readAll, waitForConsumers } from './support/events.js';
import { startFakePlatform } from './support/fake-platform.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

type Platform = Awaited<ReturnType<typeof startFakePlatform>>;

/**
 * Consumed events end to end with the real subscriptions service behind SubscriptionEffects:
 * PostgreSQL, NATS, the fake account service. Failures are injected in the database itself (a
 * trigger on the inbox), so the handler's whole transaction really rolls back.
 */
describe('events: consumed events change real subscriptions (PostgreSQL + NATS)', () => {
  const env = eventsEnv({ EVENTS_MAX_DELIVER: '3' });
  const prefix = env.EVENTS_SUBJECT_PREFIX;
  let t: TestApp;
  let bus: Bus;
  let platform: Platform;
  let db: pg.Client;
  let n = 0;

  const newUser = (): string => {
    const id = `user_ev_${++n}`;
    platform.accounts.addUser(id);
    return id;
  };
  /** a paid subscription without trial: `incomplete` until a payment arrives */
  const incomplete = async (user: string): Promise<string> => {
    const res = await request(t.baseUrl)
      .post(`${API}/subscriptions`)
      .set(INTERNAL)
      .send({ user_id: user, plan_id: 'tier_pro_001', trial: false })
      .expect(200);
    expect(res.body.status).toBe('incomplete');
    return res.body.subscription_id as string;
  };
  const status = async (id: string): Promise<string> =>
    (await request(t.baseUrl).get(`${API}/subscriptions/${id}`).set(INTERNAL).expect(200)).body.status as string;
  const statusEvents = async (subscriptionId: string) =>
    (await readAll(bus, env.EVENTS_STREAM, `${prefix}.product_service.subscription.*`))
      .map((m) => ({ subject: m.subject, e: m.json() }))
      .filter((x) => x.e.data.subscription_id === subscriptionId && x.e.type !== 'subscription.created');
  const pendingOn = async (durable: string) => {
    const info = await bus.jsm.consumers.info(env.EVENTS_STREAM, durable);
    return info.num_pending + info.num_ack_pending;
  };

  beforeAll(async () => {
    bus = await busClient();
    platform = await startFakePlatform();
    t = await startTestApp({ env: { ...env, ...platform.env, EVENTS_WAIT_OUT_OUTAGES: 'true' } });
    await waitForConsumers(bus, env.EVENTS_STREAM);
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    // failure injection: an inbox insert fails for the listed events, `times` times (a sequence is not transactional)
    // (`sqlstate`: 57P03 "cannot connect now" is the database being unavailable, P0001 a plain error)
    await db.query(
      `CREATE TABLE test_inbox_faults (event_id text PRIMARY KEY, times int NOT NULL, sqlstate text NOT NULL DEFAULT 'P0001')`,
    );
    await db.query(`CREATE SEQUENCE test_inbox_fault_seq`);
    await db.query(`
      CREATE FUNCTION test_inbox_fault() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE allowed int; state text;
      BEGIN
        SELECT times, sqlstate INTO allowed, state FROM test_inbox_faults WHERE event_id = NEW.event_id;
        IF allowed IS NOT NULL AND nextval('test_inbox_fault_seq') <= allowed THEN
          RAISE EXCEPTION 'injected database failure for %', NEW.event_id USING ERRCODE = state;
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER test_inbox_fault BEFORE INSERT ON inbox_events FOR EACH ROW EXECUTE FUNCTION test_inbox_fault()`);
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await t?.close();
    await platform?.stop();
    await deleteStream(bus.jsm, env.EVENTS_STREAM);
    await bus?.close();
  }, 60_000);

  it("should activate an incomplete subscription from the payment service's real payload, with request and correlation ids on the resulting events", async () => {
    const user = newUser();
    const sub = await incomplete(user);
    const { id } = await publishEnvelope(
      bus,
      prefix,
      'payment_service',
      'payment.completed',
      {
        payment_intent_id: 'pi_9',
        payment_id: 'pay_9',
        user_id: user,
        amount: 20,
        currency: 'USD',
        payment_method: 'card',
        metadata: { subscription_id: sub },
      },
      { metadata: { request_id: 'req-checkout-9' } },
    );
    expect(
      await eventually(
        () => status(sub),
        (s) => s === 'active',
      ),
    ).toBe('active');
    const events = await eventually(
      () => statusEvents(sub),
      (e) => e.length >= 2,
    );
    expect(events.map((x) => x.e.type)).toEqual(['subscription.status_changed', 'subscription.activated']);
    expect(events[0].e.data).toMatchObject({ old_status: 'incomplete', new_status: 'active', user_id: user });
    for (const { e } of events) expect(e.metadata).toEqual({ request_id: 'req-checkout-9', correlation_id: id });
  }, 30_000);

  it('should change the subscription once for 50 copies of one payment event', async () => {
    const sub = await incomplete(newUser());
    const id = 'a3c1d4e5-0000-4000-8000-00000000fifty'.replace('fifty', '0050');
    for (let i = 0; i < 50; i++)
      await publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', { subscription_id: sub }, { id });
    await eventually(
      () => pendingOn('product_service_payment_completed'),
      (p) => p === 0,
    );
    expect(await status(sub)).toBe('active');
    const events = await statusEvents(sub);
    expect(events.map((x) => x.e.type)).toEqual(['subscription.status_changed', 'subscription.activated']);
  }, 30_000);

  it('should put active subscriptions past_due on wallet.insufficient_funds and cancel everything on user.deleted', async () => {
    const user = newUser();
    const sub = await incomplete(user);
    await publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', { subscription_id: sub });
    await eventually(
      () => status(sub),
      (s) => s === 'active',
    );
    await publishEnvelope(bus, prefix, 'wallet_service', 'wallet.insufficient_funds', { user_id: user, required_amount: '20.00' });
    expect(
      await eventually(
        () => status(sub),
        (s) => s === 'past_due',
      ),
    ).toBe('past_due');
    const deleted = await publishEnvelope(bus, prefix, 'account_service', 'user.deleted', { user_id: user });
    expect(
      await eventually(
        () => status(sub),
        (s) => s === 'canceled',
      ),
    ).toBe('canceled');
    const events = await eventually(
      () => statusEvents(sub),
      (e) => e.some((x) => x.e.type === 'subscription.canceled'),
    );
    const pastDue = events.find((x) => x.e.data.new_status === 'past_due')!.e;
    expect(pastDue.data.reason).toBe('insufficient_funds');
    const canceled = events.find((x) => x.e.type === 'subscription.canceled')!.e;
    expect(canceled.data).toMatchObject({ new_status: 'canceled', cancellation_reason: 'user_deleted' });
    expect(canceled.metadata.correlation_id).toBe(deleted.id);
  }, 30_000);

  it('should apply a payment whose unread fields hold what an HTTP body may not (NUL, a lone surrogate, deep nesting), and name a bad field it reads', async () => {
    const user = newUser();
    const sub = await incomplete(user);
    let deep: Record<string, unknown> = { end: true };
    for (let i = 0; i < 40; i++) deep = { deeper: deep };
    await publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', {
      subscription_id: sub,
      description: 'Order\u0000 1 \ud83d cut',
      raw: deep,
    });
    expect(
      await eventually(
        () => status(sub),
        (s) => s === 'active',
      ),
    ).toBe('active');
    const bad = await publishEnvelope(bus, prefix, 'account_service', 'user.deleted', { user_id: 'nul\u0000user' });
    const letters = await eventually(
      () => readAll(bus, env.EVENTS_STREAM, `${prefix}.dlq.product_service.user.deleted`),
      (m) => m.some((x) => x.json().event_id === bad.id),
    );
    expect(letters.find((x) => x.json().event_id === bad.id)!.json().error).toMatch(/user_id/);
  }, 30_000);

  it('should let the newer of a payment and a failed charge decide when they arrive out of order (their consumers are apart)', async () => {
    const at = (minutes: number) => new Date(Date.now() - 60 * 60_000 + minutes * 60_000).toISOString();
    // failed at :00, paid at :05, the payment handled first: the older failure leaves it active
    const paidLast = newUser();
    const a = await incomplete(paidLast);
    await publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', { subscription_id: a }, { timestamp: at(5) });
    await eventually(
      () => status(a),
      (s) => s === 'active',
    );
    await publishEnvelope(bus, prefix, 'wallet_service', 'wallet.insufficient_funds', { user_id: paidLast }, { timestamp: at(0) });
    await eventually(
      () => pendingOn('product_service_wallet_insufficient_funds'),
      (n) => n === 0,
    );
    expect(await status(a)).toBe('active');
    expect((await statusEvents(a)).map((x) => x.e.data.new_status)).toEqual(['active', 'active']); // status_changed + activated only
    // failed at :05 after a payment at :00: past_due, and a payment older than the failure arriving later changes nothing
    const failedLast = newUser();
    const b = await incomplete(failedLast);
    await publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', { subscription_id: b }, { timestamp: at(0) });
    await eventually(
      () => status(b),
      (s) => s === 'active',
    );
    await publishEnvelope(bus, prefix, 'wallet_service', 'wallet.insufficient_funds', { user_id: failedLast }, { timestamp: at(5) });
    await eventually(
      () => status(b),
      (s) => s === 'past_due',
    );
    await publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', { subscription_id: b }, { timestamp: at(1) });
    await eventually(
      () => pendingOn('product_service_payment_completed'),
      (n) => n === 0,
    );
    expect(await status(b)).toBe('past_due');
  }, 30_000);

  it('should acknowledge a payment for an unknown subscription without effect or dead letter', async () => {
    const { seq } = await publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', {
      metadata: { subscription_id: 'sub_does_not_exist' },
    });
    await eventually(
      () => pendingOn('product_service_payment_completed'),
      (p) => p === 0,
    );
    const letters = await readAll(bus, env.EVENTS_STREAM, `${prefix}.dlq.>`);
    expect(letters.filter((m) => m.json().original_stream_seq === seq)).toHaveLength(0);
  }, 30_000);

  it('should retry after a database failure and then apply the event once', async () => {
    const user = newUser();
    const sub = await incomplete(user);
    const id = 'b7e2c6d1-1111-4111-8111-000000000001';
    await db.query(`ALTER SEQUENCE test_inbox_fault_seq RESTART`);
    await db.query(`INSERT INTO test_inbox_faults VALUES ($1, 2)`, [id]);
    await publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', { subscription_id: sub }, { id });
    expect(
      await eventually(
        () => status(sub),
        (s) => s === 'active',
      ),
    ).toBe('active');
    const metrics = await request(t.baseUrl).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/product_events_failed_total\{type="payment.completed"\} [2-9]/);
    expect((await statusEvents(sub)).map((x) => x.e.type)).toEqual(['subscription.status_changed', 'subscription.activated']);
  }, 30_000);

  it('should wait out a database that cannot answer (EVENTS_WAIT_OUT_OUTAGES) for more deliveries than EVENTS_MAX_DELIVER, then apply the event once', async () => {
    const user = newUser();
    const sub = await incomplete(user);
    const id = 'd9a4e8f3-3333-4333-8333-000000000003';
    await db.query(`ALTER SEQUENCE test_inbox_fault_seq RESTART`);
    await db.query(`INSERT INTO test_inbox_faults VALUES ($1, 5, '57P03')`, [id]); // 5 failed deliveries, EVENTS_MAX_DELIVER is 3
    await publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', { subscription_id: sub }, { id });
    expect(
      await eventually(
        () => status(sub),
        (s) => s === 'active',
        25_000,
      ),
    ).toBe('active');
    const letters = await readAll(bus, env.EVENTS_STREAM, `${prefix}.dlq.product_service.payment.completed`);
    expect(letters.filter((x) => x.json().event_id === id)).toHaveLength(0);
    expect((await statusEvents(sub)).map((x) => x.e.type)).toEqual(['subscription.status_changed', 'subscription.activated']);
  }, 40_000);

  it('should dead-letter an event whose handler keeps failing, with the error, and leave the subscription unchanged', async () => {
    const user = newUser();
    const sub = await incomplete(user);
    const id = 'c8f3d7e2-2222-4222-8222-000000000002';
    await db.query(`ALTER SEQUENCE test_inbox_fault_seq RESTART`);
    await db.query(`INSERT INTO test_inbox_faults VALUES ($1, 1000)`, [id]);
    await publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', { subscription_id: sub }, { id });
    const letters = await eventually(
      () => readAll(bus, env.EVENTS_STREAM, `${prefix}.dlq.product_service.payment.completed`),
      (m) => m.some((x) => x.json().event_id === id),
    );
    const letter = letters.find((x) => x.json().event_id === id)!.json();
    expect(letter).toMatchObject({ reason: 'max_deliveries', deliveries: 3 });
    expect(letter.error).toContain('injected database failure');
    expect(await status(sub)).toBe('incomplete');
  }, 30_000);
});
