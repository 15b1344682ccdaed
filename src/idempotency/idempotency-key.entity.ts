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

  /** json, not jsonb: a replay answers the body as it was written (jsonb reorders an object's keys) */
  @Column('json', { nullable: true })
  responseBody!: unknown;

  @Column('timestamptz')
  createdAt!: Date;

  @Column('timestamptz')
  expiresAt!: Date;
}
