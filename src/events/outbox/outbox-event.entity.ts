import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { EventEnvelope } from '../models/envelope.js';

@Entity('outbox_events')
export class OutboxEventEntity {
  @PrimaryColumn('uuid')
  id!: string;

  /** commit-order position (identity); read-only */
  @Column({ type: 'bigint', insert: false, update: false })
  seq!: string;

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

  @Column('timestamptz', { nullable: true })
  publishedAt!: Date | null;

  @Column('int', { default: 0 })
  attempts!: number;

  @Column('text', { nullable: true })
  lastError!: string | null;
}
