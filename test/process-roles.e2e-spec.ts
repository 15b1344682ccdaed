import request from 'supertest';
import { EventGroups } from '../src/events/handlers/event-groups.js';
import { busClient, type Bus, deleteStream, eventsEnv, eventually, publishEnvelope, readAll, waitForConsumers } from './support/events.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/**
 * PROCESS_ROLE: an `api` process and a `worker` process on one database and one stream (the split
 * Deployment of docs/operations.md). The API answers HTTP and neither relays nor consumes; its
 * commits wake the worker's relay by NOTIFY (the poll is set to a minute, so only the NOTIFY can
 * explain a prompt delivery); the worker relays and consumes.
 */
describe('process roles: api + worker (PostgreSQL + NATS)', () => {
  const env = eventsEnv({ OUTBOX_POLL_MS: '60s' });
  const prefix = env.EVENTS_SUBJECT_PREFIX;
  let bus: Bus;
  let worker: TestApp;
  let api: TestApp;

  beforeAll(async () => {
    bus = await busClient();
    worker = await startTestApp({ env: { ...env, PROCESS_ROLE: 'worker' } });
    api = await startTestApp({ env: { ...env, PROCESS_ROLE: 'api' }, databaseUrl: worker.databaseUrl });
    await waitForConsumers(bus, env.EVENTS_STREAM);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await deleteStream(bus.jsm, env.EVENTS_STREAM);
    await bus?.close();
  }, 60_000);

  it("should relay the API's commits from the worker, woken at once by NOTIFY", async () => {
    for (let i = 0; i < 20; i++) {
      await request(api.baseUrl)
        .post(`${API}/usage/record`)
        .set(INTERNAL)
        .send({ user_id: 'user_roles', product_id: 'gpt-4o', usage_amount: 10, request_id: `roles-${i}` })
        .expect(200);
    }
    const events = await eventually(
      () => readAll(bus, env.EVENTS_STREAM, `${prefix}.product_service.product.usage.recorded`),
      (m) => m.length >= 20,
      30_000, // half the worker's poll interval: only the NOTIFY can wake it in time
    );
    expect(events.map((m) => m.json().data.request_id).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `roles-${i}`).sort());
    const apiMetrics = (await request(api.baseUrl).get('/metrics').expect(200)).text;
    const workerMetrics = (await request(worker.baseUrl).get('/metrics').expect(200)).text;
    expect(apiMetrics).not.toMatch(/product_events_published_total\{type="product.usage.recorded"\}/);
    expect(workerMetrics).toMatch(/product_events_published_total\{type="product.usage.recorded"\} 20/);
  }, 60_000);

  it('should consume events on the worker only', async () => {
    await publishEnvelope(bus, prefix, 'account_service', 'user.deleted', { user_id: 'user_nobody' });
    await eventually(
      () => worker.app.get(EventGroups).stats.items,
      (n) => n >= 1,
    );
    expect(api.app.get(EventGroups).stats.items).toBe(0);
  }, 30_000);

  it('should keep answering health on both, with the event bus connected on the API too', async () => {
    const health = (await request(api.baseUrl).get('/health').expect(200)).body;
    expect(health.dependencies.nats.status).toBe('healthy');
    await request(worker.baseUrl).get('/health/ready').expect(200);
  });
});
