import { DomainError } from '../../common/errors/domain-error.js';
import { EventValidationError } from '../models/validate-payload.js';

/**
 * What the transport does with a consumed message whose handler threw:
 * - `ack`: a business refusal that a retry cannot change (unknown subscription, illegal transition):
 *   acknowledged and logged;
 * - `dead_letter`: the message itself is bad (payload does not match its event class): straight to the DLQ;
 * - `retry`: anything transient (database, dependency, bug): `nak` with back-off, DLQ after EVENTS_MAX_DELIVER.
 */
export type EventAction = 'ack' | 'retry' | 'dead_letter';

export class EventOutcome extends Error {
  constructor(
    readonly action: EventAction,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'EventOutcome';
  }
}

/** Maps any error a handler throws to its outcome (domain errors by status; unknown errors are transient). */
export function classifyEventError(err: unknown): EventOutcome {
  if (err instanceof EventOutcome) return err;
  if (err instanceof EventValidationError) return new EventOutcome('dead_letter', err.message, 'INVALID_EVENT');
  if (err instanceof DomainError) {
    if (err.status === 400) return new EventOutcome('dead_letter', err.message, err.code);
    if (err.status >= 400 && err.status < 500 && err.status !== 429) return new EventOutcome('ack', err.message, err.code);
    return new EventOutcome('retry', err.message, err.code);
  }
  if (err instanceof Error) return new EventOutcome('retry', err.message || err.name);
  if (err && typeof err === 'object' && 'message' in err) return new EventOutcome('retry', String(err.message));
  return new EventOutcome('retry', String(err));
}
