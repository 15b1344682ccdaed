import { randomBytes, randomUUID } from 'node:crypto';
import { JetStreamAsyncPublisher, MessageTooLarge } from '../src/events/transport/async-publisher.js';
import { busClient, type Bus, deleteStream, readAll } from './support/events.js';

/**
 * The relay's JetStream publisher (asynchronous PubAcks on one wildcard subscription) against the
 * real NATS server: each message settles on its own ack, duplicates are reported, and a subject
 * nobody stores, a responder that never answers, or a closed publisher fail the message alone.
 */
describe('JetStreamAsyncPublisher (real NATS JetStream)', () => {
  let bus: Bus;
  let publisher: JetStreamAsyncPublisher;
  const id = randomBytes(5).toString('hex');
  const stream = `ASYNC_${id}`;
  const prefix = `async_${id}`;

  beforeAll(async () => {
    bus = await busClient();
    await bus.jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], duplicate_window: 120_000_000_000 });
    publisher = new JetStreamAsyncPublisher(bus.nc);
  });
  afterAll(async () => {
    publisher?.close();
    await deleteStream(bus.jsm, stream);
    await bus?.close();
  });

  it('should store every message once, in order, with its Nats-Msg-Id, and answer each with its sequence', async () => {
    const messages = Array.from({ length: 50 }, (_, i) => ({
      subject: `${prefix}.events.n${i % 3}`,
      payload: JSON.stringify({ i }),
      msgId: randomUUID(),
    }));
    const results = await publisher.publishAll(messages, 5000);
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    const seqs = results.map((r) => (r as PromiseFulfilledResult<{ seq: number; duplicate: boolean }>).value);
    expect(seqs.map((a) => a.duplicate)).toEqual(messages.map(() => false));
    expect(seqs.map((a) => a.seq)).toEqual([...seqs.map((a) => a.seq)].sort((x, y) => x - y));
    const stored = await readAll(bus, stream, `${prefix}.>`);
    expect(stored.map((m) => m.headers['Nats-Msg-Id'])).toEqual(messages.map((m) => m.msgId));
    expect(stored.map((m) => m.body)).toEqual(messages.map((m) => m.payload));
    expect(publisher.inFlight).toBe(0);
  });

  it('should report a repeated Nats-Msg-Id as a duplicate, stored once', async () => {
    const message = { subject: `${prefix}.events.dup`, payload: '{"dup":true}', msgId: randomUUID() };
    const [first] = await publisher.publishAll([message], 5000);
    const [again] = await publisher.publishAll([message], 5000);
    expect(first).toMatchObject({ status: 'fulfilled', value: { duplicate: false } });
    expect(again).toMatchObject({ status: 'fulfilled', value: { duplicate: true } });
    expect((await readAll(bus, stream, `${prefix}.events.dup`)).length).toBe(1);
  });

  it('should fail only the message that no stream takes, and the one nobody answers', async () => {
    const silent = bus.nc.subscribe(`silent_${id}.>`, { callback: () => undefined }); // a responder that never replies
    try {
      const results = await publisher.publishAll(
        [
          { subject: `${prefix}.events.ok`, payload: '{}', msgId: randomUUID() },
          { subject: `nostream_${id}.events`, payload: '{}', msgId: randomUUID() },
          { subject: `silent_${id}.events`, payload: '{}', msgId: randomUUID() },
        ],
        300,
      );
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
      expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/503|no responders/);
      expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/no PubAck within 300 ms/);
      expect(publisher.inFlight).toBe(0);
    } finally {
      silent.unsubscribe();
    }
  });

  it('should fail what is in flight when it is closed, and refuse nothing else', async () => {
    const own = new JetStreamAsyncPublisher(bus.nc);
    const silent = bus.nc.subscribe(`silent2_${id}.>`, { callback: () => undefined });
    try {
      const pending = own.publishAll([{ subject: `silent2_${id}.x`, payload: '{}', msgId: randomUUID() }], 60_000);
      own.close();
      const [result] = await pending;
      expect(result).toMatchObject({ status: 'rejected' });
      expect(String((result as PromiseRejectedResult).reason)).toMatch(/publisher closed/);
    } finally {
      silent.unsubscribe();
    }
  });
});

/**
 * Messages the bus will never take: above the server's max_payload (the client refuses them) or
 * above the stream's max_msg_size (JetStream answers 10054). Each fails alone as MessageTooLarge,
 * which the relay parks instead of retrying.
 */
describe('JetStreamAsyncPublisher: messages too large for the bus (real NATS JetStream)', () => {
  let bus: Bus;
  let publisher: JetStreamAsyncPublisher;
  const id = randomBytes(5).toString('hex');
  const stream = `ASYNCBIG_${id}`;
  const prefix = `asyncbig_${id}`;

  beforeAll(async () => {
    bus = await busClient();
    await bus.jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], max_msg_size: 2048 });
    publisher = new JetStreamAsyncPublisher(bus.nc);
  });
  afterAll(async () => {
    publisher?.close();
    await deleteStream(bus.jsm, stream);
    await bus?.close();
  });

  it('should fail a message above max_payload or the stream max_msg_size as MessageTooLarge, and only that one', async () => {
    const maxPayload = bus.nc.info!.max_payload;
    const results = await publisher.publishAll(
      [
        { subject: `${prefix}.events.ok`, payload: '{"small":true}', msgId: randomUUID() },
        { subject: `${prefix}.events.huge`, payload: JSON.stringify({ pad: 'x'.repeat(maxPayload) }), msgId: randomUUID() },
        { subject: `${prefix}.events.big`, payload: JSON.stringify({ pad: 'x'.repeat(4096) }), msgId: randomUUID() },
        { subject: `${prefix}.events.ok2`, payload: '{"small":2}', msgId: randomUUID() },
      ],
      5000,
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    const [huge, big] = [results[1], results[2]].map((r) => (r as PromiseRejectedResult).reason as Error);
    expect(huge).toBeInstanceOf(MessageTooLarge);
    expect(huge.message).toMatch(/max_payload/);
    expect(big).toBeInstanceOf(MessageTooLarge);
    expect(big.message).toMatch(/message size exceeds maximum/);
    // other failures stay ordinary errors (retried by the relay)
    const [none] = await publisher.publishAll([{ subject: `nostream_${id}.events`, payload: '{}', msgId: randomUUID() }], 2000);
    expect((none as PromiseRejectedResult).reason).not.toBeInstanceOf(MessageTooLarge);
    expect((await readAll(bus, stream, `${prefix}.>`)).map((m) => m.body)).toEqual(['{"small":true}', '{"small":2}']);
    expect(publisher.inFlight).toBe(0);
  });
});
