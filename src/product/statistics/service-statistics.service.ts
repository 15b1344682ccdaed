import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../../common/clock/clock.js';
import type { AppConfig } from '../../config/app-config.js';
import { ProductService } from '../catalog/services/product.service.js';
import { SubscriptionQueries } from '../subscriptions/subscription-queries.service.js';
import { UsageQueries } from '../usage/usage-queries.service.js';

/** GET /statistics/service: real counts, each asked of the feature that owns it. */
@Injectable()
export class ServiceStatistics {
  constructor(
    private readonly products: ProductService,
    private readonly subscriptions: SubscriptionQueries,
    private readonly usage: UsageQueries,
    private readonly clock: Clock,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  async counts(): Promise<Record<string, unknown>> {
    const now = this.clock.now();
    const totalProducts = this.products.countActive();
    const [byStatus, recent] = await Promise.all([this.subscriptions.countByStatus(), this.usage.recentCounts(now)]);
    const counts = {
      total_products: totalProducts,
      active_subscriptions: byStatus.active,
      total_subscriptions: Object.values(byStatus).reduce((a, b) => a + b, 0),
      subscriptions_by_status: byStatus,
      usage_records_24h: recent.d1,
      usage_records_7d: recent.d7,
      usage_records_30d: recent.d30,
    };
    const at = now.toISOString();
    // SPEC section 7: the counts at the top level and again under `statistics`, as the platform's tests read them
    return { service: this.config.get('serviceName', { infer: true }), timestamp: at, ...counts, statistics: counts, generated_at: at };
  }
}
