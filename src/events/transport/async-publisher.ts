import { createInbox, headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';

/** What JetStream answered for one published message. */
export interface PubAck {
  stream: string;
  seq: number;
  /** JetStream had this Nats-Msg-Id already (inside the stream's duplicate window): not stored again */
  duplicate: boolean;
}

/** One message to publish to a JetStream stream, with its Nats-Msg-Id. */
export interface JetStreamMessage {
  subject: string;
  /** the exact wire text */
  payload: string;
  msgId: string;
}

/**
 * A message the bus will never take as it is: larger than the server's `max_payload` (the client
 * refuses to send it) or than the stream's largest message (JetStream error 10054). Publishing it
 * again cannot succeed; the relay parks it instead of retrying (see OutboxRelay).
 */
export class MessageTooLarge extends Error {
  override readonly name = 'MessageTooLarge';
}

/** JetStream's error code for a message above the stream's `max_msg_size`. */
const JS_MESSAGE_TOO_LARGE = 10054;

interface Pending {
  resolve: (ack: PubAck) => void;
  reject: (error: Error) => void;
}

/**
 * JetStream publishes with asynchronous acknowledgements, many in flight on one connection (the
 * design of the Go client's PublishAsync): each message is a plain NATS publish whose reply subject
 * is `<inbox>.<n>`, and ONE wildcard subscription receives the PubAcks and settles each message's
 * promise; one timer covers a whole batch. `JetStreamClient.publish` makes every message a request
 * instead: a mux entry, a timer and an `Error` object (with its stack) per message, a few percent of
 * the service's CPU per event at the relay's rate. Same guarantees: a message counts as stored only
 * once its PubAck arrives; no answer in time, no responder (no stream for the subject) or a
 * JetStream error is a failure of that message alone, and so is a "duplicate" without a sequence (the
 * first copy is still being stored, or was lost with its leader: only a PubAck with a sequence counts).
 *
 * One per NATS connection (EventBusConnection makes it); the subscription survives reconnections
 * (the client subscribes again), and publishes whose acks were lost with the old connection time out.
 */
export class JetStreamAsyncPublisher {
  private readonly inbox = createInbox();
  private readonly subscription: Subscription;
  private readonly pending = new Map<number, Pending>();
  private next = 0;

  constructor(private readonly nc: NatsConnection) {
    this.subscription = nc.subscribe(`${this.inbox}.*`, { callback: (_err, msg) => this.settle(msg) });
  }

  /**
   * Publishes `messages` in order (they leave in one write) and answers each one's outcome, in
   * the same order, once every one is acknowledged, refused or `timeoutMs` has passed.
   */
  async publishAll(messages: readonly JetStreamMessage[], timeoutMs: number): Promise<PromiseSettledResult<PubAck>[]> {
    const ids: number[] = [];
    const acks = messages.map((message) => {
      const id = ++this.next;
      ids.push(id);
      const ack = new Promise<PubAck>((resolve, reject) => this.pending.set(id, { resolve, reject }));
      const headers = natsHeaders();
      headers.set('Nats-Msg-Id', message.msgId);
      try {
        this.nc.publish(message.subject, message.payload, { reply: `${this.inbox}.${id}`, headers });
      } catch (err) {
        // the client refuses a message above the server's max_payload; otherwise a closed or draining connection
        const message = err instanceof Error ? err.message : String(err);
        this.fail(
          id,
          /max_payload/.test(message) ? new MessageTooLarge(`NATS: ${message}`) : err instanceof Error ? err : new Error(message),
        );
      }
      return ack;
    });
    const timer = setTimeout(() => {
      for (const id of ids) this.fail(id, new Error(`no PubAck within ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      return await Promise.allSettled(acks);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Messages published and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Stops listening for acks; what is still pending fails. */
  close(): void {
    this.subscription.unsubscribe();
    for (const id of [...this.pending.keys()]) this.fail(id, new Error('publisher closed'));
  }

  private settle(msg: Msg): void {
    const id = Number(msg.subject.slice(this.inbox.length + 1));
    const waiter = this.pending.get(id);
    if (!waiter) return; // answered after its timeout: the message is published again, JetStream deduplicates it
    this.pending.delete(id);
    if (msg.headers?.hasError) {
      // 503: no responders, i.e. no stream listens on the subject
      waiter.reject(new Error(`NATS ${msg.headers.code} ${msg.headers.description || 'no responders'}`));
      return;
    }
    let answer: { stream?: string; seq?: number; duplicate?: boolean; error?: { code?: number; err_code?: number; description?: string } };
    try {
      answer = msg.json();
    } catch {
      waiter.reject(new Error('PubAck is not JSON'));
      return;
    }
    if (answer.error?.err_code === JS_MESSAGE_TOO_LARGE) {
      waiter.reject(
        new MessageTooLarge(`JetStream ${answer.error.code ?? '?'}: ${answer.error.description ?? 'message size exceeds maximum allowed'}`),
      );
      return;
    }
    if (answer.error || typeof answer.seq !== 'number') {
      waiter.reject(new Error(`JetStream ${answer.error?.code ?? '?'}: ${answer.error?.description ?? 'no sequence in the PubAck'}`));
      return;
    }
    if (answer.seq < 1) {
      // A duplicate of a message JetStream has not stored yet: its msg id is staged while the first
      // copy's proposal is in flight (newer servers answer error 10071, "duplicate message id is in
      // process"), and that proposal can still be lost to a leader change. Not a PubAck: publish again.
      waiter.reject(new Error('JetStream: duplicate of a message still in process (sequence 0), not stored yet'));
      return;
    }
    waiter.resolve({ stream: answer.stream ?? '', seq: answer.seq, duplicate: answer.duplicate === true });
  }

  private fail(id: number, error: Error): void {
    const waiter = this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id);
    waiter.reject(error);
  }
}
