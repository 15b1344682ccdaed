import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** The platform envelope of an event another service publishes. */
export function envelope(type: string, source: string, data: unknown, id: string = randomUUID()): { id: string; body: string } {
  return {
    id,
    body: JSON.stringify({ id, type, source, subject: null, timestamp: new Date().toISOString(), data, metadata: {}, version: '1.0.0' }),
  };
}

/** Publishes as another service would (`<prefix>.<source>.<type>`); `msgID` only when given (a redelivery has none). */
export async function publishEvent(
  nc: NatsConnection,
  prefix: string,
  source: string,
  type: string,
  data: unknown,
  options: { id?: string; msgID?: string } = {},
): Promise<{ id: string; seq: number }> {
  const e = envelope(type, source, data, options.id);
  const ack = await jetstream(nc, { timeout: 10_000 }).publish(
    `${prefix}.${source}.${type}`,
    e.body,
    options.msgID ? { msgID: options.msgID } : undefined,
  );
  return { id: e.id, seq: ack.seq };
}

export const SOURCES: Record<string, string> = {
  'payment.completed': 'payment_service',
  'wallet.insufficient_funds': 'wallet_service',
  'user.deleted': 'account_service',
};
