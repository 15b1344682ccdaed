import { CONSUMED_EVENTS, type EventTypeSpec, PUBLISHED_EVENTS } from '../models/event-catalog.js';
import { EventEnvelopeModel } from '../models/envelope.js';
import { eventClassInfo, jsonSchemaOf, type JsonSchema } from '../models/event-field.js';
import { DUPLICATE_WINDOW_MS } from '../transport/stream.js';
import { consumedFilter, deadLetterSubject, publishedSubject } from '../transport/subjects.js';

export interface AsyncApiOptions {
  serviceName: string;
  version: string;
  subjectPrefix: string;
  stream: string;
  natsUrl?: string;
}

/** `subscription.status_changed` → `SubscriptionStatusChanged` */
const pascal = (type: string): string =>
  type
    .split(/[._]/)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
const camel = (type: string): string => {
  const p = pascal(type);
  return p.charAt(0).toLowerCase() + p.slice(1);
};

/**
 * The AsyncAPI 3 document of every channel the service publishes and consumes. Payload schemas
 * come from the event classes (`jsonSchemaOf`), the envelope from EventEnvelopeModel: nothing here
 * restates a field by hand.
 */
export function buildAsyncApiDocument(o: AsyncApiOptions): Record<string, unknown> {
  const schemas: Record<string, JsonSchema> = {};
  const messages: Record<string, unknown> = {};
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};

  const envelope = jsonSchemaOf(EventEnvelopeModel);
  const envelopeProps = envelope.properties as Record<string, JsonSchema>;
  schemas.EventEnvelope = envelope;

  const payloadSchemaName = (spec: EventTypeSpec): string => eventClassInfo(spec.payload)?.title ?? pascal(spec.type);
  const envelopeFor = (spec: EventTypeSpec, published: boolean): JsonSchema => {
    const name = payloadSchemaName(spec);
    schemas[name] = jsonSchemaOf(spec.payload);
    return {
      type: 'object',
      title: `${name} envelope`,
      properties: {
        ...envelopeProps,
        type: { type: 'string', const: spec.type },
        ...(published
          ? {
              source: { type: 'string', const: o.serviceName },
              id: { type: 'string', format: 'uuid' },
              version: { type: 'string', const: '1.0.0' },
            }
          : {}),
        data: { $ref: `#/components/schemas/${name}` },
      },
      required: published
        ? ['id', 'type', 'source', 'subject', 'timestamp', 'data', 'metadata', 'version']
        : ['id', 'type', 'source', 'timestamp', 'data'],
      additionalProperties: !published,
    };
  };

  for (const spec of PUBLISHED_EVENTS) {
    const key = camel(spec.type);
    messages[key] = {
      name: spec.type,
      title: spec.type,
      summary: spec.summary,
      contentType: 'application/json',
      headers: { $ref: '#/components/schemas/PublishedHeaders' },
      payload: envelopeFor(spec, true),
    };
    channels[key] = {
      address: publishedSubject(o.subjectPrefix, o.serviceName, spec.type),
      title: spec.type,
      description: `${spec.summary} Stream ${o.stream}.`,
      messages: { [key]: { $ref: `#/components/messages/${key}` } },
    };
    operations[`publish${pascal(spec.type)}`] = {
      action: 'send',
      title: `Publish ${spec.type}`,
      summary: spec.summary,
      channel: { $ref: `#/channels/${key}` },
      messages: [{ $ref: `#/channels/${key}/messages/${key}` }],
    };
  }

  for (const spec of CONSUMED_EVENTS) {
    const key = camel(spec.type);
    messages[key] = {
      name: spec.type,
      title: spec.type,
      summary: spec.summary,
      description: 'Enveloped, or bare `data` (then the NATS stream sequence is its id and the type comes from the subject).',
      contentType: 'application/json',
      payload: { oneOf: [envelopeFor(spec, false), { $ref: `#/components/schemas/${payloadSchemaName(spec)}` }] },
    };
    channels[key] = {
      address: consumedFilter(o.subjectPrefix, spec.type).replace('*', '{source}'),
      title: spec.type,
      description: `Consumed by the durable pull consumer ${o.serviceName}_${spec.type.replace(/\./g, '_')} (shared by all replicas).`,
      parameters: { source: { description: 'the publishing service (any)' } },
      messages: { [key]: { $ref: `#/components/messages/${key}` } },
    };
    operations[`on${pascal(spec.type)}`] = {
      action: 'receive',
      title: `Handle ${spec.type}`,
      summary: spec.summary,
      channel: { $ref: `#/channels/${key}` },
      messages: [{ $ref: `#/channels/${key}/messages/${key}` }],
    };
  }

  schemas.PublishedHeaders = {
    type: 'object',
    properties: {
      'Nats-Msg-Id': { type: 'string', description: `= envelope id; JetStream drops a repeat within ${DUPLICATE_WINDOW_MS / 1000} s` },
    },
    required: ['Nats-Msg-Id'],
  };
  schemas.DeadLetter = {
    type: 'object',
    title: 'DeadLetter',
    description: 'A consumed message this service gave up on, with the error; replay with `npm run events:dlq -- replay <seq>`.',
    properties: {
      reason: { type: 'string', enum: ['malformed', 'max_deliveries', 'rejected'] },
      error: { type: 'string' },
      service: { type: 'string' },
      type: { type: 'string' },
      event_id: { type: ['string', 'null'] },
      original_subject: { type: 'string' },
      original_stream: { type: 'string' },
      original_stream_seq: { type: 'integer' },
      deliveries: { type: 'integer' },
      failed_at: { type: 'string', format: 'date-time' },
      payload: { type: 'string', description: 'the original message, verbatim' },
    },
    required: ['reason', 'error', 'service', 'type', 'original_subject', 'original_stream_seq', 'deliveries', 'failed_at', 'payload'],
  };
  messages.deadLetter = {
    name: 'dead_letter',
    title: 'Dead letter',
    contentType: 'application/json',
    payload: { $ref: '#/components/schemas/DeadLetter' },
  };
  channels.deadLetter = {
    address: deadLetterSubject(o.subjectPrefix, o.serviceName, '{type}'),
    title: 'Dead letters',
    description: 'Malformed consumed messages, and those whose handler failed EVENTS_MAX_DELIVER times.',
    parameters: { type: { description: 'the consumed event type, e.g. payment.completed' } },
    messages: { deadLetter: { $ref: '#/components/messages/deadLetter' } },
  };
  operations.publishDeadLetter = {
    action: 'send',
    title: 'Dead-letter a consumed message',
    channel: { $ref: '#/channels/deadLetter' },
    messages: [{ $ref: '#/channels/deadLetter/messages/deadLetter' }],
  };

  let host = '127.0.0.1:4222';
  if (o.natsUrl) {
    try {
      host = new URL(o.natsUrl).host || host;
    } catch {
      // keep the default
    }
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: `${o.serviceName} events`,
      version: o.version,
      description:
        `Events of the product service on NATS JetStream (stream ${o.stream}, subjects \`${o.subjectPrefix}.>\`). ` +
        'Delivery is at least once: every event is written to a transactional outbox with the change it describes and ' +
        `relayed with Nats-Msg-Id = id (duplicate window ${DUPLICATE_WINDOW_MS / 1000} s); order per subscription follows commit order. ` +
        'Consumers are durable pull consumers shared by all replicas; handlers are idempotent (inbox keyed by event id).',
    },
    defaultContentType: 'application/json',
    servers: { nats: { host, protocol: 'nats', description: 'NATS with JetStream' } },
    channels,
    operations,
    components: { schemas, messages },
  };
}
