import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { AuditEntryEntity } from './src/audit/audit-entry.entity.js';
import { loadConfig } from './src/config/app-config.js';
import { buildDataSourceOptions } from './src/database/data-source.options.js';
import { InboxEventEntity } from './src/events/inbox/inbox-event.entity.js';
import { OutboxEventEntity } from './src/events/outbox/outbox-event.entity.js';
import { IdempotencyKeyEntity } from './src/idempotency/idempotency-key.entity.js';
import { CategoryEntity } from './src/product/catalog/entities/category.entity.js';
import { PlanEntity } from './src/product/catalog/entities/plan.entity.js';
import { PriceTierEntity } from './src/product/catalog/entities/price-tier.entity.js';
import { ProductEntity } from './src/product/catalog/entities/product.entity.js';
import { CostDefinitionEntity } from './src/product/costs/cost-definition.entity.js';
import { SubscriptionEntity } from './src/product/subscriptions/subscription.entity.js';
import { UsagePeriodTotalEntity } from './src/product/usage/usage-period-total.entity.js';
import { UsageRecordEntity } from './src/product/usage/usage-record.entity.js';
import { UsagePriceScheduleEntity, UsageQuotaCounterEntity, UsageQuotaThresholdEntity } from './src/product/usage/usage-quota.entities.js';

/**
 * The TypeORM CLI's data source (npm run migration:run | migration:revert | migration:generate).
 * The application collects entities from its feature modules (TypeOrmModule.forFeature); the CLI
 * has no modules, so it lists every entity (ESM: as classes, no globs). A new entity goes here too.
 */
export const CLI_ENTITIES = [
  CategoryEntity,
  ProductEntity,
  PriceTierEntity,
  PlanEntity,
  OutboxEventEntity,
  SubscriptionEntity,
  UsageRecordEntity,
  UsagePeriodTotalEntity,
  UsageQuotaCounterEntity,
  UsageQuotaThresholdEntity,
  UsagePriceScheduleEntity,
  IdempotencyKeyEntity,
  InboxEventEntity,
  AuditEntryEntity,
  CostDefinitionEntity,
];

export default new DataSource(await buildDataSourceOptions(loadConfig(process.env), CLI_ENTITIES));
