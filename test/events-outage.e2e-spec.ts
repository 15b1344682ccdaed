import request from 'supertest';
import { systemContext } from '../src/common/auth/principal.js';
import { managerOf } from '../src/database/transaction.js';
import { UnitOfWork } from '../src/database/unit-of-work.js';
import { EventPublisher } from '../src/events/publishers/event.publisher.js';
import { EventBusConnection } from '../src/events/transport/event-bus.connection.js';
import {
  busClient,
  type Bus,
  eventsEnv,
  eventually,
  OwnNatsServer,
  publishEnvelope,
  readAll,
  RecordingEffects,
  recordingEffects,
} from './support/events.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * NATS outages, with a NATS server of this file's own (started and stopped here): the app starts
 * while nothing listens on NATS_URL, changes committed meanwhile stay in the outbox and are
 * delivered exactly once when NATS comes back; the same after a second outage.
 */
describe('events: NATS unreachable (PostgreSQL + own NATS server)', () => {
  let nats: OwnNatsServer;
  let env: ReturnType<typeof eventsEnv>;
  let t: TestApp;
  const effects = new RecordingEffects();
  let p1Row: Record<string, unknown>;

  const publishCatalogChange = (id: string) =>
    t.app
      .get(UnitOfWork)
      .run((tx) =>
        t.app.get(EventPublisher).publishCatalogChanged(tx, { entity: 'product', id, change: 'updated' }, systemContext(`req-${id}`)),
      );
  const unpublished = async () =>
    (await t.app.get(UnitOfWork).run((tx) => managerOf(tx).query<{ n: number }[]>(`SELECT count(*)::int AS n FROM outbox_events`)))[0].n;
  const idsOnBus = async (bus: Bus) =>
    (await readAll(bus, env.EVENTS_STREAM, `${env.EVENTS_SUBJECT_PREFIX}.>`)).map((m) => m.json().id as string);

  beforeAll(async () => {
    nats = await OwnNatsServer.create();
    env = eventsEnv({ NATS_URL: nats.url });
    t = await startTestApp({ env, ...recordingEffects(effects) }); // nothing listens on NATS_URL yet: start-up must not wait
    effects.publisher = t.app.get(EventPublisher);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await nats?.destroy();
  }, 60_000);

  it('should start and serve while NATS is unreachable, keeping events in the outbox', async () => {
    expect(t.app.get(EventBusConnection).isConnected).toBe(false);
    await request(t.baseUrl).get('/health/live').expect(200);
    const ids = [await publishCatalogChange('p1'), await publishCatalogChange('p2')];
    expect(ids).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 500));
    expect(await unpublished()).toBe(2);
    // kept to simulate, later, a relay that crashed after publishing p1 but before deleting its row
    p1Row = (
      await t.app
        .get(UnitOfWork)
        .run((tx) =>
          managerOf(tx).query<Record<string, unknown>[]>(
            `SELECT id, type, subject, aggregate_id, envelope::text AS envelope, created_at FROM outbox_events WHERE envelope->'data'->>'id' = 'p1'`,
          ),
        )
    )[0];
    const metrics = await request(t.baseUrl).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/product_outbox_backlog 2/);
    expect(metrics.text).toMatch(/product_outbox_oldest_age_seconds (0\.[1-9]|[1-9])/);
    const health = await request(t.baseUrl).get('/health').expect(200);
    expect(health.body.dependencies.nats.status).toBe('unhealthy');
    await request(t.baseUrl).get('/health/ready').expect(200);
    const deps = await request(t.baseUrl).get('/health/dependencies');
    expect(deps.body.details.outbox).toMatchObject({ status: 'up', backlog: 2 });
    // a configured bus that is down is an outage (unlike NATS_URL=off, which is reported disabled)
    expect(deps.status).toBe(503);
    expect(deps.body.error.nats).toMatchObject({ status: 'down' });
  }, 30_000);

  it('should deliver what was committed during the outage exactly once when NATS comes up', async () => {
    await nats.start();
    const bus = await busClient(nats.url);
    try {
      await eventually(unpublished, (n) => n === 0, 20_000);
      expect(await unpublished()).toBe(0);
      const ids = await idsOnBus(bus);
      expect(ids).toHaveLength(2);
      expect(new Set(ids).size).toBe(2);
      const health = await request(t.baseUrl).get('/health').expect(200);
      expect(health.body.dependencies.nats).toMatchObject({ status: 'healthy', detail: expect.stringContaining(env.EVENTS_STREAM) });
    } finally {
      await bus.close();
    }
  }, 30_000);

  it('should catch up after a second outage, and a relay retry of a sent row never yields a second copy', async () => {
    await nats.stop();
    await eventually(
      () => t.app.get(EventBusConnection).isConnected,
      (c) => !c,
    );
    const during = [];
    for (let i = 0; i < 5; i++) during.push(await publishCatalogChange(`q${i}`));
    expect(await unpublished()).toBe(5);
    // a relay that crashed after publishing but before deleting: the row of p1 is pending again
    await t.app
      .get(UnitOfWork)
      .run((tx) =>
        managerOf(tx).query(
          `INSERT INTO outbox_events (id, type, subject, aggregate_id, envelope, created_at) VALUES ($1, $2, $3, $4, $5::json, $6)`,
          [p1Row.id, p1Row.type, p1Row.subject, p1Row.aggregate_id, p1Row.envelope, p1Row.created_at],
        ),
      );
    expect(await unpublished()).toBe(6);
    await nats.start();
    const bus = await busClient(nats.url);
    try {
      await eventually(unpublished, (n) => n === 0, 20_000);
      const ids = await idsOnBus(bus);
      expect(ids).toHaveLength(7);
      expect(new Set(ids).size).toBe(7);
      expect(ids.slice(2)).toEqual(during);
      // the consumers came back too
      await publishEnvelope(bus, env.EVENTS_SUBJECT_PREFIX, 'payment_service', 'payment.completed', {
        subscription_id: 'sub_after_outage',
      });
      await eventually(
        () => effects.calls.filter((c) => c.arg === 'sub_after_outage'),
        (c) => c.length > 0,
        20_000,
      );
      expect(effects.calls.filter((c) => c.arg === 'sub_after_outage')).toHaveLength(1);
    } finally {
      await bus.close();
    }
  }, 40_000);
});
