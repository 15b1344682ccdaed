import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../../common/clock/clock.js';
import { type Decimal, formatDecimal } from '../../common/money/decimal.js';
import { CoalescedRefresh } from '../../common/snapshot/coalesced-refresh.js';
import type { AppConfig } from '../../config/app-config.js';
import { pgCode } from '../../database/pg-errors.js';
import { PgNotifications } from '../../database/pg-notifications.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import { CostDefinitionRepository } from './cost-definition.repository.js';
import type { CostDefinitionEntity } from './cost-definition.entity.js';
import { bestMatch, type CostQuery, providerCost } from './cost-matching.js';

/** LISTEN/NOTIFY channel on which cost-definition writes tell the other replicas to reload. */
export const COST_DEFINITIONS_CHANNEL = 'cost_definitions_changed';

const UNDEFINED_TABLE = '42P01';

/** What the provider cost of a usage record is looked up by: the record's product (ProductEntity has it). */
export interface CostSubject {
  productId: string;
  productType: string;
  provider: string | null;
  unitType: string;
}

/**
 * The active provider cost definitions, in memory, so the lookup (`GET /costs/lookup`) and the
 * provider cost of each usage record (`providerCostOf`) cost no database round trip. Kept fresh
 * the way the catalog is (CatalogStore):
 * - on this replica at once: every cost-definition write awaits `refresh()` after its commit;
 * - on the other replicas: the write's transaction NOTIFYs `cost_definitions_changed` (delivered at
 *   commit), and each replica's listener reloads (and reloads after a LISTEN reconnection);
 * - as the safety net, a reload every CATALOG_REFRESH_MS (default 30 s).
 * Holds every active definition not yet expired when loaded (future ones too); the match checks
 * the validity window at the instant asked, so a version starts and ends on time between reloads.
 */
@Injectable()
export class CostDefinitionStore implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CostDefinitionStore');
  private readonly refreshMs: number;
  private readonly reload = new CoalescedRefresh(() => this.load());
  private definitions: readonly CostDefinitionEntity[] = [];
  private byServiceType: ReadonlyMap<string, readonly CostDefinitionEntity[]> = new Map();
  private loaded = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: CostDefinitionRepository,
    private readonly notifications: PgNotifications,
    private readonly clock: Clock,
    config: ConfigService<AppConfig, true>,
  ) {
    this.refreshMs = config.get('catalog', { infer: true }).refreshMs;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.refresh();
    this.notifications.listen(COST_DEFINITIONS_CHANNEL, () => void this.refresh().catch(() => undefined));
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.refreshMs);
    this.timer.unref();
    this.logger.log({ definitions: this.definitions.length, refresh_ms: this.refreshMs }, 'Cost definitions in memory');
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Reloads from the database; resolves once a load that started after this call is in place. */
  refresh(): Promise<void> {
    return this.reload.run();
  }

  /** The definition the lookup rule picks at `at` (cost-matching.ts), or undefined. */
  lookup(query: CostQuery, at: Date): CostDefinitionEntity | undefined {
    return bestMatch(this.byServiceType.get(query.serviceType) ?? [], query, at);
  }

  /**
   * The provider cost of `amount` units of `product` at `at`: usage_amount / unit_size ×
   * cost_per_unit of the definition the lookup finds for service_type = the product's type,
   * product_id and model_name = the product's id, provider = the product's provider and unit_type =
   * the product's; null when none matches. In memory, no I/O: the usage recorder calls it per record.
   */
  providerCostOf(product: CostSubject, amount: Decimal, at: Date): string | null {
    const definition = this.lookup(
      {
        serviceType: product.productType,
        productId: product.productId,
        modelName: product.productId,
        provider: product.provider,
        unitType: product.unitType,
      },
      at,
    );
    return definition ? formatDecimal(providerCost(amount, definition.costPerUnit, definition.unitSize)) : null;
  }

  /** Every active definition not expired at the last load (the catalog-alignment check reads them). */
  active(): readonly CostDefinitionEntity[] {
    return this.definitions;
  }

  private async load(): Promise<void> {
    try {
      const rows = await this.uow.read((tx) => this.repo.loadActive(tx, this.clock.now()));
      const byType = new Map<string, CostDefinitionEntity[]>();
      for (const d of rows) byType.set(d.serviceType, [...(byType.get(d.serviceType) ?? []), d]);
      this.definitions = rows;
      this.byServiceType = byType;
      this.loaded = true;
    } catch (err) {
      // started before the migrations (MIGRATIONS_RUN=false): none until the table exists
      if (pgCode(err) === UNDEFINED_TABLE) {
        if (!this.loaded) this.logger.warn('Cost definitions table missing (migrations pending): no provider costs until it exists');
        return;
      }
      // keep the last definitions; the next trigger or tick tries again
      if (!this.loaded) throw err;
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'Cost definitions reload failed; keeping the previous ones',
      );
    }
  }
}
