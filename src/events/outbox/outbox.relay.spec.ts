import { publishWaves } from './outbox.relay.js';

describe('publishWaves', () => {
  const row = (id: string, aggregate_id: string | null) => ({ id, aggregate_id });
  const ids = (waves: { id: string }[][]) => waves.map((w) => w.map((r) => r.id));

  it('should keep rows of distinct aggregates in one wave, in seq order', () => {
    const rows = [row('1', 'a'), row('2', 'b'), row('3', null), row('4', 'c')];
    expect(publishWaves(rows)).toEqual([rows]);
  });

  it("should put an aggregate's k-th event in wave k, so its later event waits for the earlier ack", () => {
    const rows = [row('1', 'sub-a'), row('2', 'usage-1'), row('3', 'sub-a'), row('4', 'sub-b'), row('5', 'sub-b')];
    expect(ids(publishWaves(rows))).toEqual([
      ['1', '2', '4'],
      ['3', '5'],
    ]);
  });

  it('should take two waves for a batch of subscriptions with two events each (not one per subscription)', () => {
    const rows = Array.from({ length: 200 }, (_, i) => row(String(i), `sub-${Math.floor(i / 2)}`));
    const waves = publishWaves(rows);
    expect(waves).toHaveLength(2);
    expect(waves[0].map((r) => Number(r.id))).toEqual(rows.filter((_, i) => i % 2 === 0).map((r) => Number(r.id)));
  });

  it('should return no wave for no rows, keep every row exactly once, seq order in each wave and per aggregate', () => {
    expect(publishWaves([])).toEqual([]);
    const rows = Array.from({ length: 50 }, (_, i) => row(String(i), i % 5 === 0 ? null : `agg-${(i * 7) % 9}`));
    const waves = publishWaves(rows);
    expect(
      waves
        .flat()
        .map((r) => Number(r.id))
        .sort((a, b) => a - b),
    ).toEqual(rows.map((r) => Number(r.id)));
    for (const wave of waves) {
      const seqs = wave.map((r) => Number(r.id));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      const keys = wave.map((r) => r.aggregate_id ?? r.id);
      expect(new Set(keys).size).toBe(keys.length);
    }
    // an aggregate's events sit in strictly later waves in seq order
    const waveOf = new Map(waves.flatMap((w, k) => w.map((r) => [r.id, k] as const)));
    const lastWave = new Map<string, number>();
    for (const r of rows) {
      const key = r.aggregate_id ?? r.id;
      const k = waveOf.get(r.id)!;
      expect(k).toBeGreaterThan(lastWave.get(key) ?? -1);
      lastWave.set(key, k);
    }
  });
});
