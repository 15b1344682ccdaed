import { Registry } from 'prom-client';
import { GroupCommits, type Outcome } from '../database/group-commit.js';
import { registerGroupCommitMetrics } from './group-commit.metrics.js';

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
};

describe('group commit metrics', () => {
  it("should report each writer's groups, items, splits and waiting items, its queues summed, every writer from the start", async () => {
    const registry = new Registry();
    const commits = new GroupCommits();
    registerGroupCommitMetrics(registry, commits);
    const answer = (items: readonly number[]) => items.map((i): Outcome<number> => ({ ok: true, value: i }));
    // a writer that fails any group holding 13 (split, then 13 fails alone)
    const usage = commits.create<number, number>('usage_record', {
      maxSize: 100,
      maxWaitMs: 0,
      concurrency: 1,
      sizeOf: () => 1,
      commit: (items) => (items.includes(13) ? Promise.reject(new Error('thirteen')) : Promise.resolve(answer(items))),
    });
    // a writer of two queues (as the consumed events' shards), one of them held by a gate
    const held = gate();
    const shard = (wait?: Promise<void>) =>
      commits.create<number, number>('event:payment.completed', {
        maxSize: 100,
        maxWaitMs: 0,
        concurrency: 1,
        sizeOf: () => 1,
        commit: async (items) => {
          await wait;
          return answer(items);
        },
      });
    const [free, busy] = [shard(), shard(held.opened)];
    commits.create<number, number>('subscription_create', {
      maxSize: 1,
      maxWaitMs: 0,
      concurrency: 1,
      sizeOf: () => 1,
      commit: (i) => Promise.resolve(answer(i)),
    });

    const before = await registry.metrics();
    for (const writer of ['usage_record', 'event:payment.completed', 'subscription_create']) {
      expect(before).toContain(`product_group_commits_total{writer="${writer}"} 0`);
      expect(before).toContain(`product_group_commit_items_total{writer="${writer}"} 0`);
      expect(before).toContain(`product_group_commit_splits_total{writer="${writer}"} 0`);
      expect(before).toContain(`product_group_commit_waiting{writer="${writer}"} 0`);
    }

    // one group of three; then a group of two with 13 in it: split, 12 commits alone, 13 fails alone
    await Promise.all([1, 2, 3].map((i) => usage.submit(i)));
    const outcomes = await Promise.allSettled([usage.submit(12), usage.submit(13)]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    await Promise.all([free.submit(1), free.submit(2)]);
    // the held shard commits its first group only when opened; two more wait behind it
    const first = busy.submit(1);
    await new Promise((r) => setImmediate(r));
    const behind = [busy.submit(2), busy.submit(3)];

    const during = await registry.metrics();
    expect(during).toContain('product_group_commits_total{writer="usage_record"} 2'); // [1,2,3] and [12]
    expect(during).toContain('product_group_commit_items_total{writer="usage_record"} 4');
    expect(during).toContain('product_group_commit_splits_total{writer="usage_record"} 1');
    expect(during).toContain('product_group_commits_total{writer="event:payment.completed"} 1');
    expect(during).toContain('product_group_commit_waiting{writer="event:payment.completed"} 2');

    held.open();
    await Promise.all([first, ...behind]);
    const after = await registry.metrics();
    expect(after).toContain('product_group_commits_total{writer="event:payment.completed"} 3');
    expect(after).toContain('product_group_commit_items_total{writer="event:payment.completed"} 5');
    expect(after).toContain('product_group_commit_waiting{writer="event:payment.completed"} 0');
    expect(after).toContain('# TYPE product_group_commits_total counter');
  });
});
