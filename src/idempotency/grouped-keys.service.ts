import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock/clock.js';
import type { Tx } from '../database/unit-of-work.js';
import { type GroupedKey, RunAlone } from './grouped-key.js';
import { IdempotencyErrors } from './idempotency.errors.js';
import { IdempotencyRepository } from './idempotency.repository.js';

/**
 * What a group's claim decided for a keyed request: `owned` (the group stored its response under
 * the key; its COMMIT makes effect and response visible together), `replay` (a completed key with
 * the same request: its stored response), or `refused` with an error: final (409
 * IDEMPOTENCY_KEY_REUSED), or not (RunAlone: the interceptor runs the request again in a request
 * transaction of its own, which waits for the key).
 */
export type KeyDecision = { kind: 'owned' } | { kind: 'replay'; body: unknown } | { kind: 'refused'; error: Error; final: boolean };

/**
 * The group side of `Idempotency-Key` (see GroupedKey). A group commit writes its effects first,
 * then claims the keys of its requests with their responses in ONE statement (`claim`), in the same
 * transaction. When every key is its own, it commits: each keyed request's effect and stored
 * response commit together, as in a request transaction, without a transaction per request. When
 * one is not (a retry of a completed key, a key another transaction holds), the group rolls back
 * and runs again without that request, which is answered from the claim's decision.
 */
@Injectable()
export class GroupedKeys {
  constructor(
    private readonly store: IdempotencyRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * The positions in `keys` of keys seen earlier in the list (the same scope and key twice in one
   * group): such a request runs alone, after the group (it then replays the first one's response).
   */
  static repeats(keys: readonly GroupedKey[]): Set<number> {
    const seen = new Set<string>();
    const repeats = new Set<number>();
    for (const [i, key] of keys.entries()) {
      if (seen.has(key.id)) repeats.add(i);
      seen.add(key.id);
    }
    return repeats;
  }

  /** The decision for a key repeated in its group (see `repeats`). */
  static repeated(): KeyDecision {
    return runAlone('repeated in its group');
  }

  /**
   * Claims distinct `keys` in the group's transaction `tx`, each stored with its response; a key
   * held by another open transaction is not waited for. The decision for each, in order.
   */
  async claim(tx: Tx, keys: readonly { key: GroupedKey; body: unknown }[]): Promise<KeyDecision[]> {
    if (keys.length === 0) return [];
    if (GroupedKeys.repeats(keys.map((k) => k.key)).size > 0) throw new Error('a group claims each key once');
    const rows = await this.store.claimGroup(
      tx,
      keys.map(({ key, body }) => ({
        scope: key.scope,
        key: key.key,
        method: key.method,
        path: key.path,
        requestHash: key.requestHash,
        status: key.status,
        body,
      })),
      this.clock.now(),
    );
    return keys.map(({ key }, i): KeyDecision => {
      const row = rows[i];
      if (row.owned) return { kind: 'owned' };
      if (!row.locked) return runAlone('held by another transaction');
      if (row.state === null) return runAlone('gone in between');
      if (row.requestHash !== key.requestHash) return { kind: 'refused', error: IdempotencyErrors.reused(), final: true };
      if (row.state !== 'completed') return runAlone('claimed by an earlier version');
      return { kind: 'replay', body: row.responseBody };
    });
  }
}

const runAlone = (reason: string): KeyDecision => ({ kind: 'refused', error: new RunAlone(reason), final: false });
