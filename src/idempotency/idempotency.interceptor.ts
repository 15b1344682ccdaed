import { createHash } from 'node:crypto';
import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { from, lastValueFrom, map, type Observable } from 'rxjs';
import type { AuthedRequest } from '../common/auth/auth.decorators.js';
import { Clock } from '../common/clock/clock.js';
import { pgCode } from '../database/pg-errors.js';
import { type Tx, UnitOfWork } from '../database/unit-of-work.js';
import { badRequest } from '../common/errors/domain-error.js';
import { isIdentifier } from '../common/validation/validators.js';
import { canonicalJson, withoutNullFields } from './canonical-json.js';
import { GroupedKey, IDEMPOTENT_GROUPED, RunAlone } from './grouped-key.js';
import { IdempotencyErrors } from './idempotency.errors.js';
import { IdempotencyMetrics } from './idempotency.metrics.js';
import { type ClaimRequest, IdempotencyRepository } from './idempotency.repository.js';
import type { IdempotencyKeyEntity } from './idempotency-key.entity.js';

/** How long a request waits for a concurrent request with the same key to finish before 409. */
export const IDEMPOTENCY_WAIT_MS = 10_000;
const HTTP_CODE_METADATA = '__httpCode__';
/** lock_not_available: the wait for the key (or another lock of the request) ran out */
const LOCK_TIMEOUT = '55P03';

type Outcome = { replayed: true; body: unknown } | { replayed: false; body: unknown };

/**
 * `Idempotency-Key` on every POST (SPEC section 1). The whole request runs in ONE request
 * transaction (`UnitOfWork.around`): the key is claimed in `idempotency_keys` first, the handler's
 * units of work join the transaction, and the response is stored in it before the COMMIT. So the
 * effect and its stored response commit together or not at all: a process killed mid-request
 * leaves nothing (its transaction is rolled back), and a retry runs again; a retry after the
 * COMMIT replays the response. Of concurrent requests with one key exactly one runs: the claim of
 * the others waits on the key's advisory lock until the first commits (they replay its response) or
 * rolls back (one of them runs); after IDEMPOTENCY_WAIT_MS the wait ends in 409
 * IDEMPOTENCY_KEY_IN_PROGRESS. A completed key replays with `Idempotent-Replayed: true` when the
 * body matches, else 409 IDEMPOTENCY_KEY_REUSED. A failed request (any 4xx or 5xx) rolls back:
 * it changed nothing and stored nothing, so a retry with the key runs again.
 *
 * Cost, only for requests that send a key: the request holds one database connection from the
 * claim to the COMMIT (also while it calls the account service), and its units of work are
 * savepoints. A route whose writer commits in groups (`@Idempotent({ grouped: true })`: usage
 * records, subscription creates) has its group claim the key and store the response instead
 * (`grouped`, GroupedKey).
 */
/** A key's row held for this same request by another one still running (it waits for that one, alone). */
const pending = (row: IdempotencyKeyEntity, requestHash: string): boolean => row.requestHash === requestHash && row.state !== 'completed';

/** An earlier request's completed row under the key: its response replayed, or 409 when its body was another. */
function replayOf(row: IdempotencyKeyEntity, requestHash: string): Outcome {
  if (row.requestHash !== requestHash) throw IdempotencyErrors.reused();
  return { replayed: true, body: row.responseBody };
}

