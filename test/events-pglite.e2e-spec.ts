import { systemContext } from '../src/common/auth/principal.js';
import { UnitOfWork } from '../src/database/unit-of-work.js';
import { EventPublisher } from '../src/events/publishers/event.publisher.js';
import {
  busClient,
  type Bus,
  deleteStream,
  eventsEnv,
  eventually,
  publishEnvelope,
  readAll,
  RecordingEffects,
  recordingEffects,
  waitForConsumers,
} from './support/events.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/** The same outbox and inbox on embedded PGlite (no LISTEN/NOTIFY there: commit signal and short poll). */
describe('events: embedded PGlite + NATS', () => {
  const env = eventsEnv();
  const prefix = env.EVENTS_SUBJECT_PREFIX;
  let t: TestApp;
  let bus: Bus;
  const effects = new RecordingEffects();

  beforeAll(async () => {
    bus = await busClient();
    t = await startTestApp({ env, pglite: true, ...recordingEffects(effects) });
    effects.publisher = t.app.get(EventPublisher);
    await waitForConsumers(bus, env.EVENTS_STREAM);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await deleteStream(bus.jsm, env.EVENTS_STREAM);
    await bus?.close();
  }, 60_000);

  it('should relay committed events from PGlite', async () => {
    const id = await t.app
      .get(UnitOfWork)
      .run((tx) =>
        t.app.get(EventPublisher).publishCatalogChanged(tx, { entity: 'plan', id: 'pro', change: 'created' }, systemContext('req-pg')),
      );
    const messages = await eventually(
      () => readAll(bus, env.EVENTS_STREAM, `${prefix}.product_service.product.catalog.changed`),
      (m) => m.length > 0,
    );
    expect(messages.map((m) => m.json().id)).toEqual([id]);
  }, 30_000);

  it('should apply a consumed event once on PGlite, even when duplicated', async () => {
    const id = 'b5b1f1de-0d0e-4d5e-9a43-3d0c2a1b6e77';
    for (let i = 0; i < 5; i++) await publishEnvelope(bus, prefix, 'account_service', 'user.deleted', { user_id: 'user_pg' }, { id });
    const calls = () => effects.calls.filter((c) => c.arg === 'user_pg');
    await eventually(calls, (c) => c.length > 0);
    await eventually(
      async () => {
        const info = await bus.jsm.consumers.info(env.EVENTS_STREAM, 'product_service_user_deleted');
        return info.num_pending + info.num_ack_pending;
      },
      (n) => n === 0,
    );
    expect(calls()).toHaveLength(1);
  }, 30_000);
});
