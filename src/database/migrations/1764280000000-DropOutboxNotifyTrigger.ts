import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * No NOTIFY inside business transactions: PostgreSQL serialises the commits of all transactions that
 * NOTIFY (a database-wide lock held through the commit's WAL flush), which capped every write endpoint.
 * The relay of the replica that committed is woken in process (OutboxSignal); when another replica holds
 * the relay lock, that relay sends one NOTIFY outside any business transaction (see OutboxRelay).
 */
export class DropOutboxNotifyTrigger1764280000000 implements MigrationInterface {
  name = 'DropOutboxNotifyTrigger1764280000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS outbox_events_notify ON outbox_events`);
    await q.query(`DROP FUNCTION IF EXISTS outbox_events_notify()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION outbox_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('outbox_events', '');
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events
      FOR EACH STATEMENT EXECUTE FUNCTION outbox_events_notify()`);
  }
}
