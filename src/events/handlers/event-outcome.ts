import { DomainError, type ErrorKind } from '../../common/errors/domain-error.js';
import { isDatabaseUnavailable } from '../../database/database-errors.js';
import { EventValidationError } from '../models/validate-payload.js';

/**
 * What the transport does with a consumed message whose handler threw:
 * - `ack`: a business refusal that a retry cannot change (unknown subscription, illegal transition):
 *   acknowledged and logged;
 * - `dead_letter`: the message itself is bad (payload does not match its event class): straight to the DLQ;
 * - `retry`: anything else that may pass (a bug, a conflict): `nak` with back-off, DLQ after EVENTS_MAX_DELIVER;
 * - `wait`: a dependency that cannot answer (the database down or failing over): as `retry` (SPEC
 *   section 3), or, with EVENTS_WAIT_OUT_OUTAGES, `nak` with back-off for as long as it lasts, never
 *   dead-lettered: those deliveries say nothing about the message.
 */
export type EventAction = 'ack' | 'retry' | 'wait' | 'dead_letter';

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

/** The events side of "one filter per transport": a domain error's kind decides ack, retry or dead-letter. */
export const EVENT_ACTION_BY_KIND: Readonly<Record<ErrorKind, EventAction>> = {
  invalid: 'dead_letter',
  too_large: 'dead_letter',
  unsupported_media: 'dead_letter',
  unauthenticated: 'ack',
  forbidden: 'ack',
  not_found: 'ack',
  conflict: 'ack',
  rejected: 'ack',
  rate_limited: 'retry',
  unavailable: 'wait',
};

/** Maps any error a handler throws to its outcome (domain errors by kind; unknown errors are transient). */
export function classifyEventError(err: unknown): EventOutcome {
  if (err instanceof EventOutcome) return err;
  if (err instanceof EventValidationError) return new EventOutcome('dead_letter', err.message, 'INVALID_EVENT');
  if (err instanceof DomainError) return new EventOutcome(EVENT_ACTION_BY_KIND[err.kind], err.message, err.code);
  // the database's own outage errors, where they reach here untranslated
  if (isDatabaseUnavailable(err)) return new EventOutcome('wait', err instanceof Error ? err.message : String(err));
  if (err instanceof Error) return new EventOutcome('retry', err.message || err.name);
  if (err && typeof err === 'object' && 'message' in err) return new EventOutcome('retry', String(err.message));
  return new EventOutcome('retry', String(err));
}
