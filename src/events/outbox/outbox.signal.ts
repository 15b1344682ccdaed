import { Injectable } from '@nestjs/common';

/**
 * In-process "an outbox row committed" signal: the publisher raises it after commit, the relay
 * wakes at once (on PGlite this is the only prompt wake-up; on PostgreSQL LISTEN/NOTIFY also wakes
 * the other replicas).
 */
@Injectable()
export class OutboxSignal {
  private listener?: () => void;

  listen(listener: () => void): void {
    this.listener = listener;
  }

  raise(): void {
    this.listener?.();
  }
}
