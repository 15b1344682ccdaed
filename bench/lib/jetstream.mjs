// The benchmark's own NATS client: counts messages of one subject on the run's stream, publishes
// inbound events, and times the arrival of published events on a JetStream consumer. It only
// ever touches streams whose names the run chose (BENCH_<pid>...), and deletes them at the end.
import { randomUUID } from 'node:crypto';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { onCleanup } from './harness.mjs';

/** `<prefix>.<source>.<type>`: the subjects the service publishes and consumes (SPEC section 3). */
export const subjectOf = (prefix, source, type) => `${prefix}.${source}.${type}`;

export async function openBus(url) {
  const nc = await connect({ servers: url, timeout: 5000, name: 'product-bench' });
  onCleanup(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  return { nc, jsm, js, version: nc.info?.version ?? 'unknown' };
}

/** Registers the deletion of a stream of this run (the service creates it when it starts). */
export function deleteStreamAtEnd(bus, name) {
  onCleanup(() => bus.jsm.streams.delete(name).catch(() => undefined));
}

/** A scratch service's stream (bench/profile.mjs, bench/memory.mjs) deleted at the end; nothing when NATS is off. */
export async function deleteScratchStreamAtEnd(url, name) {
  if (url === 'off') return;
  deleteStreamAtEnd(await openBus(url), name);
}

/**
 * Messages stored on `stream` under exactly `subject` (stream info with subjects_filter): what
 * JetStream acknowledged to the publisher. 0 while the stream does not exist yet.
 */
export async function countSubject(bus, stream, subject) {
  try {
    const info = await bus.jsm.streams.info(stream, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  } catch (err) {
    if (/stream not found/i.test(err.message)) return 0;
    throw err;
  }
}

/** Messages under a wildcard subject (`prefix.dlq.>`), summed over its subjects. */
export async function countSubjects(bus, stream, filter) {
  try {
    const info = await bus.jsm.streams.info(stream, { subjects_filter: filter });
    return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  } catch (err) {
    if (/stream not found/i.test(err.message)) return 0;
    throw err;
  }
}

/** An envelope as the platform's other services send it (SPEC section 3). */
export function envelope(type, source, data, requestId) {
  return {
    id: randomUUID(),
    type,
    source,
    subject: null,
    timestamp: new Date().toISOString(),
    data,
    metadata: { request_id: requestId },
    version: '1.0.0',
  };
}

/** Publishes envelopes with Nats-Msg-Id = id (msgID), acknowledged by JetStream, `inFlight` acknowledgements outstanding at most. */
export async function publishAll(bus, subject, envelopes, inFlight = 256) {
  let next = 0;
  const worker = async () => {
    while (next < envelopes.length) {
      const e = envelopes[next++];
      await bus.js.publish(subject, JSON.stringify(e), { msgID: e.id, timeout: 10_000 });
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, envelopes.length) }, worker));
}

/**
 * An ephemeral pull consumer of `subject` on `stream`, from now on (deliver policy new, no acks):
 * calls `onMessage(envelope, arrivedAtEpochMs)` for every message. Returns `stop()`.
 */
export async function watchSubject(bus, stream, subject, name, onMessage) {
  await bus.jsm.consumers.add(stream, {
    name,
    filter_subject: subject,
    deliver_policy: DeliverPolicy.New,
    ack_policy: AckPolicy.None,
    inactive_threshold: nanos(60_000),
    mem_storage: true,
  });
  const consumer = await bus.js.consumers.get(stream, name);
  const messages = await consumer.consume({ max_messages: 1000 });
  const done = (async () => {
    for await (const m of messages) {
      const arrived = Date.now();
      let parsed;
      try {
        parsed = m.json();
      } catch {
        parsed = undefined;
      }
      onMessage(parsed, arrived);
    }
  })();
  let stopped;
  const stop = () =>
    (stopped ??= (async () => {
      await messages.close().catch(() => undefined);
      await done.catch(() => undefined);
      await bus.jsm.consumers.delete(stream, name).catch(() => undefined);
    })());
  onCleanup(stop);
  return stop;
}
