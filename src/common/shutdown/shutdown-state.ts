import { type BeforeApplicationShutdown, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../../config/app-config.js';

/**
 * The first steps of a graceful shutdown (SPEC section 6, "On SIGTERM"):
 *
 * 1. as soon as shutdown begins (the first destroy hook), `isShuttingDown` is true and
 *    `/health/ready` answers 503, so the orchestrator stops routing new traffic here;
 * 2. requests keep being served for SHUTDOWN_GRACE_MS (while load balancers catch up) —
 *    only when a signal triggered the shutdown: a programmatic `app.close()` skips the wait;
 * 3. then `drain()` resolves: hooks that must run after the HTTP drain (stop consumers, flush the
 *    outbox relay) await it in their own `beforeApplicationShutdown`; Nest then closes the HTTP
 *    server and calls `onApplicationShutdown` (clients, database, connections close there).
 *
 * `drain(signal)` starts the grace period on its first call (from whichever
 * `beforeApplicationShutdown` hook Nest runs first) and every caller awaits the same one.
 */
@Injectable()
export class ShutdownState implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  private shuttingDown = false;
  private drainPromise?: Promise<void>;

  constructor(private readonly config: ConfigService<AppConfig, true>) {}

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Marks the service as shutting down (readiness 503). Idempotent. */
  begin(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.logger.log({ shutdown_grace_ms: this.config.get('shutdownGraceMs', { infer: true }) }, 'shutdown started: readiness now fails');
  }

  /** Resolves when the HTTP grace period is over (at once without a signal). */
  drain(signal?: string): Promise<void> {
    this.begin();
    this.drainPromise ??= this.waitGrace(signal);
    return this.drainPromise;
  }

  onModuleDestroy(): void {
    this.begin();
  }

  beforeApplicationShutdown(signal?: string): Promise<void> {
    return this.drain(signal);
  }

  private async waitGrace(signal?: string): Promise<void> {
    const graceMs = this.config.get('shutdownGraceMs', { infer: true });
    if (signal && graceMs > 0) {
      this.logger.log({ signal, shutdown_grace_ms: graceMs }, 'draining requests before closing');
      await new Promise((resolve) => setTimeout(resolve, graceMs));
    }
    this.logger.log({ signal }, 'request drain over: closing');
  }
}
