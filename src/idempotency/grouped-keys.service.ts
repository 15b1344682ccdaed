import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock/clock.js';
import { type Tx, UnitOfWork } from '../database/unit-of-work.js';
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

/** What a group's write did: its result for the writer, and the response of each keyed request it served (by index). */
export interface KeyedWrite<T> {
  result: T;
  responses: ReadonlyMap<number, unknown>;
}

/** A group's claim did not get every key: the transaction rolls back; the decisions for the requests whose keys it did not get. */
class KeysTaken extends Error {
  constructor(readonly decisions: [number, KeyDecision][]) {
    super('an Idempotency-Key of the group is not its own');
  }
}

/**
 * The group side of `Idempotency-Key` (see GroupedKey). A group commit writes its effects first,
 * then claims the keys of its requests with their responses in ONE statement (`claim`), in the same
 * transaction (`transact`). When every key is its own, it commits: each keyed request's effect and
 * stored response commit together, as in a request transaction, without a transaction per request.
 * When one is not (a retry of a completed key, a key another transaction holds), the group rolls
 * back and runs again without that request, which is answered from the claim's decision.
 */
@Injectable()
export class GroupedKeys {
  constructor(
    private readonly store: IdempotencyRepository,
    private readonly clock: Clock,
    private readonly uow: UnitOfWork,
  ) {}

  /**
   * ONE transaction for a group whose requests may carry keys (`keys[i]`; undefined for a request
   * without one, or one the group does not run): `write(tx, skip)` writes the effects of every
   * request not in `skip` and answers the response of each keyed request it served; then their keys
   * are claimed with those responses (`claim`). When the group gets every key, it commits, and each
   * served keyed request is answered (`GroupedKey.answered`). When not, it rolls back and runs again
   * with those requests in `skip`, each settled from the claim: a replay is answered with the stored
   * response, 409 IDEMPOTENCY_KEY_REUSED is final (`GroupedKey.failed`), the others run alone. A key
   * repeated in the group is skipped from the start (it runs alone). Returns the last write's result,
   * and the error of each skipped request that is not a replay (the caller fails those requests).
   * A keyed request the write served no response for (refused by the writer) keeps no claim and
   * stays unsettled: the interceptor runs it again alone.
   */
  async transact<T>(
    keys: readonly (GroupedKey | undefined)[],
    write: (tx: Tx, skip: ReadonlySet<number>) => Promise<KeyedWrite<T>>,
  ): Promise<{ result: T; refused: Map<number, Error> }> {
    const skip = new Set<number>();
    const decided = new Map<number, KeyDecision>();
    const keyed = keys.flatMap((key, i) => (key ? [i] : []));
    for (const p of GroupedKeys.repeats(keyed.map((i) => keys[i] as GroupedKey))) {
      skip.add(keyed[p]);
      decided.set(keyed[p], runAlone('repeated in its group'));
    }
    for (;;) {
      let committed: { result: T; served: [number, unknown][] };
      try {
        committed = await this.uow.run(async (tx) => {
          const w = await write(tx, skip);
          const served = [...w.responses].filter(([i]) => keys[i] !== undefined && !skip.has(i));
          const decisions = await this.claim(
            tx,
            served.map(([i, body]) => ({ key: keys[i] as GroupedKey, body })),
          );
          const taken = served.flatMap(([i], n): [number, KeyDecision][] => (decisions[n].kind === 'owned' ? [] : [[i, decisions[n]]]));
          if (taken.length > 0) throw new KeysTaken(taken);
          return { result: w.result, served };
        });
      } catch (err) {
        if (!(err instanceof KeysTaken)) throw err;
        for (const [i, decision] of err.decisions) {
          skip.add(i);
          decided.set(i, decision);
        }
        continue;
      }
      // committed: settle every key of the group
      for (const [i, body] of committed.served) (keys[i] as GroupedKey).answered(body);
      const refused = new Map<number, Error>();
      for (const [i, decision] of decided) {
        const key = keys[i] as GroupedKey;
        if (decision.kind === 'replay') key.answered(decision.body, true);
        else if (decision.kind === 'refused') {
          if (decision.final) key.failed();
          refused.set(i, decision.error);
        }
      }
      return { result: committed.result, refused };
    }
  }

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
