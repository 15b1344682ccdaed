import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { GroupedKeys } from './grouped-keys.service.js';
import { IdempotencyKeyEntity } from './idempotency-key.entity.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyMetrics } from './idempotency.metrics.js';
import { IdempotencyRepository } from './idempotency.repository.js';
import { MetricsModule } from '../metrics/metrics.module.js';

/**
 * `Idempotency-Key` on POSTs (SPEC section 1): the interceptor, the group side for writers that
 * commit in groups (GroupedKeys), and the idempotency_keys table
 * (whose expired rows the subscriptions module's sweeper prunes).
 */
@Module({
  imports: [TypeOrmModule.forFeature([IdempotencyKeyEntity]), MetricsModule],
  providers: [IdempotencyRepository, IdempotencyInterceptor, GroupedKeys, IdempotencyMetrics],
  exports: [IdempotencyRepository, IdempotencyInterceptor, GroupedKeys, IdempotencyMetrics],
})
export class IdempotencyModule {}
