import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail of catalog, admin and cost-definition writes: one row per change, written in the
 * same transaction as the change (a write that rolls back leaves no row). `seq` orders the list
 * newest first with a stable keyset; the indexes serve its filters (a resource's history, a time
 * window).
 */
export class CreateAuditLog1764310000000 implements MigrationInterface {
  name = 'CreateAuditLog1764310000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_log (
        audit_id        uuid PRIMARY KEY,
        seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        at              timestamptz NOT NULL,
        principal_kind  text NOT NULL,
        principal_id    text,
        action          text NOT NULL,
        resource_type   text NOT NULL,
        resource_id     text NOT NULL,
        before          jsonb,
        after           jsonb,
        request_id      text
      )`);
    await q.query(`CREATE INDEX audit_log_resource_idx ON audit_log (resource_type, resource_id, seq DESC)`);
    await q.query(`CREATE INDEX audit_log_at_idx ON audit_log (at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_log`);
  }
}
