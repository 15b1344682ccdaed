/**
 * What the health endpoints ask of the event bus (NATS JetStream). The events module binds the real
 * connection state here; until it does, the default says honestly that there is no bus.
 */
export interface EventBusStatus {
  connected: boolean;
  /** e.g. the server, or why it is not connected */
  detail?: string;
}

export abstract class EventBusHealth {
  abstract status(): EventBusStatus;
}

/** The default binding: no event bus in this build (yet). */
export class NotConfiguredEventBusHealth extends EventBusHealth {
  status(): EventBusStatus {
    return { connected: false, detail: 'event bus not configured' };
  }
}
