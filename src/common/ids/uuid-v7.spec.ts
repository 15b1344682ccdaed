import { uuidv7 } from './uuid-v7.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('should be a version 7, variant 10 UUID carrying the millisecond time in its first 48 bits', () => {
    const at = Date.UTC(2026, 11, 4, 18, 35, 3, 251);
    const id = uuidv7(at);
    expect(id).toMatch(UUID);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('should sort by time and never repeat', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => uuidv7(1_700_000_000_000 + Math.floor(i / 10)));
    expect(new Set(ids).size).toBe(ids.length);
    const times = ids.map((id) => id.slice(0, 13));
    expect(times).toEqual([...times].sort());
    for (const id of ids) expect(id).toMatch(UUID);
  });
});
