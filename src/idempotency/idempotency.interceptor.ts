import { createHash } from 'node:crypto';
import { type CallHandler, type ExecutionContext, Injectable, Logger, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { catchError, from, mergeMap, type Observable, of, throwError } from 'rxjs';
import type { AuthedRequest } from '../common/auth/auth.decorators.js';
import { Clock } from '../common/clock/clock.js';
import { badRequest } from '../common/errors/domain-error.js';
import { isIdentifier } from '../common/validation/validators.js';
import { canonicalJson } from './canonical-json.js';
import type { IdempotencyKeyEntity } from './idempotency-key.entity.js';
import { IdempotencyErrors } from './idempotency.errors.js';
import { IdempotencyRepository } from './idempotency.repository.js';

/** How long a request waits for a concurrent request with the same key to finish before 409. */
export const IDEMPOTENCY_WAIT_MS = 10_000;
const POLL_MS = 25;
const HTTP_CODE_METADATA = '__httpCode__';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `Idempotency-Key` on every POST (SPEC section 1). The key is claimed in `idempotency_keys`
 * (INSERT ... ON CONFLICT DO NOTHING) before the handler runs, so of concurrent requests with one
 * key exactly one runs; the others wait for its response and replay it (or get 409
 * IDEMPOTENCY_KEY_IN_PROGRESS after IDEMPOTENCY_WAIT_MS). A completed key replays the stored
 * response with `Idempotent-Replayed: true` when the body matches, else 409 IDEMPOTENCY_KEY_REUSED.
 * Failed requests (any 4xx or 5xx) are not stored: they changed nothing, and the key is released
 * so the caller can retry with it.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Idempotency');

  constructor(
    private readonly store: IdempotencyRepository,
    private readonly clock: Clock,
    private readonly reflector: Reflector,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
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
      .update(`${req.method}\n${path}\n${canonicalJson(req.body)}`)
      .digest('hex');
    const reply = http.getResponse<FastifyReply>();

    const existing = await this.acquire({ scope, key, method: req.method, path, requestHash });
    if (existing) {
      void reply.header('Idempotent-Replayed', 'true');
      return of(existing.responseBody);
    }
    const status = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? 201;
    return next.handle().pipe(
      mergeMap((body: unknown) =>
        from(
          this.store.complete(scope, key, status, body).then(
            () => body,
            (err: unknown) => {
              // The effect happened; answer it. The claim stays in_progress until it goes stale.
              this.logger.error({ err, key }, 'Could not store the idempotent response');
              return body;
            },
          ),
        ),
      ),
      catchError((err: unknown) =>
        from(this.store.release(scope, key).catch((e: unknown) => this.logger.error({ err: e, key }, 'Could not release key'))).pipe(
          mergeMap(() => throwError(() => err)),
        ),
      ),
    );
  }

  /**
   * Returns undefined once this request owns the key, or the completed row to replay. Waits while
   * another request holds it in progress; throws 409 on a different body or when the wait runs out.
   */
  private async acquire(r: {
    scope: string;
    key: string;
    method: string;
    path: string;
    requestHash: string;
  }): Promise<IdempotencyKeyEntity | undefined> {
    const deadline = Date.now() + IDEMPOTENCY_WAIT_MS;
    for (;;) {
      if (await this.store.claim({ ...r, now: this.clock.now() })) return undefined;
      const row = await this.store.find(r.scope, r.key);
      if (row) {
        if (row.requestHash !== r.requestHash) throw IdempotencyErrors.reused();
        if (row.state === 'completed') return row;
      }
      // in progress elsewhere (or released between our two statements): wait and look again
      if (Date.now() >= deadline) throw IdempotencyErrors.inProgress();
      await sleep(POLL_MS);
    }
  }
}
