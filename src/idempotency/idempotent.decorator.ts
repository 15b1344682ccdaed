import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { IDEMPOTENT_GROUPED } from './grouped-key.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';

/**
 * This POST accepts `Idempotency-Key` (SPEC section 1): the same key with the same body within
 * 24 h replays the first response (`Idempotent-Replayed: true`), another body is 409
 * IDEMPOTENCY_KEY_REUSED, concurrent requests with one key produce one effect. Documented in
 * OpenAPI with the header.
 *
 * `grouped`: the route's writer commits in groups and settles the key in its group's transaction
 * (the handler takes `@GroupedIdempotencyKey()` and hands it to the writer; see GroupedKey) instead
 * of the request running in a request transaction of its own.
 */
export const Idempotent = (options: { grouped?: boolean } = {}): MethodDecorator =>
  applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ...(options.grouped ? [SetMetadata(IDEMPOTENT_GROUPED, true)] : []),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description: '1-255 characters; the same key with the same body within 24 h replays the first response',
    }),
  );
