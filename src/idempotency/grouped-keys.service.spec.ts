import { ManualClock } from '../common/clock/clock.js';
import type { Tx, UnitOfWork } from '../database/unit-of-work.js';
import { GroupedKey, RunAlone } from './grouped-key.js';
import { GroupedKeys, type KeyDecision } from './grouped-keys.service.js';
import type { GroupClaimRow, GroupKeyRequest, IdempotencyRepository } from './idempotency.repository.js';

const key = (k: string, hash = 'h1', scope = 'internal') => new GroupedKey(scope, k, 'POST', '/usage/record', hash, 200);
const row = (ord: number, r: Partial<GroupClaimRow>): GroupClaimRow => ({
  ord,
  locked: true,
  owned: false,
  state: null,
  requestHash: null,
  responseBody: null,
  ...r,
});

describe('GroupedKeys', () => {
  const tx = {} as Tx;
  const claimed: GroupKeyRequest[][] = [];
  const claim = async (keys: GroupedKey[], rows: GroupClaimRow[]): Promise<KeyDecision[]> => {
    const store = {
      claimGroup: (_tx: Tx, requests: GroupKeyRequest[]) => {
        claimed.push(requests);
        return Promise.resolve(rows);
      },
    } as unknown as IdempotencyRepository;
    return new GroupedKeys(store, new ManualClock('2026-12-07T00:00:00Z'), {} as UnitOfWork).claim(
      tx,
      keys.map((k) => ({ key: k, body: { for: k.key } })),
    );
  };
  beforeEach(() => (claimed.length = 0));

  it('should claim each key with its response, and decide each request from its key row: owned, replay, 409 reused (final), or run alone (not final)', async () => {
    const decisions = await claim(
      [key('owned'), key('done'), key('other-body'), key('busy'), key('old-claim'), key('vanished')],
      [
        row(0, { owned: true }),
        row(1, { state: 'completed', requestHash: 'h1', responseBody: { ok: 1 } }),
        row(2, { state: 'completed', requestHash: 'h2' }),
        row(3, { locked: false }),
        row(4, { state: 'in_progress', requestHash: 'h1' }),
        row(5, {}),
      ],
    );
    expect(claimed[0][0]).toEqual({
      scope: 'internal',
      key: 'owned',
      method: 'POST',
      path: '/usage/record',
      requestHash: 'h1',
      status: 200,
      body: { for: 'owned' },
    });
    expect(decisions[0]).toEqual({ kind: 'owned' });
    expect(decisions[1]).toEqual({ kind: 'replay', body: { ok: 1 } });
    expect(decisions[2]).toMatchObject({ kind: 'refused', final: true, error: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    for (const d of decisions.slice(3)) expect(d).toMatchObject({ kind: 'refused', final: false, error: expect.any(RunAlone) });
  });

  it('should find the keys repeated in a group (per caller), and refuse to claim one twice', async () => {
    expect([...GroupedKeys.repeats([key('a'), key('b'), key('a'), key('a', 'h1', 'user:u1'), key('b', 'h2')])]).toEqual([2, 4]);
    await expect(claim([key('a'), key('a')], [])).rejects.toThrow('each key once');
  });

  it('should not touch the database for a group without keys', async () => {
    expect(await claim([], [])).toEqual([]);
    expect(claimed).toHaveLength(0);
  });

  describe('transact', () => {
    /** A group of `keys`; the claim answers each attempt's rows from `claims` (by key), the write records each attempt's skip. */
    const group = (claims: Record<string, Partial<GroupClaimRow>[]>) => {
      const attempts: number[][] = [];
      let commits = 0;
      const store = {
        claimGroup: (_tx: Tx, requests: GroupKeyRequest[]) =>
          Promise.resolve(requests.map((r, ord) => row(ord, claims[r.key].shift() ?? { owned: true }))),
      } as unknown as IdempotencyRepository;
      const uow = {
        run: async <T>(work: (tx: Tx) => Promise<T>): Promise<T> => {
          const result = await work(tx); // a throw is a rollback
          commits++;
          return result;
        },
      } as unknown as UnitOfWork;
      const keys = new GroupedKeys(store, new ManualClock('2026-12-07T00:00:00Z'), uow);
      return { keys, attempts, commits: () => commits };
    };

    it('should claim the served keys after the write, and settle each key only once the group committed', async () => {
      const { keys, attempts, commits } = group({
        fresh: [{ owned: true }],
        done: [{ state: 'completed', requestHash: 'h1', responseBody: { stored: true } }],
        other: [{ state: 'completed', requestHash: 'h2' }],
        busy: [{ locked: false }],
        again: [{ owned: true }, { owned: true }],
      });
      const ks = [key('fresh'), key('done'), key('other'), key('busy'), undefined, key('again'), key('fresh')];
      const { result, refused } = await keys.transact(ks, (_tx, skip) => {
        const live = ks.flatMap((_, i) => (skip.has(i) ? [] : [i]));
        attempts.push(live);
        // every request but index 4 (no key) is keyed; the write serves them all
        return Promise.resolve({ result: live, responses: new Map(live.filter((i) => ks[i]).map((i) => [i, { for: i }])) });
      });
      // attempt 1 ran without the repeat of 'fresh' (index 6); its claim did not get 'done', 'other', 'busy': attempt 2 without them
      expect(attempts).toEqual([
        [0, 1, 2, 3, 4, 5],
        [0, 4, 5],
      ]);
      expect(result).toEqual([0, 4, 5]);
      expect(commits()).toBe(1);
      expect([ks[0], ks[5]].map((k) => [k?.settled, k?.replayed, k?.response])).toEqual([
        [true, false, { for: 0 }],
        [true, false, { for: 5 }],
      ]);
      expect([ks[1]?.settled, ks[1]?.replayed, ks[1]?.response]).toEqual([true, true, { stored: true }]);
      expect([...refused.keys()].sort()).toEqual([2, 3, 6]);
      expect(refused.get(2)).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(ks[2]?.settled).toBe(true); // 409 is final
      for (const i of [3, 6]) {
        expect(refused.get(i)).toBeInstanceOf(RunAlone);
        expect(ks[i]?.settled).toBe(false); // run again alone by the interceptor
      }
    });

    it('should settle nothing when the group fails', async () => {
      const { keys } = group({ a: [{ state: 'completed', requestHash: 'h1', responseBody: 1 }], b: [] });
      const ks = [key('a'), key('b')];
      let calls = 0;
      await expect(
        keys.transact(ks, () => {
          if (++calls === 2) throw new Error('database gone');
          return Promise.resolve({
            result: null,
            responses: new Map([
              [0, 'x'],
              [1, 'y'],
            ]),
          });
        }),
      ).rejects.toThrow('database gone');
      expect(ks.map((k) => k.settled)).toEqual([false, false]); // not even the replay: the request gets the group's error and runs again alone
    });
  });
});
