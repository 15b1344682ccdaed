import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { EventBusHealth } from '../../events/transport/event-bus-health.js';

/**
 * The event bus connection, as the events module reports it (no I/O here). A bus turned off on
 * purpose (NATS_URL=off) is up with `state: "disabled"`: a deliberate setting is not an outage.
 */
@Injectable()
export class NatsHealthIndicator {
  constructor(
    private readonly bus: EventBusHealth,
    private readonly indicator: HealthIndicatorService,
  ) {}

  isHealthy(key = 'nats'): HealthIndicatorResult {
    const check = this.indicator.check(key);
    const { connected, disabled, detail } = this.bus.status();
    if (disabled) return check.up({ state: 'disabled', ...(detail ? { message: detail } : {}) });
    return connected ? check.up(detail ? { detail } : {}) : check.down({ message: detail ?? 'not connected' });
  }
}
