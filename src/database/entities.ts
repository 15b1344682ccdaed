import { IdempotencyKeyEntity } from '../common/idempotency/idempotency-key.entity.js';
import { InboxEventEntity } from '../events/inbox/inbox-event.entity.js';
import { OutboxEventEntity } from '../events/outbox/outbox-event.entity.js';
import { CategoryEntity } from '../product/catalog/entities/category.entity.js';
import { PlanEntity } from '../product/catalog/entities/plan.entity.js';
import { PriceTierEntity } from '../product/catalog/entities/price-tier.entity.js';
import { ProductEntity } from '../product/catalog/entities/product.entity.js';
import { SubscriptionEntity } from '../product/subscriptions/subscription.entity.js';
import { UsagePeriodTotalEntity } from '../product/usage/usage-period-total.entity.js';
import { UsageRecordEntity } from '../product/usage/usage-record.entity.js';

/** Every entity (ESM: listed as classes, no globs). Each feature adds its own here. */
export const ENTITIES = [
  CategoryEntity,
  ProductEntity,
  PriceTierEntity,
  PlanEntity,
  OutboxEventEntity,
  SubscriptionEntity,
  UsageRecordEntity,
  UsagePeriodTotalEntity,
  IdempotencyKeyEntity,
  InboxEventEntity,
];
