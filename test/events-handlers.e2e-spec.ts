import request from 'supertest';
import { managerOf } from '../src/database/transaction.js';
import { UnitOfWork } from '../src/database/unit-of-work.js';
import { InboxRetention } from '../src/events/inbox/inbox-retention.js';
import { EventPublisher } from '../src/events/publishers/event.publisher.js';
import { runDlqCommand } from '../src/events/cli/dlq.js';
import {
  busClient,
  type Bus,
  deleteStream,
  eventsEnv,
  eventually,
  publishEnvelope,
  publishRaw,
  readAll,
  RecordingEffects,
  recordingEffects,
} from './support/events.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * Consumed events through the real JetStream transport, inbox and PostgreSQL. The subscriptions
 * service's SubscriptionEffects is stood in for by RecordingEffects (records calls, writes one real
 * status_changed event per effect through the outbox).
 */
describe('events: consumed events (PostgreSQL + NATS)', () => {
  const env = eventsEnv({ EVENTS_MAX_DELIVER: '3' });
  const prefix = env.EVENTS_SUBJECT_PREFIX;
  let t: TestApp;
  let bus: Bus;
  const effects = new RecordingEffects();

  const callsFor = (arg: string) => effects.calls.filter((c) => c.arg === arg);
  const published = (filter = `${prefix}.product_service.>`) => readAll(bus, env.EVENTS_STREAM, filter);
  const deadLetters = () => readAll(bus, env.EVENTS_STREAM, `${prefix}.dlq.product_service.>`);
  const inboxCount = async (id: string) =>
    (
      await t.app
        .get(UnitOfWork)
        .run((tx) => managerOf(tx).query<{ n: number }[]>(`SELECT count(*)::int AS n FROM inbox_events WHERE event_id = $1`, [id]))
    )[0].n;

  beforeAll(async () => {
    bus = await busClient();
    t = await startTestApp({ env, ...recordingEffects(effects) });
    effects.publisher = t.app.get(EventPublisher);
    // consumers exist once the app has connected
    await eventually(
      () => bus.jsm.consumers.info(env.EVENTS_STREAM, 'product_service_payment_completed').catch(() => undefined),
      (c) => c !== undefined,
    );
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await deleteStream(bus.jsm, env.EVENTS_STREAM);
    await bus?.close();
  }, 60_000);

  it('should create one durable pull consumer per consumed subject', async () => {
    for (const [durable, filter] of [
      ['product_service_payment_completed', `${prefix}.*.payment.completed`],
      ['product_service_wallet_insufficient_funds', `${prefix}.*.wallet.insufficient_funds`],
      ['product_service_user_deleted', `${prefix}.*.user.deleted`],
    ]) {
      const info = await bus.jsm.consumers.info(env.EVENTS_STREAM, durable);
      expect(info.config.filter_subject).toBe(filter);
      expect(info.config.ack_policy).toBe('explicit');
      expect(info.config.deliver_policy).toBe('new');
      expect(info.config.durable_name).toBe(durable);
    }
  }, 30_000);

  it("should activate the subscription named in the payment service's real payload, carrying request and correlation ids", async () => {
    const { id } = await publishEnvelope(
      bus,
      prefix,
      'payment_service',
      'payment.completed',
      {
        payment_intent_id: 'pi_1',
        payment_id: 'pay_1',
        user_id: 'user_pay',
        amount: 29.0,
        currency: 'USD',
        payment_method: 'card',
        metadata: { subscription_id: 'sub_paid' },
      },
      { metadata: { request_id: 'req-from-payment' } },
    );
    await eventually(
      () => callsFor('sub_paid'),
      (c) => c.length > 0,
    );
    expect(callsFor('sub_paid')).toHaveLength(1);
    expect(callsFor('sub_paid')[0].ctx).toMatchObject({ correlationId: id, requestId: 'req-from-payment' });
    const resulting = await eventually(
      () => published(`${prefix}.product_service.subscription.status_changed`),
      (m) => m.some((x) => x.json().data.subscription_id === 'sub_paid'),
    );
    const event = resulting.find((x) => x.json().data.subscription_id === 'sub_paid')!.json();
    expect(event.metadata).toEqual({ request_id: 'req-from-payment', correlation_id: id });
    expect(await inboxCount(id)).toBe(1);
  }, 30_000);

  it('should accept data.subscription_id and bare data without an envelope (id = stream sequence)', async () => {
    await publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', { subscription_id: 'sub_top' });
    const seq = await publishRaw(
      bus,
      `${prefix}.payment_service.payment.completed`,
      JSON.stringify({ payment_id: 'p', metadata: { subscription_id: 'sub_raw' } }),
    );
    await eventually(
      () => callsFor('sub_top').length + callsFor('sub_raw').length,
      (n) => n === 2,
    );
    expect(callsFor('sub_top')).toHaveLength(1);
    expect(callsFor('sub_raw')).toHaveLength(1);
    expect(callsFor('sub_raw')[0].ctx.correlationId).toBe(String(seq));
    // the inbox keeps a bare message's sequence in a namespace of its own: an envelope whose id is
    // that number is another event (it had been dropped as a duplicate of the bare message)
    expect(await inboxCount(`nats-seq:${seq}`)).toBe(1);
    await publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', { subscription_id: 'sub_numeric_id' }, { id: String(seq) });
    await eventually(
      () => callsFor('sub_numeric_id').length,
      (n) => n === 1,
    );
    expect(await inboxCount(String(seq))).toBe(1);
  }, 30_000);

  it('should handle a duplicated event (same id, 50 times) once: one effect, one resulting event', async () => {
    const id = '6f1c3b0e-1d2a-4f5e-8a9b-0c1d2e3f4a5b';
    for (let i = 0; i < 50; i++) {
      await publishEnvelope(
        bus,
        prefix,
        'wallet_service',
        'wallet.insufficient_funds',
        { user_id: 'user_dup', required_amount: '5.00' },
        { id },
      );
    }
    await eventually(
      async () =>
        (await bus.jsm.consumers.info(env.EVENTS_STREAM, 'product_service_wallet_insufficient_funds')).num_ack_pending +
        (await bus.jsm.consumers.info(env.EVENTS_STREAM, 'product_service_wallet_insufficient_funds')).num_pending,
      (n) => n === 0,
    );
    expect(callsFor('user_dup')).toHaveLength(1);
    const resulting = (await published(`${prefix}.product_service.subscription.status_changed`)).filter(
      (m) => m.json().data.user_id === 'user_dup',
    );
    expect(resulting).toHaveLength(1);
    expect(resulting[0].json().metadata.correlation_id).toBe(id);
    expect(await inboxCount(id)).toBe(1);
  }, 30_000);

  it('should prune inbox ids older than INBOX_RETENTION and still ignore a duplicate inside the window', async () => {
    const uow = t.app.get(UnitOfWork);
    await uow.run((tx) =>
      managerOf(tx).query(
        `INSERT INTO inbox_events (event_id, type, received_at) VALUES ('aged-1', 'user.deleted', now() - interval '8 days'),
           ('aged-2', 'user.deleted', now() - interval '7 days 1 hour'), ('recent-1', 'user.deleted', now() - interval '6 days')`,
      ),
    );
    const { id } = await publishEnvelope(bus, prefix, 'account_service', 'user.deleted', { user_id: 'user_kept' });
    await eventually(
      () => inboxCount(id),
      (n) => n === 1,
    );
    expect(await t.app.get(InboxRetention).pruneNow()).toBe(2);
    expect([await inboxCount('aged-1'), await inboxCount('aged-2'), await inboxCount('recent-1'), await inboxCount(id)]).toEqual([
      0, 0, 1, 1,
    ]);
    // inside the window a redelivery still does nothing
    await publishEnvelope(bus, prefix, 'account_service', 'user.deleted', { user_id: 'user_kept' }, { id });
    await eventually(
      async () => {
        const info = await bus.jsm.consumers.info(env.EVENTS_STREAM, 'product_service_user_deleted');
        return info.num_pending + info.num_ack_pending;
      },
      (n) => n === 0,
    );
    expect(callsFor('user_kept')).toHaveLength(1);
  }, 30_000);

  it('should retry a failing handler with back-off and then succeed', async () => {
    effects.failNext(2);
    const { id } = await publishEnvelope(bus, prefix, 'account_service', 'user.deleted', { user_id: 'user_retry' });
    await eventually(
      () => callsFor('user_retry'),
      (c) => c.length > 0,
    );
    expect(callsFor('user_retry')).toHaveLength(1);
    // the call is recorded inside the handler's transaction: its inbox row is there once it commits
    expect(
      await eventually(
        () => inboxCount(id),
        (n) => n === 1,
      ),
    ).toBe(1);
    const metrics = await request(t.baseUrl).get('/metrics').expect(200);
    expect(metrics.text).toContain('product_events_failed_total{type="user.deleted"} 2');
    expect(metrics.text).toMatch(/product_events_handled_total\{type="user.deleted"\} [1-9]/);
    expect((await deadLetters()).filter((m) => m.json().event_id === id)).toHaveLength(0);
  }, 30_000);

  it('should dead-letter a message that is not JSON at once, with its error', async () => {
    const seq = await publishRaw(bus, `${prefix}.payment_service.payment.completed`, 'not json {');
    const letters = await eventually(deadLetters, (m) => m.some((x) => x.json().original_stream_seq === seq));
    const letter = letters.find((x) => x.json().original_stream_seq === seq)!;
    expect(letter.subject).toBe(`${prefix}.dlq.product_service.payment.completed`);
    expect(letter.json()).toMatchObject({ reason: 'malformed', deliveries: 1, payload: 'not json {', type: 'payment.completed' });
    expect(letter.json().error).toMatch(/JSON/);
    expect(letter.headers['X-Dlq-Error']).toMatch(/JSON/);
  }, 30_000);

  it('should keep bytes that are not UTF-8 in base64, and leave out a body too large for its letter, replaying both byte for byte', async () => {
    const subject = `${prefix}.payment_service.payment.completed`;
    const notUtf8 = Buffer.concat([Buffer.from('{"user_id":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    // ~800 KB of quotes: its letter's JSON escapes double it past the server's 1 MiB max_payload
    const huge = `not json ${'"'.repeat(800_000)}`;
    const seqs = [await publishRaw(bus, subject, notUtf8), await publishRaw(bus, subject, huge)];
    const letters = await eventually(deadLetters, (m) => seqs.every((s) => m.some((x) => x.json().original_stream_seq === s)));
    const [small, large] = seqs.map((s) => letters.find((x) => x.json().original_stream_seq === s)!);
    expect(small.json()).toMatchObject({ reason: 'malformed', payload: notUtf8.toString('base64'), payload_encoding: 'base64' });
    expect(large.json()).toMatchObject({ reason: 'malformed', payload: '', payload_omitted: true, payload_bytes: huge.length });
    const cliEnv = { ...env, SERVICE_NAME: 'product_service' };
    const replayed: Array<{ new_seq: number }> = [];
    expect(await runDlqCommand(['replay', String(small.seq), String(large.seq)], cliEnv, (l) => replayed.push(JSON.parse(l)))).toBe(0);
    const again = await Promise.all(replayed.map((r) => bus.jsm.streams.getMessage(env.EVENTS_STREAM, { seq: r.new_seq })));
    expect(Buffer.from(again[0]!.data).equals(notUtf8)).toBe(true);
    expect(again[1]!.string()).toBe(huge);
  }, 30_000);

  it('should dead-letter an invalid envelope and invalid data at once', async () => {
    const badEnvelope = await publishRaw(
      bus,
      `${prefix}.account_service.user.deleted`,
      JSON.stringify({ id: 'e1', type: 'user.deleted', source: 'account_service', data: { user_id: 'u' } }),
    );
    const badData = await publishEnvelope(bus, prefix, 'account_service', 'user.deleted', { user_id: 42 });
    const letters = await eventually(
      deadLetters,
      (m) => m.filter((x) => [badEnvelope, badData.seq].includes(x.json().original_stream_seq)).length === 2,
    );
    const byseq = (s: number) => letters.find((x) => x.json().original_stream_seq === s)!.json();
    expect(byseq(badEnvelope)).toMatchObject({ reason: 'malformed' });
    expect(byseq(badEnvelope).error).toMatch(/timestamp/);
    expect(byseq(badData.seq)).toMatchObject({ reason: 'rejected', event_id: badData.id });
    expect(byseq(badData.seq).error).toMatch(/user_id/);
    expect(callsFor('42')).toHaveLength(0);
  }, 30_000);

  it('should dead-letter a poison message after EVENTS_MAX_DELIVER deliveries with its error, and replay it from the DLQ', async () => {
    effects.failNext(1000);
    const { id } = await publishEnvelope(bus, prefix, 'wallet_service', 'wallet.insufficient_funds', { user_id: 'user_poison' });
    const letters = await eventually(deadLetters, (m) => m.some((x) => x.json().event_id === id));
    effects.failNext(0);
    const letter = letters.find((x) => x.json().event_id === id)!;
    expect(letter.subject).toBe(`${prefix}.dlq.product_service.wallet.insufficient_funds`);
    expect(letter.json()).toMatchObject({
      reason: 'max_deliveries',
      deliveries: 3,
      service: 'product_service',
      type: 'wallet.insufficient_funds',
    });
    expect(letter.json().error).toContain('injected failure');
    expect(JSON.parse(letter.json().payload).id).toBe(id);
    expect(callsFor('user_poison')).toHaveLength(0);
    const metrics = await request(t.baseUrl).get('/metrics').expect(200);
    expect(metrics.text).toContain('product_events_dead_lettered_total{type="wallet.insufficient_funds"} 1');

    const lines: string[] = [];
    const cliEnv = { ...env, SERVICE_NAME: 'product_service' };
    expect(await runDlqCommand(['list'], cliEnv, (l) => lines.push(l))).toBe(0);
    const listed = lines.map((l) => JSON.parse(l));
    expect(listed.find((l) => l.seq === letter.seq)).toMatchObject({ event_id: id, reason: 'max_deliveries' });

    const replayLines: string[] = [];
    expect(await runDlqCommand(['replay', String(letter.seq)], cliEnv, (l) => replayLines.push(l))).toBe(0);
    expect(JSON.parse(replayLines[0])).toMatchObject({ replayed: letter.seq, event_id: id });
    await eventually(
      () => callsFor('user_poison'),
      (c) => c.length > 0,
    );
    expect(callsFor('user_poison')).toHaveLength(1);
    expect((await deadLetters()).some((x) => x.seq === letter.seq)).toBe(false);
  }, 30_000);

  it('should acknowledge a payment with no or an unknown subscription without any effect', async () => {
    const none = await publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', { payment_id: 'p_none', user_id: 'u' });
    const unknown = await publishEnvelope(bus, prefix, 'payment_service', 'payment.completed', {
      metadata: { subscription_id: 'sub_unknown' },
    });
    await eventually(
      async () => (await inboxCount(none.id)) + (await inboxCount(unknown.id)),
      (n) => n === 2,
    );
    expect(await inboxCount(none.id)).toBe(1);
    expect(callsFor('sub_unknown')).toHaveLength(0);
    expect((await deadLetters()).filter((m) => [none.seq, unknown.seq].includes(m.json().original_stream_seq))).toHaveLength(0);
  }, 30_000);
});
