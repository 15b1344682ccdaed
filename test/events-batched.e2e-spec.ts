import pg from 'pg';
import request from 'supertest';
import { EventGroups } from '../src/events/handlers/event-groups.js';
import { createTestDatabase } from './support/database.js';
import { busClient, type Bus, deleteStream, eventsEnv, eventually, publishEnvelope, readAll, waitForConsumers } from './support/events.js';
import { startFakePlatform } from './support/fake-platform.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/**
 * Consumed events applied in groups, against the real PostgreSQL and NATS: a backlog builds up
 * while the service is stopped (its durable consumers stay on the server), then a fresh start
 * pulls it in fetches of EVENTS_CONSUMER_BATCH and applies each fetch in group transactions.
 * Duplicated ids, repeated payments for one subscription, an unknown subscription, malformed data
 * and an injected database failure sit in the same backlog; every effect must happen exactly once.
 */
describe('events: batched consumers (PostgreSQL + NATS)', () => {
  const env = eventsEnv({ EVENTS_MAX_DELIVER: '5', EVENTS_CONSUMER_BATCH: '64' });
  const prefix = env.EVENTS_SUBJECT_PREFIX;
  let bus: Bus;
  let platform: Awaited<ReturnType<typeof startFakePlatform>>;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: pg.Client;
  let t: TestApp | undefined;

  const start = async () => {
    t = await startTestApp({ env: { ...env, ...platform.env }, databaseUrl: database.url });
    await waitForConsumers(bus, env.EVENTS_STREAM, 'product_service_payment_completed');
    return t;
  };

  beforeAll(async () => {
    bus = await busClient();
    platform = await startFakePlatform();
    database = await createTestDatabase();
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await t?.close();
    await database?.drop();
    await platform?.stop();
    await deleteStream(bus.jsm, env.EVENTS_STREAM);
    await bus?.close();
  }, 60_000);

  it('should apply a backlog in groups: each subscription activated once, duplicates and repeats doing nothing, a failing group split', async () => {
    const app = await start();
    const subs: string[] = [];
    for (let i = 0; i < 120; i++) {
      const user = `user_batch_${i}`;
      platform.accounts.addUser(user);
      const res = await request(app.baseUrl)
        .post(`${API}/subscriptions`)
        .set(INTERNAL)
        .send({ user_id: user, plan_id: 'tier_pro_001', trial: false })
        .expect(200);
      expect(res.body.status).toBe('incomplete');
      subs.push(res.body.subscription_id as string);
    }
    await app.close(); // drops nothing: the database is this test's own
    t = undefined;

    db = new pg.Client({ connectionString: database.url });
    await db.connect();
    // one event's inbox insert fails twice: its group rolls back and is split, then that event
    // alone fails once more (nak, redelivered) and the others commit
    await db.query(`CREATE SEQUENCE test_fault_seq`);
    await db.query(`
      CREATE FUNCTION test_inbox_fault() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.event_id = 'evt-faulty' AND nextval('test_fault_seq') <= 2 THEN
          RAISE EXCEPTION 'injected database failure for %', NEW.event_id;
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER test_inbox_fault BEFORE INSERT ON inbox_events FOR EACH ROW EXECUTE FUNCTION test_inbox_fault()`);

    const payment = (subscriptionId: unknown, id?: string) =>
      publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', { metadata: { subscription_id: subscriptionId } }, { id });
    const ids = new Set<string>();
    for (const [i, sub] of subs.entries()) {
      const { id } = await payment(sub, i === 60 ? 'evt-faulty' : undefined);
      ids.add(id);
      if (i % 10 === 0) await payment(sub, id); // the same event twice (a redelivery, a retried publish)
      if (i % 15 === 0) ids.add((await payment(sub)).id); // a second payment for a subscription already paid
    }
    ids.add((await payment('sub_nobody_has')).id);
    const malformed = await payment(42); // fails its own validation, dead-lettered alone

    const second = await start();
    const groups = second.app.get(EventGroups);
    const statuses = async () =>
      (await db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM subscriptions GROUP BY status`)).rows;
    expect(await eventually(statuses, (rows) => rows.length === 1 && rows[0].status === 'active', 30_000)).toEqual([
      { status: 'active', n: 120 },
    ]);
    // every distinct id claimed once (the malformed one never reaches the inbox)
    const inbox = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox_events`)).rows[0].n;
    expect(await eventually(inbox, (n) => n === ids.size)).toBe(ids.size);
    expect((await db.query(`SELECT 1 FROM inbox_events WHERE event_id = $1`, [malformed.id])).rowCount).toBe(0);

    // exactly one activation per subscription on the stream, correlated to its payment
    const activated = await eventually(
      async () => readAll(bus, env.EVENTS_STREAM, `${prefix}.product_service.subscription.activated`),
      (m) => m.length >= 120,
    );
    expect(activated).toHaveLength(120);
    expect(new Set(activated.map((m) => m.json().data.subscription_id as string))).toEqual(new Set(subs));
    for (const m of activated) expect(ids.has(m.json().metadata.correlation_id as string)).toBe(true);

    // batched: groups of many events; the failing group was split and each of its events committed alone
    expect(groups.stats.largest).toBeGreaterThan(1);
    expect(groups.stats.groups).toBeLessThan(groups.stats.items);
    expect(groups.stats.splits).toBeGreaterThanOrEqual(1);
    const metrics = (await request(second.baseUrl).get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/product_events_failed_total\{type="payment.completed"\} [2-9]/); // the faulty one once, the malformed one
    expect(metrics).toContain('product_events_dead_lettered_total{type="payment.completed"} 1');
  }, 120_000);
});
