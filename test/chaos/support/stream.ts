import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';

/** What the checks need of one stored message (bodies are not kept: a run can hold hundreds of thousands). */
export interface StreamMessage {
  seq: number;
  subject: string;
  /** when JetStream stored it (ms since the epoch) */
  at: number;
  /** Nats-Msg-Id header */
  msgId?: string;
  /** envelope id, type and the data fields the checks read */
  id?: string;
  type?: string;
  /** metadata.correlation_id: the consumed event that caused this one */
  correlationId?: string;
  data: Record<string, unknown>;
  /** of a dead letter: the stream sequence of the original message, and why */
  dlq?: { original_stream_seq?: number; reason?: string };
}

const KEPT_FIELDS = ['usage_record_id', 'request_id', 'subscription_id', 'user_id', 'old_status', 'new_status', 'status', 'reason'];

/**
 * Every message of `stream` on `filter`, oldest first, through an ephemeral consumer that acks
 * nothing, in batches; stops when the consumer reports nothing pending and, when the filter is the
 * whole stream, once it has delivered the last sequence the stream's leader reported at the start.
 * The consumer's replica can lag the leader's (a new leader after a fault is still applying what was
 * committed): it then reports nothing pending while the newest messages are missing, and a read that
 * stopped there missed them (nats-stall, 2026-12-07: 124 usage events, all there 5 s later).
 */
export async function readStream(nc: NatsConnection, stream: string, filter: string, timeoutMs = 60_000): Promise<StreamMessage[]> {
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  const js = jetstream(nc, { timeout: 10_000 });
  const streamInfo = await jsm.streams.info(stream);
  // the sequence every message up to which must be read (0: the filter is not the whole stream, no such bound)
  const target = streamInfo.config.subjects?.includes(filter) ? streamInfo.state.last_seq : 0;
  const deadline = Date.now() + timeoutMs;
  let lastSeq = 0;
  const info = await jsm.consumers.add(stream, {
    filter_subject: filter,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    inactive_threshold: nanos(60_000),
    mem_storage: true,
    num_replicas: 1,
  });
  const out: StreamMessage[] = [];
  try {
    let pending = info.num_pending;
    const consumer = await js.consumers.get(stream, info.name);
    let empty = 0;
    while ((pending > 0 && empty < 5) || (lastSeq < target && Date.now() < deadline)) {
      const batch = await consumer.fetch({ max_messages: Math.max(1, Math.min(pending, 2000)), expires: pending > 0 ? 5000 : 1000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        pending = m.info.pending;
        lastSeq = Math.max(lastSeq, m.seq);
        let body: Record<string, unknown> = {};
        try {
          const parsed: unknown = m.json();
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
        } catch {
          // not JSON (a malformed message the suite published itself)
        }
        const rawData = body.data && typeof body.data === 'object' ? (body.data as Record<string, unknown>) : {};
        const data: Record<string, unknown> = {};
        for (const f of KEPT_FIELDS) if (f in rawData) data[f] = rawData[f];
        out.push({
          seq: m.seq,
          subject: m.subject,
          at: Math.floor(m.info.timestampNanos / 1e6),
          msgId: m.headers?.get('Nats-Msg-Id') || undefined,
          id: typeof body.id === 'string' ? body.id : undefined,
          type: typeof body.type === 'string' ? body.type : undefined,
          correlationId:
            body.metadata &&
            typeof body.metadata === 'object' &&
            typeof (body.metadata as Record<string, unknown>).correlation_id === 'string'
              ? ((body.metadata as Record<string, unknown>).correlation_id as string)
              : undefined,
          data,
          dlq:
            'original_stream_seq' in body
              ? { original_stream_seq: Number(body.original_stream_seq), reason: typeof body.reason === 'string' ? body.reason : undefined }
              : undefined,
        });
      }
      empty = got === 0 ? empty + 1 : 0;
    }
    if (lastSeq < target) throw new Error(`read ${stream} up to sequence ${lastSeq} of ${target} in ${timeoutMs} ms`);
  } finally {
    await jsm.consumers.delete(stream, info.name).catch(() => undefined);
  }
  return out;
}

/** Counts how often each key occurs. */
export function countBy<T>(items: Iterable<T>, key: (item: T) => string | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}
