import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('idempotency_keys')
export class IdempotencyKeyEntity {
  /** the caller: `internal`, `user:<id>` or `anonymous` */
  @PrimaryColumn('text')
  scope!: string;

  @PrimaryColumn('text')
  key!: string;

  @Column('text')
  method!: string;

  @Column('text')
  path!: string;

  /** sha256 of method, path and the canonical JSON body */
  @Column('text')
  requestHash!: string;

  @Column('text')
  state!: 'in_progress' | 'completed';

  @Column('int', { nullable: true })
  responseStatus!: number | null;

  @Column('jsonb', { nullable: true })
  responseBody!: unknown;

  @Column('timestamptz')
  createdAt!: Date;

  @Column('timestamptz')
  expiresAt!: Date;
}
