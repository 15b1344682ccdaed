import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { CallContext } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock/clock.js';
import { type JsonView, jsonView } from '../../common/http/json-view.js';
import { Decimal, formatDecimal, ZERO } from '../../common/money/decimal.js';
import type { AppConfig } from '../../config/app-config.js';
import type { PriceTierEntity } from '../catalog/entities/price-tier.entity.js';
import type { ProductEntity } from '../catalog/entities/product.entity.js';
import { type PricedTierResponse, toPricedTierResponse } from '../catalog/mappers/catalog.mappers.js';
import { freeTierRemaining, type PriceSchedule, tierAt, toSchedule, unitPriceAt } from '../catalog/pricing-engine.js';
import { ProductService } from '../catalog/services/product.service.js';
import { calendarMonth } from '../subscriptions/billing-period.js';
import type { PeriodUsage } from '../usage/period-usage.js';
import { UsageQueries } from '../usage/usage-queries.service.js';
import { assertMayPriceFor } from './user-pricing-access.js';

/** SPEC "Pricing response". */
export interface PricingResponse {
  product_id: string;
  product_name: string;
  currency: string;
  pricing_type: string;
  unit_type: string;
  /** first tier's price; with user_id the marginal price of that user's next unit this period */
  unit_price: string;
  /** first tier's price */
  base_unit_price: string;
  tiers: PricedTierResponse[];
  pricing_model: {
    pricing_type: string;
    unit_type: string;
    currency: string;
    base_unit_price: string;
    free_tier_limit: string;
    free_tier_period: string;
    tier_mode: 'graduated';
    tiers: PricedTierResponse[];
  };
  effective_pricing: {
    /** unit price of the tier the next unit falls in (before the free tier) */
    base_unit_price: string;
    period_start: string;
    period_end: string;
    period_usage: string;
    free_tier_remaining: string;
    /** name of the tier the next unit falls in */
    current_tier: string;
  };
}

/** GET /products/{id}/pricing: list pricing, or effective pricing for one user this period. */
@Injectable()
export class PricingService {
  private readonly userAuthDisabled: boolean;

  constructor(
    private readonly products: ProductService,
    private readonly usage: UsageQueries,
    private readonly clock: Clock,
    config: ConfigService<AppConfig, true>,
  ) {
    this.userAuthDisabled = config.get('auth', { infer: true }).userAuthDisabled;
  }

  /** List pricing (no user): from the catalog alone, serialized once per catalog version and month. */
  listPricingView(productId: string): JsonView {
    const { product, tiers } = this.products.get(productId);
    const month = calendarMonth(this.clock.now());
    return this.products.catalogView(`pricing ${productId} ${month.start.toISOString()}`, () =>
      jsonView(buildPricingResponse(product, tiers, { periodStart: month.start, periodEnd: month.end, units: ZERO }, false)),
    );
  }

  /** Effective pricing: that user's usage so far this period (the subscription's, or the calendar month). */
  async effectivePricing(
    productId: string,
    userId: string,
    subscriptionId: string | undefined,
    ctx: CallContext,
  ): Promise<PricingResponse> {
    // The route is public; a user's effective figures are that user's data.
    assertMayPriceFor(ctx, userId, this.userAuthDisabled, 'effective pricing');
    const { product, tiers } = this.products.get(productId);
    const usage = await this.usage.periodUsage(productId, userId, subscriptionId, this.clock.now());
    return buildPricingResponse(product, tiers, usage, true);
  }
}

/** Pure: the SPEC pricing shape for a product after `usage.units` units this period. */
export function buildPricingResponse(
  product: ProductEntity,
  tierRows: readonly PriceTierEntity[],
  usage: PeriodUsage,
  effective: boolean,
): PricingResponse {
  const tiers = [...tierRows].sort((a, b) => a.tierIndex - b.tierIndex).map(toPricedTierResponse);
  const schedule: PriceSchedule = toSchedule(product.freeTierLimit, tiers);
  const base = tiers[0]?.unit_price ?? '0';
  const current = schedule.tiers.length > 0 ? tierAt(schedule, usage.units) : undefined;
  const currentRaw = current ? tiers[schedule.tiers.indexOf(current)] : undefined;
  // Keep the catalog's own notation ("0.50") when the marginal price is a tier price.
  const marginal = schedule.tiers.length > 0 ? unitPriceAt(schedule, usage.units) : ZERO;
  const unitPrice = !effective
    ? base
    : currentRaw && marginal.eq(new Decimal(currentRaw.unit_price))
      ? currentRaw.unit_price
      : formatDecimal(marginal);
  return {
    product_id: product.productId,
    product_name: product.name,
    currency: product.currency,
    pricing_type: product.pricingType,
    unit_type: product.unitType,
    unit_price: unitPrice,
    base_unit_price: base,
    tiers,
    pricing_model: {
      pricing_type: product.pricingType,
      unit_type: product.unitType,
      currency: product.currency,
      base_unit_price: base,
      free_tier_limit: product.freeTierLimit,
      free_tier_period: product.freeTierPeriod,
      tier_mode: 'graduated',
      tiers,
    },
    effective_pricing: {
      base_unit_price: currentRaw?.unit_price ?? base,
      period_start: usage.periodStart.toISOString(),
      period_end: usage.periodEnd.toISOString(),
      period_usage: formatDecimal(usage.units),
      free_tier_remaining: formatDecimal(freeTierRemaining(schedule, usage.units)),
      current_tier: currentRaw?.tier_name ?? 'base',
    },
  };
}
