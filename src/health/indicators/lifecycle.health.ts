import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { ShutdownState } from '../../common/shutdown/shutdown-state.js';

/** Down as soon as a shutdown has begun, so readiness fails while requests drain. */
@Injectable()
export class LifecycleHealthIndicator {
  constructor(
    private readonly shutdown: ShutdownState,
    private readonly indicator: HealthIndicatorService,
  ) {}

  isHealthy(key = 'lifecycle'): HealthIndicatorResult {
    const check = this.indicator.check(key);
    return this.shutdown.isShuttingDown ? check.down({ state: 'shutting_down' }) : check.up({ state: 'running' });
  }
}
