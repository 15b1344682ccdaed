import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `usage_records (user_id, created_at)`: a quota counter created in a window counts what the window
 * already holds (the user's records stored before the limit applied, SPEC section 8), read by user
 * and recording time (UsageQuotaRepository's backfill). Without it that read walks all of the
 * user's records. On a large existing table build it beforehand without blocking writes
 * (`CREATE INDEX CONCURRENTLY usage_records_user_created_idx ON usage_records (user_id, created_at)`):
 * this migration then keeps it (IF NOT EXISTS).
 */
export class UsageRecordsUserCreatedIndex1764370000000 implements MigrationInterface {
  name = 'UsageRecordsUserCreatedIndex1764370000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX IF NOT EXISTS usage_records_user_created_idx ON usage_records (user_id, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS usage_records_user_created_idx`);
  }
}
