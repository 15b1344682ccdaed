import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { EventBusHealth } from '../ports/event-bus-health.js';

/** The event bus connection, as reported by whatever EventBusHealth is bound (no I/O here). */
@Injectable()
export class NatsHealthIndicator {
  constructor(
    private readonly bus: EventBusHealth,
    private readonly indicator: HealthIndicatorService,
  ) {}

  isHealthy(key = 'nats'): HealthIndicatorResult {
    const check = this.indicator.check(key);
    const { connected, detail } = this.bus.status();
    return connected ? check.up(detail ? { detail } : {}) : check.down({ message: detail ?? 'not connected' });
  }
}
