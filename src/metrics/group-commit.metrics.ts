import { Counter, Gauge, type Registry } from 'prom-client';
import type { GroupCommits, WriterStats } from '../database/group-commit.js';

/**
 * The group commits (GroupCommits), read when Prometheus scrapes; nothing runs on the write path.
 * `writer`: `usage_record` (single records and batches), `subscription_create`, and
 * `event:<type>` for each consumed event type. Every writer's series exist from the start (0).
 *
 * - `product_group_commits_total`: groups committed;
 * - `product_group_commit_items_total`: requests (or consumed events) in them; items ÷ groups is
 *   the mean group size (1 means every write pays its own transaction: no concurrency to gather);
 * - `product_group_commit_splits_total`: groups whose transaction failed and were retried one item
 *   at a time (one request's database error, a concurrent writer's conflict);
 * - `product_group_commit_waiting`: items waiting for a group now (a queue that keeps growing means
 *   the database does not keep up).
 */
export function registerGroupCommitMetrics(registry: Registry, groupCommits: GroupCommits): void {
  const counter = (name: string, help: string, read: (s: WriterStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['writer'],
      registers: [registry],
      collect() {
        // the queues keep the totals: the counter is set to them on each scrape
        this.reset();
        for (const s of groupCommits.stats()) this.inc({ writer: s.writer }, read(s));
      },
    });
  counter('product_group_commits_total', 'Group commits: groups committed, by writer', (s) => s.groups);
  counter(
    'product_group_commit_items_total',
    'Group commits: requests or consumed events in the committed groups, by writer',
    (s) => s.items,
  );
  counter(
    'product_group_commit_splits_total',
    'Group commits: groups whose transaction failed and were retried one item at a time, by writer',
    (s) => s.splits,
  );
  new Gauge({
    name: 'product_group_commit_waiting',
    help: 'Group commits: items waiting for a group, by writer',
    labelNames: ['writer'],
    registers: [registry],
    collect() {
      for (const s of groupCommits.stats()) this.set({ writer: s.writer }, s.waiting);
    },
  });
}
