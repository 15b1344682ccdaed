import type { EventEnvelope } from '../models/envelope.js';
import { canonicalEnvelope, publishWaves } from './outbox.relay.js';

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

describe('publishWaves', () => {
  const row = (id: string, aggregate_id: string | null) => ({ id, aggregate_id });

  it('should keep rows of distinct aggregates in one wave, in seq order', () => {
    const rows = [row('1', 'a'), row('2', 'b'), row('3', null), row('4', 'c')];
    expect(publishWaves(rows)).toEqual([rows]);
  });

  it('should start a new wave when an aggregate repeats, so its later event waits for the earlier ack', () => {
    const rows = [row('1', 'sub-a'), row('2', 'usage-1'), row('3', 'sub-a'), row('4', 'sub-b'), row('5', 'sub-b')];
    expect(publishWaves(rows).map((w) => w.map((r) => r.id))).toEqual([['1', '2'], ['3', '4'], ['5']]);
  });

  it('should return no wave for no rows and keep every row exactly once', () => {
    expect(publishWaves([])).toEqual([]);
    const rows = Array.from({ length: 50 }, (_, i) => row(String(i), `agg-${i % 7}`));
    expect(publishWaves(rows).flat()).toEqual(rows);
  });
});
