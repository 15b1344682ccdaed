import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../../common/clock/clock.js';
import type { AppConfig } from '../../config/app-config.js';
import { CATALOG_SEED } from '../../database/seed/catalog-data.js';
import type { CatalogSeed } from '../../database/seed/catalog-seed.types.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import { pgCode } from '../../database/pg-errors.js';
import { CatalogRepository } from './catalog.repository.js';

const UNDEFINED_TABLE = '42P01';

/** The catalog's tables do not exist (the migrations have not run yet). */
export class CatalogTablesMissing extends Error {}

/**
 * Seeds the reference catalog at start (after migrations ran in DatabaseModule.onModuleInit, before the
 * CatalogStore first loads) when
 * SEED_CATALOG is true and the catalog is empty. One transaction under an advisory lock, inserts with
 * ON CONFLICT DO NOTHING via the same repository as the write API: idempotent and safe with several
 * replicas starting together. Seeding publishes no events (nothing changed for other services).
 */
@Injectable()
export class CatalogSeeder {
  private readonly logger = new Logger('CatalogSeeder');

  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: CatalogRepository,
    private readonly clock: Clock,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  /** Seeds the reference catalog when SEED_CATALOG is true and the catalog is empty (CatalogStore calls it before loading). */
  async seedIfEnabled(): Promise<void> {
    if (!this.config.get('database', { infer: true }).seedCatalog) return;
    let seeded: boolean;
    try {
      seeded = await this.seed(CATALOG_SEED);
    } catch (err) {
      if (pgCode(err) === UNDEFINED_TABLE) {
        throw new CatalogTablesMissing(
          'Cannot seed the catalog: its tables do not exist. Run the migrations (npm run migration:run) or start with MIGRATIONS_RUN=true',
          { cause: err },
        );
      }
      throw err;
    }
    if (seeded)
      this.logger.log(
        { categories: CATALOG_SEED.categories.length, products: CATALOG_SEED.products.length, plans: CATALOG_SEED.plans.length },
        'Seeded the reference catalog',
      );
    else this.logger.log('Catalog not empty: seed skipped');
  }

  /** Inserts `seed` when the catalog is empty; returns whether it did. */
  async seed(seed: CatalogSeed): Promise<boolean> {
    return this.uow.run(async (tx) => {
      await this.repo.lockForSeeding(tx);
      if (!(await this.repo.isEmpty(tx))) return false;
      const now = this.clock.now();
      for (const category of seed.categories) await this.repo.insertCategory(tx, category, now);
      for (const product of seed.products) await this.repo.insertProduct(tx, product, now);
      for (const plan of seed.plans) await this.repo.insertPlan(tx, plan, now);
      return true;
    });
  }
}
