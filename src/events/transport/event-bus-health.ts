import { Injectable } from '@nestjs/common';
import { EventBusConnection } from './event-bus.connection.js';

/** The event bus as the health endpoints report it. */
export interface EventBusStatus {
  connected: boolean;
  /** true when the bus is off on purpose (NATS_URL=off): reported, never an outage */
  disabled?: boolean;
  /** e.g. the server, or why it is not connected */
  detail?: string;
}

/** The NATS connection's state for the health endpoints (no I/O: the connection's own state). */
@Injectable()
export class EventBusHealth {
  constructor(private readonly connection: EventBusConnection) {}

  status(): EventBusStatus {
    const d = this.connection.describe();
    if (d.state === 'disabled') return { connected: false, disabled: true, detail: 'NATS_URL=off: events stay in the outbox' };
    if (this.connection.isConnected) return { connected: true, detail: `${d.server ?? 'connected'}, stream ${d.stream}` };
    return { connected: false, detail: `${d.state}${d.error ? `: ${d.error}` : ''}` };
  }
}
