import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../../common/clock/clock.js';
import type { AppConfig } from '../../config/app-config.js';
import { UnitOfWork } from '../../database/unit-of-work.js';
import { InboxRepository } from './inbox.repository.js';

const PRUNE_EVERY_MS = 60_000;
const PRUNE_CHUNK = 5000;

/**
 * Inbox retention: consumed event ids older than INBOX_RETENTION (7 days) are deleted at start and
 * once a minute, in chunks. The window must outlast any redelivery of an event (JetStream redelivers an
 * unacknowledged message for at most EVENTS_MAX_DELIVER × 60 s here; a publisher that re-sends an
 * event after its own crash does so within minutes): a duplicate inside it is ignored, one after it
 * would be applied again. Runs where consumers run (not with PROCESS_ROLE=api or NATS_URL=off).
 */
@Injectable()
export class InboxRetention implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('InboxRetention');
  private readonly retentionMs: number;
  private readonly enabled: boolean;
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly inbox: InboxRepository,
    private readonly clock: Clock,
    config: ConfigService<AppConfig, true>,
  ) {
    const nats = config.get('nats', { infer: true });
    this.retentionMs = nats.inboxRetentionMs;
    this.enabled = nats.url !== undefined && config.get('processRole', { infer: true }) !== 'api';
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    void this.pruneNow(); // at start too: a replica coming back after a while cleans up at once
    this.timer = setInterval(() => void this.pruneNow(), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass now (also what the timer runs); returns how many ids were deleted. Never rejects. */
  pruneNow(): Promise<number> {
    this.running ??= this.prune().finally(() => (this.running = undefined));
    return this.running;
  }

  private async prune(): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - this.retentionMs);
    let total = 0;
    try {
      for (;;) {
        const deleted = await this.uow.run((tx) => this.inbox.pruneBefore(tx, cutoff, PRUNE_CHUNK));
        total += deleted;
        if (deleted < PRUNE_CHUNK) break;
      }
      if (total > 0) this.logger.log({ deleted: total, older_than: cutoff.toISOString() }, 'Pruned inbox event ids');
    } catch (err) {
      this.logger.warn({ err }, 'inbox prune failed');
    }
    return total;
  }
}
