import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { managerOf } from '../src/database/transaction.js';
import { UnitOfWork } from '../src/database/unit-of-work.js';
import { busClient, type Bus, deleteStream, eventsEnv, eventually, readAll } from './support/events.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/**
 * An outbox event the bus can never take (larger than the NATS server's max_payload) must not stop
 * the queue: the relay parks it in outbox_parked_events (metric, gauge, error log) and publishes
 * everything after it, each once; before, it was retried for ever, every event behind it waited,
 * and the acknowledged events of its wave were published again on every pass. And the API keeps
 * such events from being written: the free-form objects that travel in events are limited to 64 KiB.
 */
describe('outbox relay: an event too large for the bus is parked, the queue goes on (PostgreSQL + NATS)', () => {
  const env = eventsEnv();
  const prefix = env.EVENTS_SUBJECT_PREFIX;
  let t: TestApp;
  let bus: Bus;
  const sql = <T>(text: string, params: unknown[] = []) => t.app.get(UnitOfWork).run((tx) => managerOf(tx).query<T>(text, params));

  beforeAll(async () => {
    bus = await busClient();
    t = await startTestApp({ env });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await deleteStream(bus.jsm, env.EVENTS_STREAM);
    await bus?.close();
  }, 60_000);

  const insert = async (aggregate: string, data: Record<string, unknown>, subject?: string) => {
    const id = randomUUID();
    const type = 'subscription.status_changed';
    const envelope = {
      id,
      type,
      source: 'product_service',
      subject: null,
      timestamp: new Date().toISOString(),
      data,
      metadata: {},
      version: '1.0.0',
    };
    await sql(
      `INSERT INTO outbox_events (id, type, subject, aggregate_id, envelope, created_at) VALUES ($1, $2, $3, $4, $5::json, now())`,
      [id, type, subject ?? `${prefix}.product_service.${type}`, aggregate, JSON.stringify(envelope)],
    );
    return id;
  };

  it('should park the event above max_payload and publish the others once, its aggregate’s later event included', async () => {
    const maxPayload = bus.nc.info!.max_payload;
    // three commits in a row: the huge event, a later event of the same aggregate, another aggregate's event
    const huge = await insert('sub_parked', { subscription_id: 'sub_parked', pad: 'x'.repeat(maxPayload) });
    const later = await insert('sub_parked', { subscription_id: 'sub_parked', step: 2 });
    const other = await insert('sub_other', { subscription_id: 'sub_other', step: 1 });

    await eventually(
      () => sql<{ n: number }[]>(`SELECT count(*)::int AS n FROM outbox_events`),
      (r) => r[0].n === 0,
    );
    const parked = await sql<{ id: string; type: string; aggregate_id: string; attempts: number; reason: string; bytes: number }[]>(
      `SELECT id::text, type, aggregate_id, attempts, reason, octet_length(envelope::text) AS bytes FROM outbox_parked_events`,
    );
    expect(parked).toEqual([
      {
        id: huge,
        type: 'subscription.status_changed',
        aggregate_id: 'sub_parked',
        attempts: 1,
        reason: expect.stringMatching(/max_payload/),
        bytes: expect.any(Number),
      },
    ]);
    expect(parked[0].bytes).toBeGreaterThan(maxPayload);

    const stored = await readAll(bus, env.EVENTS_STREAM, `${prefix}.product_service.subscription.status_changed`);
    // each once (waves: the other aggregate's event may go first; per aggregate, commit order)
    expect(stored.map((m) => m.headers['Nats-Msg-Id']).sort()).toEqual([later, other].sort());

    const metrics = (await request(t.baseUrl).get('/metrics').expect(200)).text;
    expect(metrics).toContain('product_outbox_parked_events 1');
    expect(metrics).toContain('product_events_parked_total{type="subscription.status_changed"} 1');
    expect(metrics).toContain('product_events_published_total{type="subscription.status_changed"} 2');
  }, 30_000);

  it('should refuse metadata and usage_details above 64 KiB as JSON with a 400 naming the field, writing nothing', async () => {
    const big = { notes: 'x'.repeat(70_000) };
    const sub = await request(t.baseUrl)
      .post(`${API}/subscriptions`)
      .set(INTERNAL)
      .send({ user_id: 'u_big', plan_id: 'pro', metadata: big })
      .expect(400);
    expect(sub.body.error.details).toEqual([{ field: 'metadata', message: 'metadata must be at most 64 KiB as JSON' }]);
    const usage = await request(t.baseUrl)
      .post(`${API}/usage/record`)
      .set(INTERNAL)
      .send({ user_id: 'u_big', product_id: 'gpt-4', usage_amount: 1, usage_details: big })
      .expect(400);
    expect(usage.body.error.details).toEqual([{ field: 'usage_details', message: 'usage_details must be at most 64 KiB as JSON' }]);
    const batch = await request(t.baseUrl)
      .post(`${API}/usage/records/batch`)
      .set(INTERNAL)
      .send({
        records: [
          { user_id: 'u_big', product_id: 'gpt-4', usage_amount: 1 },
          { user_id: 'u_big', product_id: 'gpt-4', usage_amount: 1, usage_details: big },
        ],
      })
      .expect(400);
    expect(batch.body.error.details.map((d: { field: string }) => d.field)).toEqual(['records[1].usage_details']);
    const [rows] = await sql<{ subs: number; usage: number; outbox: number }[]>(
      `SELECT (SELECT count(*)::int FROM subscriptions WHERE user_id = 'u_big') AS subs,
              (SELECT count(*)::int FROM usage_records WHERE user_id = 'u_big') AS usage,
              (SELECT count(*)::int FROM outbox_events) AS outbox`,
    );
    expect(rows).toEqual({ subs: 0, usage: 0, outbox: 0 });
    // just under the limit is fine
    const fits = { notes: 'x'.repeat(65_536 - '{"notes":""}'.length) };
    await request(t.baseUrl)
      .post(`${API}/usage/record`)
      .set(INTERNAL)
      .send({ user_id: 'u_fits', product_id: 'gpt-4', usage_amount: 1, usage_details: fits })
      .expect(200);
    const events = await eventually(
      () => readAll(bus, env.EVENTS_STREAM, `${prefix}.product_service.product.usage.recorded`),
      (m) => m.length === 1,
    );
    expect(events[0].json().data.usage_details).toEqual(fits);
  }, 30_000);

  it('should delete every acknowledged event of a wave, also those after one that failed (it alone stays and is retried)', async () => {
    // no stream takes this subject: an ordinary failure ("no responders"), retried on every pass
    const stuck = await insert(
      'sub_stuck',
      { subscription_id: 'sub_stuck' },
      `nostream_${prefix}.product_service.subscription.status_changed`,
    );
    const behind = await insert('sub_behind', { subscription_id: 'sub_behind' });
    const left = await eventually(
      () => sql<{ id: string; attempts: number; last_error: string | null }[]>(`SELECT id::text, attempts, last_error FROM outbox_events`),
      (r) => r.length === 1 && r[0].attempts >= 2,
    );
    expect(left).toEqual([{ id: stuck, attempts: expect.any(Number), last_error: expect.stringMatching(/503|no responders/) }]);
    const stored = await readAll(bus, env.EVENTS_STREAM, `${prefix}.product_service.subscription.status_changed`);
    expect(stored.filter((m) => m.headers['Nats-Msg-Id'] === behind)).toHaveLength(1);
    await sql(`DELETE FROM outbox_events WHERE id = $1`, [stuck]);
  }, 30_000);
});
