import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { CallContext } from '../../common/auth/principal.js';
import type { AppConfig } from '../../config/app-config.js';
import { CatalogErrorCode } from '../catalog/catalog.errors.js';
import { type ProductResponse, toProductResponse } from '../catalog/mappers/catalog.mappers.js';
import { ProductService } from '../catalog/services/product.service.js';
import { SubscriptionErrorCode } from '../subscriptions/subscription.errors.js';
import { EntitlementService } from '../subscriptions/entitlement.service.js';
import { Clock } from '../../common/clock/clock.js';
import { UsageErrorCode } from '../usage/usage.errors.js';
import { type QuotaLimitView, UsageQuotas } from '../usage/usage-quotas.service.js';
import { CatalogErrors } from '../catalog/catalog.errors.js';
import { assertMayPriceFor } from './user-pricing-access.js';

export interface AvailabilityResponse {
  available: boolean;
  /** why not (a SCREAMING_SNAKE code), when not available */
  reason?: string;
  product?: ProductResponse;
}

/** GET /usage/quota (SPEC section 8). */
export interface QuotaResponse {
  product_id: string;
  limits: QuotaLimitView[];
  has_access: boolean;
}

export interface AvailabilityQuery {
  userId?: string;
  organizationId?: string;
}

/**
 * Can this product be used (by this user / organization)? Always answers, never throws for an
 * unknown product. The one place the decision is made: product-level checks here; entitlement
 * checks for `requires_subscription` products: the user needs an entitling (active / trialing)
 * subscription, personal or for the given organization, whose plan includes the product
 * (otherwise reason `SUBSCRIPTION_REQUIRED`; without a user_id such a product is not available).
 *
 * With a `user_id` the answer is that user's data (whether they hold an entitling subscription, and
 * which plan includes what): like effective pricing, only that user or an internal caller may ask
 * (401 without credentials while user auth is on, 403 for another user). Without one it is public.
 */
@Injectable()
export class AvailabilityService {
  private readonly userAuthDisabled: boolean;

  constructor(
    private readonly products: ProductService,
    private readonly entitlements: EntitlementService,
    private readonly quotas: UsageQuotas,
    private readonly clock: Clock,
    config: ConfigService<AppConfig, true>,
  ) {
    this.userAuthDisabled = config.get('auth', { infer: true }).userAuthDisabled;
  }

  async availability(productId: string, query: AvailabilityQuery, ctx: CallContext): Promise<AvailabilityResponse> {
    if (query.userId !== undefined) assertMayPriceFor(ctx, query.userId, this.userAuthDisabled, 'availability');
    return (await this.decide(productId, query, ctx)).availability;
  }

  /**
   * GET /usage/quota: the user's limits on the product (each with what is used and left, and when
   * it resets) and `has_access` as availability says. Unknown product: 404.
   */
  async quota(productId: string, userId: string, organizationId: string | undefined, ctx: CallContext): Promise<QuotaResponse> {
    if (!this.products.find(productId)) throw CatalogErrors.productNotFound(productId);
    const { availability, limits } = await this.decide(productId, { userId, organizationId }, ctx);
    return { product_id: productId, limits, has_access: availability.available };
  }

  /** Availability, with the user's limits when it got as far as reading them. */
  private async decide(
    productId: string,
    query: AvailabilityQuery,
    _ctx: CallContext,
  ): Promise<{ availability: AvailabilityResponse; limits: QuotaLimitView[] }> {
    const availability = await this.productAvailability(productId, query);
    if (!availability.available || query.userId === undefined) return { availability, limits: [] };
    const product = this.products.get(productId).product;
    const { limits, exhausted } = await this.quotas.status(query.userId, product, query.organizationId, this.clock.now());
    if (exhausted)
      return { availability: { available: false, reason: UsageErrorCode.QUOTA_EXCEEDED, product: availability.product }, limits };
    return { availability, limits };
  }

  private async productAvailability(productId: string, query: AvailabilityQuery): Promise<AvailabilityResponse> {
    const found = this.products.find(productId);
    if (!found) return { available: false, reason: CatalogErrorCode.PRODUCT_NOT_FOUND };
    const product = toProductResponse(found.product, found.tiers);
    if (!found.product.isActive) return { available: false, reason: CatalogErrorCode.PRODUCT_INACTIVE, product };
    if (found.product.requiresSubscription) {
      const entitled = query.userId !== undefined && (await this.entitlements.isEntitled(query.userId, productId, query.organizationId));
      if (!entitled) return { available: false, reason: SubscriptionErrorCode.SUBSCRIPTION_REQUIRED, product };
    }
    return { available: true, product };
  }
}
