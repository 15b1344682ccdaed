import { GroupCommitQueue, type Outcome } from './group-commit.js';

const deferred = () => {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  return { promise, release };
};

describe('GroupCommitQueue', () => {
  it('should commit what arrives while a group is committing as the next group, each caller getting its own answer', async () => {
    const groups: number[][] = [];
    const gate = deferred();
    const queue = new GroupCommitQueue<number, number>({
      maxSize: 100,
      maxWaitMs: 0,
      concurrency: 1,
      sizeOf: () => 1,
      commit: async (items) => {
        groups.push([...items]);
        if (groups.length === 1) await gate.promise;
        return items.map((i): Outcome<number> => (i === 4 ? { ok: false, error: new Error('four') } : { ok: true, value: i * 10 }));
      },
    });
    const first = queue.submit(1);
    await new Promise((r) => setImmediate(r)); // the first group is committing
    const later = [queue.submit(2), queue.submit(3), queue.submit(4)];
    gate.release();
    expect(await first).toBe(10);
    const settled = await Promise.allSettled(later);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([20, 30, 'four']);
    expect(groups).toEqual([[1], [2, 3, 4]]);
    expect(queue.stats).toMatchObject({ groups: 2, items: 4 });
  });

  it('should split a group whose commit fails and retry each item alone, so only the culprit fails', async () => {
    const commits: number[][] = [];
    const queue = new GroupCommitQueue<number, string>({
      maxSize: 100,
      maxWaitMs: 0,
      concurrency: 1,
      sizeOf: () => 1,
      commit: (items) => {
        commits.push([...items]);
        if (items.includes(13)) return Promise.reject(new Error('database refused 13'));
        return Promise.resolve(items.map((i) => ({ ok: true as const, value: `ok ${i}` })));
      },
    });
    const settled = await Promise.allSettled([12, 13, 14].map((i) => queue.submit(i)));
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([
      'ok 12',
      'database refused 13',
      'ok 14',
    ]);
    expect(commits).toEqual([[12, 13, 14], [12], [13], [14]]);
    expect(queue.stats.splits).toBe(1);
  });

  it('should fail every item at once when the failure concerns them all, and cap a group at maxSize', async () => {
    const sizes: number[] = [];
    const down = new GroupCommitQueue<number, number>({
      maxSize: 2,
      maxWaitMs: 0,
      concurrency: 1,
      sizeOf: () => 1,
      commit: (items) => {
        sizes.push(items.length);
        return Promise.reject(new Error('unreachable'));
      },
      shouldSplit: () => false,
    });
    const settled = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => down.submit(i)));
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
    expect(sizes).toEqual([2, 2, 1]);
  });
});