@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly store: IdempotencyRepository,
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
    private readonly reflector: Reflector,
    private readonly metrics: IdempotencyMetrics,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<AuthedRequest>();
    if (req.method !== 'POST') return next.handle();
    const raw = req.headers['idempotency-key'];
    if (raw === undefined) return next.handle();
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (!isIdentifier(key)) {
      throw badRequest('Invalid Idempotency-Key header', [
        { field: 'Idempotency-Key', message: 'Idempotency-Key must be 1-255 characters without control characters' },
      ]);
    }
    const principal = req.principal ?? { kind: 'anonymous' };
    const scope = principal.kind === 'user' ? `user:${principal.userId}` : principal.kind;
    const path = req.url;
    const requestHash = createHash('sha256')
      .update(`${req.method}\n${path}\n${canonicalJson(withoutNullFields(req.body))}`)
      .digest('hex');
    const reply = http.getResponse<FastifyReply>();
    const status = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? 201;
    const claim = { scope, key, method: req.method, path, requestHash };

    const run = this.reflector.get<boolean | undefined>(IDEMPOTENT_GROUPED, context.getHandler())
      ? this.grouped(req, next, claim, status)
      : this.alone(next, claim, status);
    return from(run).pipe(
      map((outcome) => {
        if (outcome.replayed) void reply.header('Idempotent-Replayed', 'true');
        return outcome.body;
      }),
    );
  }

  /**
   * The classic way: the whole request in ONE request transaction that claims the key first,
   * replays a completed one, or runs the handler and stores its response before the COMMIT.
   */
  private alone(next: CallHandler, claim: Omit<ClaimRequest, 'now'>, status: number): Promise<Outcome> {
    return this.uow.around(async (tx): Promise<Outcome> => {
      await this.store.setLockTimeout(tx, IDEMPOTENCY_WAIT_MS);
      if (!(await this.claim(tx, { ...claim, now: this.clock.now() }))) {
        const row = await this.store.find(tx, claim.scope, claim.key);
        if (!row) throw IdempotencyErrors.inProgress(); // gone again in between (expired and pruned): retry
        if (pending(row, claim.requestHash)) throw IdempotencyErrors.inProgress();
        return replayOf(row, claim.requestHash);
      }
      const body: unknown = await lastValueFrom(next.handle(), { defaultValue: undefined });
      await this.store.complete(tx, claim.scope, claim.key, status, body);
      return { replayed: false, body };
    });
  }

  /**
   * A grouped route (`@Idempotent({ grouped: true })`): the handler hands the key to its writer,
   * whose group claims and settles it (GroupedKey). A request that failed before its group claimed
   * anything looks the key up once: its error is the answer when the key holds nothing, the stored
   * response (or 409) when it holds an earlier request's. A request whose key was busy (RunAlone, or
   * held by a request still running) runs again the classic way: the handler is invoked a second
   * time (pipes included), now without the key. Safe whatever the first attempt did: had its group
   * committed the effect, it committed the stored response with it, and the classic claim replays that.
   */
  private async grouped(req: AuthedRequest, next: CallHandler, claim: Omit<ClaimRequest, 'now'>, status: number): Promise<Outcome> {
    const key = new GroupedKey(claim.scope, claim.key, claim.method, claim.path, claim.requestHash, status);
    const route = req.routeOptions.url ?? 'unmatched';
    key.attachTo(req);
    try {
      await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (err) {
      if (key.settled) {
        this.metrics.settled(route, 'group');
        throw err;
      }
      GroupedKey.detachFrom(req);
      // failed before its group claimed anything (the account service down, an unknown user): an
      // earlier request with the key may have an answer to replay; without one, this error is the
      // answer (running the handler again had made every account and organization call twice)
      if (!(err instanceof RunAlone)) {
        const earlier = await this.uow.read((tx) => this.store.find(tx, claim.scope, claim.key));
        if (!earlier || !pending(earlier, claim.requestHash)) {
          this.metrics.settled(route, 'group');
          if (!earlier) throw err;
          return replayOf(earlier, claim.requestHash);
        }
      }
      this.metrics.settled(route, 'alone');
      return this.alone(next, claim, status);
    }
    if (!key.settled) throw new Error(`${req.url}: a grouped route answered without settling its Idempotency-Key`);
    this.metrics.settled(route, 'group');
    return { replayed: key.replayed, body: key.response };
  }

  /** The claim; a wait that runs out (another request holds the key) is 409 IDEMPOTENCY_KEY_IN_PROGRESS. */
  private async claim(tx: Tx, r: ClaimRequest): Promise<boolean> {
    try {
      return await this.store.claim(tx, r);
    } catch (err) {
      if (pgCode(err) === LOCK_TIMEOUT) throw IdempotencyErrors.inProgress();
      throw err;
    }
  }
}
