import type { EventEnvelope } from '../models/envelope.js';

/** One event on its way out: the row the publisher writes to the outbox and the relay sends. */
export interface OutboxMessage {
  id: string;
  type: string;
  subject: string;
  /** the subscription, usage record or catalog entry it is about: the relay keeps their order */
  aggregateId: string;
  envelope: EventEnvelope;
  createdAt: Date;
}

/**
 * An outbox message whose envelope has holes that the statement writing it fills in from values
 * it computes itself (a usage record's price, known only once its units are allocated): the
 * envelope's JSON text cut at the holes, `parts.length === holes.length + 1`. The statement writes
 * `parts[0] || fill(holes[0]) || parts[1] || …` (each fill a JSON value) as the envelope.
 */
export interface OutboxTemplate {
  id: string;
  type: string;
  subject: string;
  aggregateId: string;
  createdAt: Date;
  holes: readonly string[];
  parts: readonly string[];
}

/** An unsent outbox row as the relay reads it: the envelope as the JSON text to publish. */
export interface PendingOutboxRow {
  /** commit-order position (bigint as text) */
  seq: string;
  id: string;
  type: string;
  subject: string;
  aggregate_id: string | null;
  payload: string;
}

export interface OutboxBacklog {
  /** events written and not yet published */
  backlog: number;
  /** age of the oldest of them (0 when none) */
  oldestAgeSeconds: number;
  /** events the bus refused for good, in outbox_parked_events until an operator requeues or deletes them */
  parked: number;
}
