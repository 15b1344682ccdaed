import { Injectable } from '@nestjs/common';
import { EventBusHealth, type EventBusStatus } from '../../health/ports/event-bus-health.js';
import { EventBusConnection } from '../transport/event-bus.connection.js';

/** The real NATS state behind the health endpoints' EventBusHealth port (no I/O: the connection's own state). */
@Injectable()
export class NatsEventBusHealth extends EventBusHealth {
  constructor(private readonly connection: EventBusConnection) {
    super();
  }

  status(): EventBusStatus {
    const d = this.connection.describe();
    if (d.state === 'disabled') return { connected: false, detail: 'NATS_URL=off: events stay in the outbox' };
    if (this.connection.isConnected) return { connected: true, detail: `${d.server ?? 'connected'}, stream ${d.stream}` };
    return { connected: false, detail: `${d.state}${d.error ? `: ${d.error}` : ''}` };
  }
}
