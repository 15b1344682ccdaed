import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { CallContext } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock/clock.js';
import { invalidField } from '../../common/errors/domain-error.js';
import { type Decimal, ZERO } from '../../common/money/decimal.js';
import type { AppConfig } from '../../config/app-config.js';
import { CatalogErrors } from '../catalog/catalog.errors.js';
import { ProductService } from '../catalog/services/product.service.js';
import { scheduleOf } from '../usage/price-schedule.js';
import { UsageQueries } from '../usage/usage-queries.service.js';
import { buildQuote, type PriceQuoteResponse } from './price-quote.js';
import { parseQuantity } from './pricing.dto.js';
import type { PriceQuoteBody } from './price-quote.validation.js';
import { assertMayPriceFor } from './user-pricing-access.js';

/**
 * Price quotes (POST /api/v1/pricing/calculate): what `quantity` units cost. Without a user, the
 * list price of units [0, quantity) over the paid tiers, from the in-memory catalog alone. With a
 * user, the next `quantity` units after that user's usage this period, free tier included: the
 * schedule recording uses (`scheduleOf`), the running total effective pricing reads
 * (`UsageQueries.periodUsage`: the subscription's period, else the UTC calendar month), and the
 * pricing engine's integral, so the quote is what recording those units now would cost.
 */
@Injectable()
export class PriceQuoteService {
  private readonly userAuthDisabled: boolean;

  constructor(
    private readonly products: ProductService,
    private readonly usage: UsageQueries,
    private readonly clock: Clock,
    config: ConfigService<AppConfig, true>,
  ) {
    this.userAuthDisabled = config.get('auth', { infer: true }).userAuthDisabled;
  }

  async quote(dto: PriceQuoteBody, ctx: CallContext): Promise<PriceQuoteResponse> {
    const userId = dto.user_id ?? undefined;
    const subscriptionId = dto.subscription_id ?? undefined;
    if (userId === undefined && subscriptionId !== undefined) {
      throw invalidField('subscription_id', 'subscription_id is only meaningful with user_id (whose usage this period is quoted)');
    }
    if (userId !== undefined) assertMayPriceFor(ctx, userId, this.userAuthDisabled, 'price quotes');
    const found = this.products.find(dto.product_id);
    if (!found || !found.product.isActive) throw CatalogErrors.productNotFound(dto.product_id);
    const { product } = found;
    const unitType = dto.unit_type ?? undefined;
    if (unitType !== undefined && unitType !== product.unitType) {
      throw invalidField('unit_type', `unit_type ${unitType} does not match the product's unit_type ${product.unitType}`);
    }
    const quantity = parseQuantity(dto.quantity) as Decimal; // validated by the DTO
    const tierCode = dto.tier_code ?? null;
    if (userId === undefined) {
      // the list price: the free tier is per user and period, so it is left out
      const schedule = { ...scheduleOf(product), freeTierLimit: ZERO };
      return buildQuote({ product, schedule, from: ZERO, quantity, tierCode, billingInterval: product.freeTierPeriod });
    }
    const usage = await this.usage.periodUsage(product.productId, userId, subscriptionId, this.clock.now());
    return buildQuote({
      product,
      schedule: scheduleOf(product),
      from: usage.units,
      quantity,
      tierCode,
      billingInterval: usage.billingCycle ?? product.freeTierPeriod,
    });
  }
}
