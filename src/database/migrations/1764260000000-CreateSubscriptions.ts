import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Subscriptions. `seq` orders lists newest first stably; the partial unique index enforces at most
 * one non-terminal subscription per (user, organization or none) in the database itself.
 */
export class CreateSubscriptions1764260000000 implements MigrationInterface {
  name = 'CreateSubscriptions1764260000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE subscriptions (
        subscription_id       text PRIMARY KEY,
        seq                   bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        user_id               text NOT NULL,
        organization_id       text,
        plan_id               text NOT NULL REFERENCES service_plans(plan_id),
        plan_tier             text NOT NULL,
        status                text NOT NULL CHECK (status IN ('incomplete','incomplete_expired','trialing','active','past_due','unpaid','paused','canceled','expired')),
        billing_cycle         text NOT NULL CHECK (billing_cycle IN ('monthly','quarterly','yearly','one_time')),
        seats                 int NOT NULL CHECK (seats >= 1),
        price                 numeric NOT NULL CHECK (price >= 0),
        currency              text NOT NULL,
        billing_anchor        timestamptz NOT NULL,
        period_index          int NOT NULL DEFAULT 0,
        current_period_start  timestamptz NOT NULL,
        current_period_end    timestamptz NOT NULL,
        trial_start           timestamptz,
        trial_end             timestamptz,
        cancel_at_period_end  boolean NOT NULL DEFAULT false,
        canceled_at           timestamptz,
        cancellation_reason   text,
        pending_plan_id       text REFERENCES service_plans(plan_id),
        pending_billing_cycle text,
        pending_seats         int,
        past_due_since        timestamptz,
        payment_method_id     text,
        included_products     jsonb NOT NULL DEFAULT '[]',
        quota_limits          jsonb NOT NULL DEFAULT '{}',
        metadata              jsonb NOT NULL DEFAULT '{}',
        created_at            timestamptz NOT NULL,
        updated_at            timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE UNIQUE INDEX subscriptions_one_open_per_owner
        ON subscriptions (user_id, coalesce(organization_id, ''))
        WHERE status NOT IN ('canceled', 'incomplete_expired', 'expired')`);
    await q.query(`CREATE INDEX subscriptions_user_seq_idx ON subscriptions (user_id, seq DESC)`);
    await q.query(`CREATE INDEX subscriptions_org_seq_idx ON subscriptions (organization_id, seq DESC) WHERE organization_id IS NOT NULL`);
    await q.query(`CREATE INDEX subscriptions_plan_idx ON subscriptions (plan_id)`);
    // What the lifecycle sweeper looks for: only non-terminal rows, by their next due instant.
    await q.query(`
      CREATE INDEX subscriptions_sweep_idx ON subscriptions (status, current_period_end)
        WHERE status NOT IN ('canceled', 'incomplete_expired', 'expired')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE subscriptions`);
  }
}
