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
} from './support/events.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/** Two replicas of the service: one database, one stream, the same durable consumers. */
describe('events: two app instances (PostgreSQL + NATS)', () => {
  const env = eventsEnv();
  const prefix = env.EVENTS_SUBJECT_PREFIX;
  let a: TestApp;
  let b: TestApp;
  let bus: Bus;
  let closedB = false;

  const effects = [new RecordingEffects(), new RecordingEffects()];
  const allCalls = () => effects.flatMap((e) => e.calls);

  beforeAll(async () => {
    bus = await busClient();
    a = await startTestApp({ env, ...recordingEffects(effects[0]) });
    effects[0].publisher = a.app.get(EventPublisher);
    b = await startTestApp({ env, ...recordingEffects(effects[1]), databaseUrl: a.databaseUrl });
    effects[1].publisher = b.app.get(EventPublisher);
    await eventually(
      () => bus.jsm.consumers.info(env.EVENTS_STREAM, 'product_service_payment_completed').catch(() => undefined),
      (c) => c !== undefined,
    );
  }, 60_000);
  afterAll(async () => {
    if (!closedB) await b?.close();
    await a?.close();
    await deleteStream(bus.jsm, env.EVENTS_STREAM);
    await bus?.close();
  }, 60_000);

  it('should handle each event once across both instances sharing one durable consumer', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `sub_r${i}`);
    await Promise.all(ids.map((s) => publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', { subscription_id: s })));
    await eventually(
      () => allCalls().length,
      (n) => n >= ids.length,
    );
    const handled = allCalls().map((c) => c.arg);
    expect(handled.sort()).toEqual([...ids].sort());
    const consumers = await bus.jsm.consumers.list(env.EVENTS_STREAM).next();
    expect(consumers.filter((c) => c.name.startsWith('product_service_payment_completed'))).toHaveLength(1);
  }, 30_000);

  it('should relay events written by both instances exactly once, in commit order per subscription', async () => {
    const write = (t: TestApp, sub: string, n: number) =>
      t.app.get(UnitOfWork).run((tx) =>
        t.app.get(EventPublisher).publishSubscriptionRenewed(
          tx,
          {
            subscription_id: sub,
            user_id: 'u',
            plan_id: 'pro',
            price: `${n}.00`,
            currency: 'USD',
            current_period_start: '2026-11-27T10:00:00.000Z',
            current_period_end: '2026-12-27T10:00:00.000Z',
          },
          systemContext('r'),
        ),
      );
    // one subscription written alternately by both replicas (in sequence, as its row lock would force)
    const expected: string[] = [];
    for (let n = 1; n <= 20; n++) expected.push(await write(n % 2 ? a : b, 'sub_ordered', n));
    const subject = `${prefix}.product_service.subscription.renewed`;
    const messages = await eventually(
      () => readAll(bus, env.EVENTS_STREAM, subject),
      (m) => m.length >= 20,
    );
    await new Promise((r) => setTimeout(r, 500)); // a late duplicate would show up here
    const again = await readAll(bus, env.EVENTS_STREAM, subject);
    expect(again.map((m) => m.json().id)).toEqual(expected);
    expect(messages.map((m) => m.json().data.price)).toEqual(Array.from({ length: 20 }, (_, i) => `${i + 1}.00`));
  }, 30_000);

  it('should finish in-flight work and hand pending messages to the other instance when one shuts down', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `sub_s${i}`);
    await Promise.all(ids.map((s) => publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', { subscription_id: s })));
    await b.close();
    closedB = true;
    const shutdownCalls = () => allCalls().filter((c) => c.arg.startsWith('sub_s'));
    await eventually(shutdownCalls, (calls) => calls.length >= ids.length, 20_000);
    await new Promise((r) => setTimeout(r, 300)); // a second handling would show up here
    const handled = shutdownCalls().map((c) => c.arg);
    expect(handled.sort()).toEqual([...ids].sort());
  }, 60_000);
});
