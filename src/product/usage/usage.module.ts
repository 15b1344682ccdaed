import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxModule } from '../../events/outbox/outbox.module.js';
import { IdempotencyModule } from '../../idempotency/idempotency.module.js';
import { CatalogModule } from '../catalog/catalog.module.js';
import { CostsModule } from '../costs/costs.module.js';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module.js';
import { UsageQueries } from './usage-queries.service.js';
import { UsageRecorder } from './usage-recorder.service.js';
import { UsagePeriodTotalEntity } from './usage-period-total.entity.js';
import { UsageRecordEntity } from './usage-record.entity.js';
import { UsageController } from './usage.controller.js';
import { UsageRepository } from './usage.repository.js';
import { UsagePriceScheduleEntity, UsageQuotaCounterEntity, UsageQuotaThresholdEntity } from './usage-quota.entities.js';
import { UsageQuotaRepository } from './usage-quota.repository.js';
import { UsageQuotas } from './usage-quotas.service.js';
import { UsageVoids } from './usage-voids.service.js';

/**
 * What was used and what it cost: recording (priced from the period's running total, deduplicated
 * by request_id, with its event in the same transaction), the records, usage statistics.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([
      UsageRecordEntity,
      UsagePeriodTotalEntity,
      UsageQuotaCounterEntity,
      UsageQuotaThresholdEntity,
      UsagePriceScheduleEntity,
    ]),
    CatalogModule,
    CostsModule,
    SubscriptionsModule,
    OutboxModule,
    IdempotencyModule,
  ],
  controllers: [UsageController],
  providers: [UsageRepository, UsageQuotaRepository, UsageRecorder, UsageQueries, UsageQuotas, UsageVoids],
  exports: [UsageQueries, UsageQuotas],
})
export class UsageModule {}
