import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SPEC section 8: corrections (voids), quotas and thresholds.
 *
 * - `usage_records` gains what a void changes (`voided_amount`, `credited_cost`,
 *   `voided_provider_cost`, `voided_at`), `over_quota` (stored past a limit), `price_schedule_id`
 *   (the schedule the record was priced with: a void prices at the record's own tiers) and `quota`
 *   (the quota counters the record counted in, so a void can take it out of them). Added with
 *   constant defaults or nullable: no table rewrite.
 * - `usage_price_schedules`: every distinct price schedule a record was priced with, keyed by a
 *   content hash, written once (ON CONFLICT DO NOTHING) by the group statement.
 * - `usage_quota_counters`: one row per (user, scope, limit key, kind, window): what the plan limit
 *   counts. The rows are locked by an upsert before an enforced decision (exact under concurrency).
 * - `usage_quota_thresholds`: a threshold reached in a window, once (the primary key makes "once"
 *   a database fact; the event is written with the row).
 * (Replicas hear of subscription changes by a NOTIFY the writer sends after its commit, not by a
 * trigger: a NOTIFY inside a transaction serialises the commits of every notifying transaction.)
 */
export class UsageCorrectionsAndQuotas1764350000000 implements MigrationInterface {
  name = 'UsageCorrectionsAndQuotas1764350000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE usage_records
        ADD COLUMN voided_amount numeric NOT NULL DEFAULT 0,
        ADD COLUMN credited_cost numeric NOT NULL DEFAULT 0,
        ADD COLUMN voided_provider_cost numeric NOT NULL DEFAULT 0,
        ADD COLUMN voided_at timestamptz,
        ADD COLUMN over_quota boolean NOT NULL DEFAULT false,
        ADD COLUMN price_schedule_id text,
        ADD COLUMN quota jsonb`);
    await q.query(
      `ALTER TABLE usage_records ADD CONSTRAINT usage_records_voided_check CHECK (voided_amount >= 0 AND voided_amount <= usage_amount)`,
    );
    await q.query(`
      CREATE TABLE usage_price_schedules (
        schedule_id      text PRIMARY KEY,
        free_tier_limit  numeric NOT NULL,
        tiers            jsonb NOT NULL,
        created_at       timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE TABLE usage_quota_counters (
        user_id       text NOT NULL,
        scope         text NOT NULL,
        limit_key     text NOT NULL,
        kind          text NOT NULL CHECK (kind IN ('daily_requests', 'period_units')),
        window_start  timestamptz NOT NULL,
        window_end    timestamptz NOT NULL,
        used          numeric NOT NULL DEFAULT 0,
        updated_at    timestamptz NOT NULL,
        PRIMARY KEY (user_id, scope, limit_key, kind, window_start)
      )`);
    await q.query(`
      CREATE TABLE usage_quota_thresholds (
        user_id            text NOT NULL,
        scope              text NOT NULL,
        limit_key          text NOT NULL,
        kind               text NOT NULL,
        window_start       timestamptz NOT NULL,
        threshold_percent  numeric NOT NULL,
        reached_at         timestamptz NOT NULL,
        PRIMARY KEY (user_id, scope, limit_key, kind, window_start, threshold_percent)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE usage_quota_thresholds`);
    await q.query(`DROP TABLE usage_quota_counters`);
    await q.query(`DROP TABLE usage_price_schedules`);
    await q.query(`ALTER TABLE usage_records DROP CONSTRAINT usage_records_voided_check`);
    await q.query(`
      ALTER TABLE usage_records DROP COLUMN voided_amount, DROP COLUMN credited_cost, DROP COLUMN voided_provider_cost,
        DROP COLUMN voided_at, DROP COLUMN over_quota, DROP COLUMN price_schedule_id, DROP COLUMN quota`);
  }
}
