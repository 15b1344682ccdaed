import { isUtf8 } from 'node:buffer';
import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, nanos } from '@nats-io/transport-node';
import { deadLetterSubject } from './subjects.js';

/**
 * A dead-lettered message, as stored on `<prefix>.dlq.<service>.<type>`: the original message
 * (verbatim text) with why and where it failed. Headers repeat the essentials for tools that only
 * read headers. No Nest here: the `events:dlq` command uses it too.
 */
export interface DeadLetter {
  reason: 'malformed' | 'max_deliveries' | 'rejected';
  error: string;
  service: string;
  type: string;
  event_id: string | null;
  original_subject: string;
  original_stream: string;
  original_stream_seq: number;
  deliveries: number;
  failed_at: string;
  /**
   * the original message body, verbatim: its UTF-8 text, or its bytes in base64 when they are not
   * UTF-8 (`payload_encoding`); empty when the letter could not hold it (`payload_omitted`)
   */
  payload: string;
  /** `base64`: the body was not UTF-8 (its text would have had U+FFFD in place of the bad bytes) */
  payload_encoding?: 'base64';
  /**
   * the body was too large for the letter (its JSON escapes, over the server's max_payload): left
   * out, `replay` republishes the original from its stream sequence while the stream keeps it
   */
  payload_omitted?: true;
  /** the original body's size in bytes */
  payload_bytes?: number;
}

/** A message body as a letter keeps it: UTF-8 text as is, other bytes in base64. */
export function letterPayload(data: Uint8Array): Pick<DeadLetter, 'payload' | 'payload_encoding' | 'payload_bytes'> {
  return isUtf8(data)
    ? { payload: Buffer.from(data).toString('utf8'), payload_bytes: data.length }
    : { payload: Buffer.from(data).toString('base64'), payload_encoding: 'base64', payload_bytes: data.length };
}

/** The NATS client's refusal of a message above the server's max_payload, or JetStream's 10054 (the stream's largest message). */
const tooLarge = (err: unknown): boolean => /max_payload|maximum allowed|10054/i.test(err instanceof Error ? err.message : String(err));

export const DLQ_HEADERS = {
  error: 'X-Dlq-Error',
  reason: 'X-Dlq-Reason',
  originalSubject: 'X-Dlq-Original-Subject',
  originalSeq: 'X-Dlq-Original-Seq',
  deliveries: 'X-Dlq-Deliveries',
} as const;

/** Copies a message to the dead-letter subject. The msgID makes a retried copy (crash before ack) a no-op. */
export async function publishDeadLetter(js: JetStreamClient, prefix: string, letter: DeadLetter): Promise<string> {
  const subject = deadLetterSubject(prefix, letter.service, letter.type);
  const h = natsHeaders();
  h.set(DLQ_HEADERS.error, letter.error.replace(/[\r\n]+/g, ' ').slice(0, 1024));
  h.set(DLQ_HEADERS.reason, letter.reason);
  h.set(DLQ_HEADERS.originalSubject, letter.original_subject);
  h.set(DLQ_HEADERS.originalSeq, String(letter.original_stream_seq));
  h.set(DLQ_HEADERS.deliveries, String(letter.deliveries));
  const options = { msgID: `dlq-${letter.original_stream}-${letter.original_stream_seq}`, headers: h, timeout: 5000 };
  try {
    await js.publish(subject, JSON.stringify(letter), options);
  } catch (err) {
    // a body near max_payload (its JSON escapes make the letter larger still): a letter without it,
    // else the message would be retried for ever, never dead-lettered nor acknowledged
    if (!tooLarge(err)) throw err;
    await js.publish(subject, JSON.stringify({ ...letter, payload: '', payload_encoding: undefined, payload_omitted: true }), options);
  }
  return subject;
}

/** The original body of a letter: its text, its base64 decoded, or (left out) the original message from the stream. */
async function originalBody(jsm: JetStreamManager, letter: DeadLetter): Promise<Uint8Array | string> {
  if (letter.payload_encoding === 'base64') return Buffer.from(letter.payload, 'base64');
  if (!letter.payload_omitted) return letter.payload;
  const original = await jsm.streams.getMessage(letter.original_stream, { seq: letter.original_stream_seq }).catch(() => null);
  if (!original || original.subject !== letter.original_subject) {
    throw new Error(
      `dead letter of ${letter.original_stream} #${letter.original_stream_seq} left its body out (too large) and the stream no longer holds the original`,
    );
  }
  return original.data;
}

export interface DeadLetterEntry extends DeadLetter {
  /** stream sequence of the dead letter itself (what `replay` takes) */
  seq: number;
  subject: string;
}

function parseLetter(seq: number, subject: string, body: string): DeadLetterEntry {
  try {
    return { ...(JSON.parse(body) as DeadLetter), seq, subject };
  } catch {
    return {
      seq,
      subject,
      reason: 'malformed',
      error: 'dead letter body is not JSON',
      service: '',
      type: '',
      event_id: null,
      original_subject: '',
      original_stream: '',
      original_stream_seq: 0,
      deliveries: 0,
      failed_at: '',
      payload: body,
    };
  }
}

/** Every dead letter of `service` in the stream, oldest first (an ephemeral consumer, deleted after). */
export async function listDeadLetters(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  prefix: string,
  service: string,
): Promise<DeadLetterEntry[]> {
  const info = await jsm.consumers.add(stream, {
    filter_subject: `${prefix}.dlq.${service}.>`,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    inactive_threshold: nanos(60_000),
  });
  const entries: DeadLetterEntry[] = [];
  try {
    let pending = info.num_pending;
    const consumer = await js.consumers.get(stream, info.name);
    while (pending > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, 500), expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        entries.push(parseLetter(m.seq, m.subject, m.string()));
        pending = m.info.pending;
      }
      if (got === 0) break;
    }
  } finally {
    await jsm.consumers.delete(stream, info.name).catch(() => undefined);
  }
  return entries;
}

/**
 * Publishes a dead letter's original message again on its original subject (so the service's
 * consumer handles it once more) and removes the dead letter. A second replay of the same letter
 * inside the duplicate window is dropped by JetStream (same msgID).
 */
export async function replayDeadLetter(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  prefix: string,
  seq: number,
): Promise<{ subject: string; event_id: string | null; seq: number; duplicate: boolean }> {
  const stored = await jsm.streams.getMessage(stream, { seq });
  if (!stored) throw new Error(`no message with sequence ${seq} in stream ${stream}`);
  if (!stored.subject.startsWith(`${prefix}.dlq.`)) throw new Error(`message ${seq} (${stored.subject}) is not a dead letter`);
  const letter = parseLetter(seq, stored.subject, stored.string());
  if (!letter.original_subject) throw new Error(`dead letter ${seq} does not name its original subject`);
  const ack = await js.publish(letter.original_subject, await originalBody(jsm, letter), {
    msgID: `replay-${stream}-${seq}`,
    timeout: 5000,
  });
  await jsm.streams.deleteMessage(stream, seq, false);
  return { subject: letter.original_subject, event_id: letter.event_id, seq: ack.seq, duplicate: ack.duplicate };
}
