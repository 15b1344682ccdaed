import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../../common/clock/clock.js';
import { CoalescedRefresh } from '../../common/snapshot/coalesced-refresh.js';
import type { AppConfig } from '../../config/app-config.js';
import { PgNotifications } from '../../database/pg-notifications.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import { CatalogRepository } from './catalog.repository.js';
import { CatalogSeeder, CatalogTablesMissing } from './catalog.seeder.js';
import { CatalogSnapshot } from './catalog-snapshot.js';

/** LISTEN/NOTIFY channel on which catalog writes tell the other replicas to reload. */
export const CATALOG_CHANNEL = 'catalog_changed';

/**
 * The catalog, served from memory. Loaded once at start (after the seed), then replaced as a whole
 * when it changes:
 * - on this replica at once: every catalog write awaits `refresh()` after its commit, before it answers;
 * - on the other replicas: the write's transaction NOTIFYs `catalog_changed` (delivered at commit),
 *   and each replica's listener reloads;
 * - as the safety net, every CATALOG_REFRESH_MS (default 30 s) a reload that keeps the snapshot
 *   when nothing changed.
 * So a replica's catalog is at most CATALOG_REFRESH_MS behind the database (milliseconds while the
 * LISTEN connection is up). Reloads are coalesced: one at a time, and one more if asked meanwhile.
 */
@Injectable()
export class CatalogStore implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CatalogStore');
  private readonly refreshMs: number;
  private snapshot?: CatalogSnapshot;
  private readonly reload = new CoalescedRefresh(() => this.load());
  private timer?: NodeJS.Timeout;
  private seeded = false;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: CatalogRepository,
    private readonly seeder: CatalogSeeder,
    private readonly notifications: PgNotifications,
    private readonly clock: Clock,
    config: ConfigService<AppConfig, true>,
  ) {
    this.refreshMs = config.get('catalog', { infer: true }).refreshMs;
  }

  /** The catalog now (never undefined once the application has started). */
  get current(): CatalogSnapshot {
    if (!this.snapshot) throw new Error('the catalog is not loaded yet');
    return this.snapshot;
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.refresh();
    } catch (err) {
      if (!(err instanceof CatalogTablesMissing)) throw err;
      // started with MIGRATIONS_RUN=false before the migration Job: readiness says 503 (migrations
      // pending) and every tick tries again, seeding first, until the tables are there
      this.logger.warn('Catalog tables missing (migrations pending): serving an empty catalog until they exist');
      this.snapshot = new CatalogSnapshot({ categories: [], products: [], plans: [] }, this.clock.now());
    }
    this.notifications.listen(CATALOG_CHANNEL, () => void this.refresh().catch(() => undefined));
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.refreshMs);
    this.timer.unref();
    this.logger.log(
      {
        version: this.current.version,
        products: this.current.products.length,
        plans: this.current.plans.length,
        refresh_ms: this.refreshMs,
      },
      'Catalog in memory',
    );
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Reloads the catalog from the database; resolves once a load that started after this call is in place. */
  refresh(): Promise<void> {
    return this.reload.run();
  }

  private async load(): Promise<void> {
    try {
      // the seed goes in before the first load that finds the tables (at start, or once the migrations ran)
      if (!this.seeded) {
        await this.seeder.seedIfEnabled();
        this.seeded = true;
      }
      const rows = await this.uow.read((tx) => this.repo.loadAll(tx));
      const next = new CatalogSnapshot(rows, this.clock.now());
      if (next.version !== this.snapshot?.version) {
        const previous = this.snapshot?.version;
        this.snapshot = next;
        if (previous) this.logger.log({ version: next.version, previous }, 'Catalog changed: new snapshot in place');
      }
    } catch (err) {
      // keep serving the last snapshot; the next trigger or tick tries again
      if (!this.snapshot || err instanceof CatalogTablesMissing) throw err;
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'Catalog reload failed; serving the previous snapshot');
    }
  }
}
