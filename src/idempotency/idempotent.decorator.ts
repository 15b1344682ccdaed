import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';

/**
 * This POST accepts `Idempotency-Key` (SPEC section 1): the same key with the same body within
 * 24 h replays the first response (`Idempotent-Replayed: true`), another body is 409
 * IDEMPOTENCY_KEY_REUSED, concurrent requests with one key produce one effect. Documented in
 * OpenAPI with the header.
 */
export const Idempotent = (): MethodDecorator =>
  applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description: '1-255 characters; the same key with the same body within 24 h replays the first response',
    }),
  );
