import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox keeps each envelope as the exact JSON text that goes on the wire (`json`, which keeps
 * the text as written, instead of `jsonb`, which reorders keys): the relay publishes it as it is,
 * with no parse, reordering or re-serialisation per event. `->` / `->>` work on both types.
 */
export class OutboxEnvelopeAsJson1764290000000 implements MigrationInterface {
  name = 'OutboxEnvelopeAsJson1764290000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox_events ALTER COLUMN envelope TYPE json USING envelope::json`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox_events ALTER COLUMN envelope TYPE jsonb USING envelope::jsonb`);
  }
}
