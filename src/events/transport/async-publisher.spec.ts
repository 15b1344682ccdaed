import type { Msg, NatsConnection, PublishOptions } from '@nats-io/nats-core';
import { JetStreamAsyncPublisher } from './async-publisher.js';

type AckCallback = (err: Error | null, msg: Msg) => void;

/** Just enough of a NATS connection: the ack subscription's callback, and the publishes' reply subjects. */
function fakeConnection() {
  let callback: AckCallback | undefined;
  const replies: string[] = [];
  const nc = {
    subscribe: (_subject: string, opts: { callback: AckCallback }) => {
      callback = opts.callback;
      return { unsubscribe: () => undefined };
    },
    publish: (_subject: string, _payload: string, opts: PublishOptions) => replies.push(opts.reply!),
  } as unknown as NatsConnection;
  /** JetStream's answer `text` to the n-th publish */
  const answer = (n: number, text: string) =>
    callback!(null, { subject: replies[n], headers: undefined, json: () => JSON.parse(text) as unknown } as unknown as Msg);
  return { nc, answer };
}

describe('JetStreamAsyncPublisher: what counts as stored', () => {
  const messages = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ subject: 'events.x', payload: id, msgId: id }));

  it('should count a PubAck with a sequence, a duplicate with the original sequence too, and nothing else', async () => {
    const { nc, answer } = fakeConnection();
    const publisher = new JetStreamAsyncPublisher(nc);
    const settled = publisher.publishAll(messages, 1000);
    answer(0, '{"stream":"EVENTS","seq":7}');
    answer(1, '{"stream":"EVENTS","seq":3,"duplicate":true}');
    // the first copy's proposal is still in flight (or was lost with its leader): not stored yet
    answer(2, '{"stream":"EVENTS","seq":0,"duplicate":true}');
    answer(3, '{"error":{"code":503,"err_code":10071,"description":"duplicate message id is in process"}}');
    answer(4, '{"stream":"EVENTS"}');
    const results = await settled;
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected']);
    expect(results[0]).toEqual({ status: 'fulfilled', value: { stream: 'EVENTS', seq: 7, duplicate: false } });
    expect(results[1]).toEqual({ status: 'fulfilled', value: { stream: 'EVENTS', seq: 3, duplicate: true } });
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/still in process/);
    expect(publisher.inFlight).toBe(0);
  });
});
