import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Inbox: the id of every consumed event that took effect, written in the effect's transaction (idempotent handlers). */
export class CreateInbox1764270000000 implements MigrationInterface {
  name = 'CreateInbox1764270000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE inbox_events (
        event_id     text PRIMARY KEY,
        type         text NOT NULL,
        received_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX inbox_events_received_at_idx ON inbox_events (received_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE inbox_events`);
  }
}
