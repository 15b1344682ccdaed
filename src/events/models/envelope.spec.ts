import { decodeInbound, EventEnvelopeModel } from './envelope.js';
import { fastPayloadProblems } from './event-field.js';
import { payloadProblems } from './validate-payload.js';

const at = new Date('2026-11-27T10:00:00.000Z');
const subject = 'events.payment_service.payment.completed';
const envelope = {
  id: 'evt-1',
  type: 'payment.completed',
  source: 'payment_service',
  subject: null,
  timestamp: '2026-11-27T09:59:00',
  data: { payment_id: 'p' },
  metadata: { request_id: 'req-1' },
  version: '1.0.0',
};

describe('decodeInbound', () => {
  it('should accept a valid envelope (timestamps without offset are UTC, as Python writes them)', () => {
    const result = decodeInbound(JSON.stringify(envelope), subject, 7, at);
    expect(result).toEqual({
      ok: true,
      event: {
        id: 'evt-1',
        type: 'payment.completed',
        source: 'payment_service',
        timestamp: '2026-11-27T09:59:00',
        data: { payment_id: 'p' },
        metadata: { request_id: 'req-1' },
        raw: false,
        natsSubject: subject,
        streamSequence: 7,
      },
    });
  });

  it('should wrap bare data with the stream sequence as id and type and source from the subject', () => {
    const result = decodeInbound(JSON.stringify({ payment_id: 'p', metadata: { subscription_id: 's' } }), subject, 42, at);
    expect(result.ok && result.event).toMatchObject({
      id: '42',
      type: 'payment.completed',
      source: 'payment_service',
      raw: true,
      timestamp: at.toISOString(),
    });
  });

  it.each([
    ['not JSON', 'nope {', /JSON/],
    ['a JSON array', '[1,2]', /object/],
    ['JSON null', 'null', /object/],
    ['invalid UTF-8', new Uint8Array([0xff, 0xfe, 0x7b]), /UTF-8/],
    ['an envelope without timestamp', JSON.stringify({ ...envelope, timestamp: undefined }), /timestamp/],
    ['an envelope without data', JSON.stringify({ ...envelope, data: undefined }), /data/],
    ['an envelope whose data is not an object', JSON.stringify({ ...envelope, data: 'x' }), /data/],
    ['an envelope with a control character in its id', JSON.stringify({ ...envelope, id: 'a\u0000b' }), /id/],
    [
      'an envelope of another type than its subject',
      JSON.stringify({ ...envelope, type: 'payment.failed' }),
      /payment.failed on a payment.completed subject/,
    ],
  ])('should refuse %s', (_name, payload, error) => {
    const result = decodeInbound(payload, subject, 1, at);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(error);
  });

  it('should read envelope timestamps as the HTTP API reads them: a space for T, no impossible dates', () => {
    expect(decodeInbound(JSON.stringify({ ...envelope, timestamp: '2026-11-27 09:59:00' }), subject, 8, at).ok).toBe(true);
    expect(decodeInbound(JSON.stringify({ ...envelope, timestamp: '2026-11-27T09:59:00.123456+05:30' }), subject, 9, at).ok).toBe(true);
    for (const timestamp of ['2027-02-29T10:00:00', '0000-01-01T00:00:00Z', '2026-11-27T24:00:00', '2026-13-01T00:00:00']) {
      expect({ timestamp, ok: decodeInbound(JSON.stringify({ ...envelope, timestamp }), subject, 10, at).ok }).toEqual({
        timestamp,
        ok: false,
      });
    }
  });

  it('should find the same envelope problems with the fast check as class-validator does', () => {
    const cases: Record<string, unknown>[] = [
      envelope,
      { ...envelope, metadata: { request_id: 'r', trace_id: 't', user_agent: 'python' } }, // other metadata keys are fine
      { ...envelope, extra: 1 }, // so are other envelope keys
      { ...envelope, metadata: null },
      { ...envelope, id: 42 },
      { ...envelope, id: '' },
      { ...envelope, type: '' },
      { ...envelope, source: undefined },
      { ...envelope, timestamp: 'yesterday' },
      { ...envelope, timestamp: '2027-02-29T10:00:00' },
      { ...envelope, data: [1] },
      { ...envelope, metadata: 'x' },
      { ...envelope, metadata: { request_id: 7 } },
      { ...envelope, version: 3 },
    ];
    for (const c of cases) {
      const slow = payloadProblems(EventEnvelopeModel, c);
      const fast = fastPayloadProblems(EventEnvelopeModel, c);
      expect({ c, refused: fast.length > 0 }).toEqual({ c, refused: slow.length > 0 });
      for (const field of ['id', 'type', 'source', 'timestamp', 'data', 'metadata', 'version'])
        expect({ c, field, named: fast.some((p) => p.includes(field)) }).toEqual({ c, field, named: slow.some((p) => p.includes(field)) });
    }
  });
});
