import { publishWaves } from './outbox.relay.js';

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
