import { Injectable } from '@nestjs/common';
import { managerOf, type Tx } from '../database/transaction.js';
import { AuditEntryEntity } from './audit-entry.entity.js';

export interface AuditFilters {
  resourceType?: string;
  resourceId?: string;
  /** at ≥ start */
  start?: Date;
  /** at < end */
  end?: Date;
}

/** The audit_log table: one insert per audited change (in the change's transaction), the filtered list. */
@Injectable()
export class AuditRepository {
  async insert(tx: Tx, entry: Omit<AuditEntryEntity, 'seq'>): Promise<void> {
    await managerOf(tx).query(
      `INSERT INTO audit_log (audit_id, at, principal_kind, principal_id, action, resource_type, resource_id, before, after, request_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10)`,
      [
        entry.auditId,
        entry.at,
        entry.principalKind,
        entry.principalId,
        entry.action,
        entry.resourceType,
        entry.resourceId,
        entry.before === null || entry.before === undefined ? null : JSON.stringify(entry.before),
        entry.after === null || entry.after === undefined ? null : JSON.stringify(entry.after),
        entry.requestId,
      ],
    );
  }

  /** Newest first (by seq), before `beforeSeq` when given. */
  list(tx: Tx, f: AuditFilters, limit: number, beforeSeq?: string): Promise<AuditEntryEntity[]> {
    const qb = managerOf(tx).createQueryBuilder(AuditEntryEntity, 'a');
    if (f.resourceType !== undefined) qb.andWhere('a.resource_type = :type', { type: f.resourceType });
    if (f.resourceId !== undefined) qb.andWhere('a.resource_id = :id', { id: f.resourceId });
    if (f.start !== undefined) qb.andWhere('a.at >= :start', { start: f.start });
    if (f.end !== undefined) qb.andWhere('a.at < :end', { end: f.end });
    if (beforeSeq !== undefined) qb.andWhere('a.seq < :seq', { seq: beforeSeq });
    return qb.orderBy('a.seq', 'DESC').limit(limit).getMany();
  }
}
