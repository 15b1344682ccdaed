import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { BIGINT_AS_TEXT } from '../database/bigint-text.js';

/** One audited change: who, when, what, before and after (see CreateAuditLog). */
@Entity('audit_log')
@Index('audit_log_resource_idx', ['resourceType', 'resourceId', 'seq'])
@Index('audit_log_at_idx', ['at'])
export class AuditEntryEntity {
  @PrimaryColumn('uuid')
  auditId!: string;

  /** insertion order (identity): the newest-first keyset of the list; read-only */
  @Column({ type: 'bigint', insert: false, update: false, unique: true, transformer: BIGINT_AS_TEXT })
  seq!: string;

  @Column('timestamptz')
  at!: Date;

  /** `internal`, `user` or `anonymous` */
  @Column('text')
  principalKind!: string;

  /** the user id for a user; null for internal services and anonymous callers */
  @Column('text', { nullable: true })
  principalId!: string | null;

  @Column('text')
  action!: string;

  @Column('text')
  resourceType!: string;

  @Column('text')
  resourceId!: string;

  @Column('jsonb', { nullable: true })
  before!: unknown;

  @Column('jsonb', { nullable: true })
  after!: unknown;

  @Column('text', { nullable: true })
  requestId!: string | null;
}
