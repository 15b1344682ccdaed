import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { GroupedKeys } from './grouped-keys.service.js';
import { IdempotencyKeyEntity } from './idempotency-key.entity.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyRepository } from './idempotency.repository.js';

/**
 * `Idempotency-Key` on POSTs (SPEC section 1): the interceptor, the group side for writers that
 * commit in groups (GroupedKeys), and the idempotency_keys table
 * (whose expired rows the subscriptions module's sweeper prunes).
 */
@Module({
  imports: [TypeOrmModule.forFeature([IdempotencyKeyEntity])],
  providers: [IdempotencyRepository, IdempotencyInterceptor, GroupedKeys],
  exports: [IdempotencyRepository, IdempotencyInterceptor, GroupedKeys],
})
export class IdempotencyModule {}
