import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { CallContext, Principal } from '../common/auth/principal.js';
import { Clock } from '../common/clock/clock.js';
import { DEFAULT_LIMIT, decodeSeqCursor, type Page, seqPageOf } from '../common/pagination/page.js';
import { parseRangeBound } from '../common/time/timestamp.js';
import { type Tx, UnitOfWork } from '../database/unit-of-work.js';
import type { AuditEntryEntity } from './audit-entry.entity.js';
import { AuditRepository } from './audit.repository.js';
import type { ListAuditQuery } from './dto/audit.dto.js';

/** What the trail audits: the catalog's resources and the provider cost definitions. */
export const AUDIT_RESOURCE_TYPES = ['product', 'category', 'plan', 'cost_definition'] as const;
export type AuditResourceType = (typeof AUDIT_RESOURCE_TYPES)[number];

/** One change, as the writing service describes it (before / after: the resource as the API shows it; null when absent). */
export interface AuditChange {
  action: string;
  resourceType: AuditResourceType;
  resourceId: string;
  before: object | null;
  after: object | null;
}

export interface AuditEntryView {
  audit_id: string;
  at: string;
  principal: { kind: string; id: string | null };
  action: string;
  resource_type: string;
  resource_id: string;
  before: unknown;
  after: unknown;
  request_id: string | null;
}

/** Who, as the trail names them: users by their id; internal services and anonymous callers have none. */
const principalOf = (p: Principal): { kind: string; id: string | null } =>
  p.kind === 'user' ? { kind: 'user', id: p.userId } : { kind: p.kind, id: null };

export const toAuditEntryView = (e: AuditEntryEntity): AuditEntryView => ({
  audit_id: e.auditId,
  at: new Date(e.at).toISOString(),
  principal: { kind: e.principalKind, id: e.principalId },
  action: e.action,
  resource_type: e.resourceType,
  resource_id: e.resourceId,
  before: e.before ?? null,
  after: e.after ?? null,
  request_id: e.requestId,
});

/**
 * The audit trail (SPEC section 7): every catalog, admin and cost-definition write calls `record`
 * with its own transaction, so the entry commits with the change or not at all. The list is
 * keyset-paged newest first.
 */
@Injectable()
export class AuditTrail {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: AuditRepository,
    private readonly clock: Clock,
  ) {}

  async record(tx: Tx, change: AuditChange, ctx: CallContext): Promise<void> {
    const principal = principalOf(ctx.principal);
    await this.repo.insert(tx, {
      auditId: randomUUID(),
      at: this.clock.now(),
      principalKind: principal.kind,
      principalId: principal.id,
      action: change.action,
      resourceType: change.resourceType,
      resourceId: change.resourceId,
      before: change.before,
      after: change.after,
      requestId: ctx.requestId ?? null,
    });
  }

  list(query: ListAuditQuery): Promise<Page<AuditEntryView>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const beforeSeq = decodeSeqCursor(query.cursor);
    const filters = {
      resourceType: query.resource_type,
      resourceId: query.resource_id,
      start: query.start !== undefined ? parseRangeBound(query.start) : undefined,
      end: query.end !== undefined ? parseRangeBound(query.end) : undefined,
    };
    return this.uow.read(async (tx) => seqPageOf(await this.repo.list(tx, filters, limit + 1, beforeSeq), limit, toAuditEntryView));
  }
}
