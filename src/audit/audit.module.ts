import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditEntryEntity } from './audit-entry.entity.js';
import { AuditController } from './audit.controller.js';
import { AuditRepository } from './audit.repository.js';
import { AuditTrail } from './audit-trail.service.js';

/**
 * The audit trail: who changed what in the catalog and the cost definitions, when, before and after.
 * Features that write call `AuditTrail.record(tx, ...)` inside their own unit of work; internal
 * callers read it at GET /admin/audit. It sits below the features (like idempotency).
 */
@Module({
  imports: [TypeOrmModule.forFeature([AuditEntryEntity])],
  controllers: [AuditController],
  providers: [AuditRepository, AuditTrail],
  exports: [AuditTrail],
})
export class AuditModule {}
