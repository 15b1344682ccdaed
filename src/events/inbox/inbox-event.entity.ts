import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A consumed event that has taken effect (SPEC section 3: handlers are idempotent). */
@Entity('inbox_events')
export class InboxEventEntity {
  @PrimaryColumn('text')
  eventId!: string;

  @Column('text')
  type!: string;

  @Column('timestamptz')
  receivedAt!: Date;
}
