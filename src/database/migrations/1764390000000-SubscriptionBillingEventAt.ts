import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `subscriptions.billing_event_at`: the time (the event's own timestamp) of the latest
 * `payment.completed` or `wallet.insufficient_funds` applied to the subscription. Each type has its
 * own consumer, so one subscription's payment and failed charge can be applied in either order: an
 * older one arriving after a newer one is ignored (a user who paid after a failed charge had ended
 * `past_due`). Null: none yet. A plain column add: no rewrite, no lock beyond the moment.
 */
export class SubscriptionBillingEventAt1764390000000 implements MigrationInterface {
  name = 'SubscriptionBillingEventAt1764390000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE subscriptions ADD COLUMN billing_event_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE subscriptions DROP COLUMN billing_event_at`);
  }
}
