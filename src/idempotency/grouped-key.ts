import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** Metadata of `@Idempotent({ grouped: true })`. */
export const IDEMPOTENT_GROUPED = 'product:idempotentGrouped';
/** Where the interceptor leaves a request's GroupedKey for the handler (`@GroupedIdempotencyKey()`). */
export const GROUPED_KEY = Symbol('groupedIdempotencyKey');
type WithGroupedKey = FastifyRequest & { [GROUPED_KEY]?: GroupedKey };

/**
 * The `Idempotency-Key` of a POST whose route commits in groups (`@Idempotent({ grouped: true })`:
 * POST /usage/record, POST /subscriptions): instead of a request transaction of its own, the
 * writer's group claims the key with the request's response in its own transaction, after its
 * writes and before its COMMIT (`GroupedKeys.transact`), and records here what the request answers
 * once the group committed.
 * A request the group could not settle (the key held by a transaction still open or repeated in the
 * group, an error before its key was claimed) is run again by the interceptor the classic way, in
 * a request transaction: safe, because a group that committed the effect committed the stored
 * response with it (the classic claim then replays it).
 */
export class GroupedKey {
  /** the answer is final: `response` (fresh or replayed), or the error the request failed with */
  settled = false;
  /** the response is the stored one of an earlier request */
  replayed = false;
  /** the response body, as stored under the key */
  response: unknown;

  constructor(
    readonly scope: string,
    readonly key: string,
    readonly method: string,
    readonly path: string,
    readonly requestHash: string,
    /** the route's status code, stored with the response */
    readonly status: number,
  ) {}

  /** Its group committed: the request answers `body` (`replayed`: the stored response of an earlier request). */
  answered(body: unknown, replayed = false): void {
    this.response = body;
    this.replayed = replayed;
    this.settled = true;
  }

  /** Its group committed without it and its error is final (409 IDEMPOTENCY_KEY_REUSED: the key holds another request). */
  failed(): void {
    this.settled = true;
  }

  /** scope and key: two requests with the same id share the key */
  get id(): string {
    return `${this.scope}\n${this.key}`;
  }

  attachTo(req: FastifyRequest): void {
    (req as WithGroupedKey)[GROUPED_KEY] = this;
  }

  static detachFrom(req: FastifyRequest): void {
    delete (req as WithGroupedKey)[GROUPED_KEY];
  }
}

/** The request's GroupedKey, when it sent an `Idempotency-Key` to a grouped route (else undefined). */
export const GroupedIdempotencyKey = createParamDecorator(
  (_: unknown, host: ExecutionContext): GroupedKey | undefined => host.switchToHttp().getRequest<WithGroupedKey>()[GROUPED_KEY],
);

/** The error of a keyed request its group sent back unsettled: the interceptor runs it again in a request transaction (never answered). */
export class RunAlone extends Error {
  constructor(reason: string) {
    super(`Idempotency-Key not settled in its group: ${reason}`);
  }
}
