import { Column, Entity, PrimaryColumn } from 'typeorm';
import { BIGINT_AS_TEXT } from '../../database/bigint-text.js';
import type { EventEnvelope } from '../models/envelope.js';

/** A pending event: written with its change, deleted once JetStream acknowledged it (migration 1764340000000). */
@Entity('outbox_events')
export class OutboxEventEntity {
  /** commit-order position (identity); read-only */
  @PrimaryColumn({ type: 'bigint', insert: false, update: false, transformer: BIGINT_AS_TEXT })
  seq!: string;

  /** the event id (`Nats-Msg-Id`) */
  @Column('uuid')
  id!: string;

  @Column('text')
  type!: string;

  @Column('text')
  subject!: string;

  @Column('text', { nullable: true })
  aggregateId!: string | null;

  /** the envelope as the exact JSON text published (json keeps the text; see migration 1764290000000) */
  @Column('json')
  envelope!: EventEnvelope;

  @Column('timestamptz')
  createdAt!: Date;

  @Column('int', { default: 0 })
  attempts!: number;

  @Column('text', { nullable: true })
  lastError!: string | null;
}
