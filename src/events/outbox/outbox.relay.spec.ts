import type { EventEnvelope } from '../models/envelope.js';
import { canonicalEnvelope } from './outbox.relay.js';

describe('canonicalEnvelope', () => {
  it('should restore the SPEC key order and the payload class field order that jsonb loses', () => {
    const stored = {
      data: { change: 'updated', id: 'p1', entity: 'product' },
      metadata: { correlation_id: 'c', request_id: 'r' },
      version: '1.0.0',
      id: 'e',
      type: 'product.catalog.changed',
      source: 'product_service',
      subject: null,
      timestamp: '2026-11-27T10:00:00.000Z',
    } as unknown as EventEnvelope;
    const out = canonicalEnvelope(stored);
    expect(JSON.stringify(out)).toBe(
      '{"id":"e","type":"product.catalog.changed","source":"product_service","subject":null,"timestamp":"2026-11-27T10:00:00.000Z",' +
        '"data":{"entity":"product","id":"p1","change":"updated"},"metadata":{"request_id":"r","correlation_id":"c"},"version":"1.0.0"}',
    );
  });
});
