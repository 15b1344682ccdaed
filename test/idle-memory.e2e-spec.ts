import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { freePorts, waitFor } from './chaos/support/proc.js';
import { ensureBuilt } from './chaos/support/service.js';
import { startBundledService } from './support/bundled-service.js';
import { createTestDatabase } from './support/database.js';

const SECRET = 'idle-memory-secret';
const INTERNAL = { 'content-type': 'application/json', 'x-internal-service': 'true', 'x-internal-service-secret': SECRET };

/** VmRSS and VmHWM (the peak) of a process, in MiB. */
function residentMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

interface IdleCollection {
  rss_before_mib: number;
  rss_after_mib: number;
  pause_ms: number;
}

describe('memory given back when the process goes quiet (MEMORY_IDLE_GC_MS, the service as `npm start` runs it)', () => {
  it('after a burst of usage batches, one full collection returns the grown heap and the service answers as before', async () => {
    await ensureBuilt();
    const db = await createTestDatabase('product_idle_memory');
    const [port] = await freePorts(1);
    const base = `http://127.0.0.1:${port}`;
    const service = startBundledService({
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      NATS_URL: 'off',
      LOG_LEVEL: 'info',
      INTERNAL_SERVICE_SECRET: SECRET,
      RATE_LIMIT_PER_MIN: '100000000',
      MEMORY_IDLE_GC_MS: '1000',
      MEMORY_IDLE_GC_GROWTH_MIB: '16',
    });
    const collections = (): IdleCollection[] =>
      service
        .output()
        .split('\n')
        .filter((line) => line.includes('"IdleMemoryReducer"') && line.includes('quiet after load'))
        .map((line) => JSON.parse(line) as IdleCollection);
    try {
      await waitFor(
        'the bundled service ready',
        async () => (await fetch(`${base}/health/ready`).catch(() => null))?.status === 200,
        60_000,
      );
      const pid = service.child.pid as number;
      const atStart = residentMiB(pid).rss;

      // four callers post 1,000-record batches until the process holds 48 MiB more than at start
      let sent = 0;
      const caller = async (callerId: number): Promise<void> => {
        while (residentMiB(pid).rss < atStart + 48 && sent < 400) {
          const batch = sent++;
          const records = Array.from({ length: 1000 }, (_, i) => ({
            user_id: `idle-user-${i % 50}`,
            product_id: 'gpt-4o',
            usage_amount: 10,
            request_id: `idle-${callerId}-${batch}-${i}`,
          }));
          const res = await fetch(`${base}/api/v1/product/usage/records/batch`, {
            method: 'POST',
            headers: INTERNAL,
            body: JSON.stringify({ records }),
          });
          expect(res.status).toBe(200);
        }
      };
      await Promise.all([0, 1, 2, 3].map(caller));
      const loaded = residentMiB(pid).rss;
      expect(loaded).toBeGreaterThanOrEqual(atStart + 48);

      // quiet now: after a whole second of quiet the reducer collects, once, and the memory goes back
      const [collection] = await waitFor('the idle collection', () => collections().length > 0 && collections(), 30_000);
      expect(collection.rss_before_mib).toBeGreaterThanOrEqual(atStart + 16);
      expect(collection.rss_after_mib).toBeLessThan(collection.rss_before_mib - 16);
      const after = residentMiB(pid);
      expect(after.rss).toBeLessThan(after.peak - 16);

      // every accepted record is stored, and the service still answers
      const pg = new Client({ connectionString: db.url });
      await pg.connect();
      try {
        const { rows } = await pg.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_records');
        expect(rows[0].n).toBe(sent * 1000);
      } finally {
        await pg.end();
      }
      expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    } finally {
      await service.stop();
      await db.drop();
    }
  }, 180_000);
});
