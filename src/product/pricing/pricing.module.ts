import { Module } from '@nestjs/common';
import { IdempotencyModule } from '../../idempotency/idempotency.module.js';
import { CatalogModule } from '../catalog/catalog.module.js';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module.js';
import { UsageModule } from '../usage/usage.module.js';
import { AvailabilityService } from './availability.service.js';
import { PriceQuoteController } from './price-quote.controller.js';
import { PriceQuoteService } from './price-quote.service.js';
import { PricingController } from './pricing.controller.js';
import { PricingService } from './pricing.service.js';
import { UsageQuotaController } from './usage-quota.controller.js';

/**
 * What a user would pay now, and whether they may use a product: effective pricing (list price
 * plus the user's running total this period), price quotes (POST /api/v1/pricing/calculate) and
 * availability (entitlements). It sits on top of the catalog, subscriptions and usage; nothing
 * below imports it.
 */
@Module({
  imports: [CatalogModule, SubscriptionsModule, UsageModule, IdempotencyModule],
  controllers: [PricingController, PriceQuoteController, UsageQuotaController],
  providers: [PricingService, AvailabilityService, PriceQuoteService],
})
export class PricingModule {}
