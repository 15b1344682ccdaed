import { GroupCommits } from '../../database/group-commit.js';
import type { InboxRepository } from '../inbox/inbox.repository.js';
import type { InboundEvent } from '../models/envelope.js';
import { FakeUnitOfWork, testConfig } from '../../testing/doubles.js';
import { EventGroups, GROUP_SHARDS, shardOf, type GroupedEvent } from './event-groups.js';

const event = (id: string): InboundEvent => ({
  id,
  type: 'payment.completed',
  source: 'payment_service',
  timestamp: '2026-12-06T00:00:00Z',
  data: {},
  metadata: {},
  raw: false,
  natsSubject: 'events.payment_service.payment.completed',
  streamSequence: 1,
});

/** An inbox that claims every id once. */
class MemoryInbox {
  readonly seen = new Set<string>();
  claim(_tx: unknown, entries: readonly { id: string }[]): Promise<Set<string>> {
    const fresh = entries.filter((e) => !this.seen.has(e.id)).map((e) => e.id);
    for (const id of fresh) this.seen.add(id);
    return Promise.resolve(new Set(fresh));
  }
}

/** Two keys that land in different queues. */
function keysInTwoShards(): [string, string] {
  const first = 'sub_0';
  for (let i = 1; i < 1000; i++) if (shardOf(`sub_${i}`, GROUP_SHARDS) !== shardOf(first, GROUP_SHARDS)) return [first, `sub_${i}`];
  throw new Error('no two shards');
}

describe('EventGroups', () => {
  const groups = () =>
    new EventGroups(new FakeUnitOfWork().asUnitOfWork(), new MemoryInbox() as unknown as InboxRepository, testConfig(), new GroupCommits());

  it('should send one key always to one queue and spread keys over the queues', () => {
    expect(shardOf('sub_abc', GROUP_SHARDS)).toBe(shardOf('sub_abc', GROUP_SHARDS));
    const used = new Set(Array.from({ length: 100 }, (_, i) => shardOf(`sub_${i}`, GROUP_SHARDS)));
    expect(used.size).toBe(GROUP_SHARDS);
    for (let i = 0; i < 100; i++) expect(shardOf(`user_${i}`, 1)).toBe(0);
  });

  it("should apply one key's events in the order received while another key's queue commits at the same time", async () => {
    const [a, b] = keysInTwoShards();
    const applied: string[] = [];
    let releaseA!: () => void;
    const aBlocked = new Promise<void>((resolve) => (releaseA = resolve));
    const g = groups().create<string>(
      'payment.completed',
      async (_tx, events: readonly GroupedEvent<string>[]) => {
        // the first group of key a waits until key b's events have committed: they are in another queue
        if (events.some((e) => e.event.id === 'a1')) await aBlocked;
        applied.push(...events.map((e) => e.event.id));
        return events.map(() => ({ changed: 1 }));
      },
      (key) => key,
    );
    const a1 = g.apply(event('a1'), a, 1);
    const a2 = g.apply(event('a2'), a, 1); // queued behind a1's group (one group at a time per queue)
    await g.apply(event('b1'), b, 1);
    await g.apply(event('b2'), b, 1);
    expect(applied).toEqual(['b1', 'b2']); // a1's group still open
    releaseA();
    await Promise.all([a1, a2]);
    expect(applied.filter((id) => id.startsWith('a'))).toEqual(['a1', 'a2']);
  });

  it('should use one queue for a type without a key', async () => {
    const g = groups();
    let open = 0;
    let most = 0;
    const group = g.create<string>('user.deleted', async (_tx, events) => {
      most = Math.max(most, ++open);
      await new Promise((resolve) => setTimeout(resolve, 5));
      open--;
      return events.map(() => ({ changed: 0 }));
    });
    await Promise.all(['x', 'y', 'z', 'w'].map((id, i) => group.apply(event(id), `user_${i}`, 1)));
    expect(most).toBe(1);
    expect(g.stats.items).toBe(4);
  });
});
