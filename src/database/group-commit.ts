import { AsyncResource } from 'node:async_hooks';
import { Injectable } from '@nestjs/common';

/**
 * Group commit (DESIGN "Performance patterns"): concurrent writes are gathered and committed
 * together, each caller awaiting its own outcome. Everything submitted while the previous group is
 * committing (or within `maxWaitMs` of an idle queue) forms the next group, up to `maxSize`
 * (measured by `sizeOf`, e.g. records). At most `concurrency` groups are committing at once.
 *
 * Isolation: `commit(items)` answers each item (a result or its own error). When it throws instead
 * (the whole transaction failed), a group of several items is split and each item is committed
 * alone, so one request's failure never fails another; a lone item gets the error. A failure that
 * concerns every item alike (`shouldSplit` false: the database is unreachable) fails them all at once.
 */
export interface GroupCommitOptions<I, R> {
  maxSize: number;
  maxWaitMs: number;
  concurrency: number;
  sizeOf: (item: I) => number;
  /** Commits a group; returns each item's outcome, in the order given. */
  commit: (items: readonly I[]) => Promise<Outcome<R>[]>;
  /**
   * Whether a group's failure may be one item's doing (split and retry each alone), or concerns
   * every item alike (the database is unreachable: all fail at once). Default: split.
   */
  shouldSplit?: (error: unknown) => boolean;
}

export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Pending<I, R> {
  item: I;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export class GroupCommitQueue<I, R> {
  /**
   * Groups run in the queue's own async context, not in that of the request that happened to
   * trigger the flush (logs written while committing a group belong to no single request).
   */
  private readonly scope = new AsyncResource('GroupCommit');
  private queue: Pending<I, R>[] = [];
  private queuedSize = 0;
  private inFlight = 0;
  private timer?: NodeJS.Timeout;
  private scheduled = false;
  /** groups committed, items in them, groups split after a failure, and the largest group, for metrics and tests */
  readonly stats = { groups: 0, items: 0, splits: 0, largest: 0 };

  constructor(private readonly options: GroupCommitOptions<I, R>) {}

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.queuedSize += this.options.sizeOf(item);
      this.schedule();
    });
  }

  /** How many items wait for a group. */
  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.inFlight >= this.options.concurrency) return; // the next group forms when one finishes
    if (this.queuedSize >= this.options.maxSize) {
      this.scope.runInAsyncScope(() => this.flush());
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    // everything arriving in this turn of the event loop (or within maxWaitMs) joins the group
    const flush = () => this.scope.runInAsyncScope(() => this.flush());
    if (this.options.maxWaitMs > 0) this.timer = setTimeout(flush, this.options.maxWaitMs);
    else setImmediate(flush);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.scheduled = false;
    if (this.queue.length === 0 || this.inFlight >= this.options.concurrency) return;
    const group: Pending<I, R>[] = [];
    let size = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0];
      const nextSize = this.options.sizeOf(next.item);
      if (group.length > 0 && size + nextSize > this.options.maxSize) break;
      group.push(next);
      size += nextSize;
      this.queue.shift();
    }
    this.queuedSize -= size;
    this.inFlight++;
    void this.run(group).finally(() => {
      this.inFlight--;
      if (this.queue.length > 0) this.schedule();
    });
    if (this.queue.length > 0) this.schedule();
  }

  private async run(group: Pending<I, R>[]): Promise<void> {
    let outcomes: Outcome<R>[];
    try {
      outcomes = await this.options.commit(group.map((p) => p.item));
      this.stats.groups++;
      this.stats.items += group.length;
      this.stats.largest = Math.max(this.stats.largest, group.length);
    } catch (err) {
      if (group.length === 1 || this.options.shouldSplit?.(err) === false) {
        for (const pending of group) pending.reject(err);
        return;
      }
      // the whole group failed: commit each alone, so the failure lands on the item that causes it
      this.stats.splits++;
      for (const pending of group) await this.run([pending]);
      return;
    }
    outcomes.forEach((outcome, i) => (outcome.ok ? group[i].resolve(outcome.value) : group[i].reject(outcome.error)));
  }
}

/** What a writer's group commit has done so far (the sum over its queues), for metrics. */
export interface WriterStats {
  /** the writer's name (the metrics' `writer` label) */
  writer: string;
  groups: number;
  items: number;
  splits: number;
  /** items waiting for a group now */
  waiting: number;
}

/**
 * The group commit queues of this process, by writer: the writers create their queues here, and
 * the metrics read what they did when Prometheus scrapes (`product_group_commit_*`), nothing on
 * the write path. A writer with several queues (the consumed events' shards) is reported as one.
 */
@Injectable()
export class GroupCommits {
  private readonly writers = new Map<string, GroupCommitQueue<never, unknown>[]>();

  /** A new queue of `writer` (see GroupCommitQueue). */
  create<I, R>(writer: string, options: GroupCommitOptions<I, R>): GroupCommitQueue<I, R> {
    const queue = new GroupCommitQueue(options);
    const queues = this.writers.get(writer) ?? [];
    queues.push(queue as unknown as GroupCommitQueue<never, unknown>);
    this.writers.set(writer, queues);
    return queue;
  }

  /** Every writer's totals, in the order the writers were created. */
  stats(): WriterStats[] {
    return [...this.writers].map(([writer, queues]) => {
      const total: WriterStats = { writer, groups: 0, items: 0, splits: 0, waiting: 0 };
      for (const q of queues) {
        total.groups += q.stats.groups;
        total.items += q.stats.items;
        total.splits += q.stats.splits;
        total.waiting += q.waiting;
      }
      return total;
    });
  }
}
