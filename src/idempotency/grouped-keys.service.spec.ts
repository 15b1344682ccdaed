import { ManualClock } from '../common/clock/clock.js';
import type { Tx } from '../database/unit-of-work.js';
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
    return new GroupedKeys(store, new ManualClock('2026-12-07T00:00:00Z')).claim(
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
    expect(GroupedKeys.repeated()).toMatchObject({ kind: 'refused', final: false, error: expect.any(RunAlone) });
  });

  it('should not touch the database for a group without keys', async () => {
    expect(await claim([], [])).toEqual([]);
    expect(claimed).toHaveLength(0);
  });
});
