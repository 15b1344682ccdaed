import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a usage record cost the platform: usage_amount / unit_size × cost_per_unit of the provider
 * cost definition matched when it was recorded; null when none matched (and for records written
 * before this column). Nullable without a default: adding it rewrites nothing.
 */
export class UsageProviderCost1764330000000 implements MigrationInterface {
  name = 'UsageProviderCost1764330000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE usage_records ADD COLUMN provider_cost numeric`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE usage_records DROP COLUMN provider_cost`);
  }
}
