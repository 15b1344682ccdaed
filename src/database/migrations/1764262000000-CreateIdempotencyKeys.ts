import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Idempotency-Key records: claimed before the handler runs, completed with the response, 24 h. */
export class CreateIdempotencyKeys1764262000000 implements MigrationInterface {
  name = 'CreateIdempotencyKeys1764262000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE idempotency_keys (
        scope           text NOT NULL,
        key             text NOT NULL,
        method          text NOT NULL,
        path            text NOT NULL,
        request_hash    text NOT NULL,
        state           text NOT NULL CHECK (state IN ('in_progress', 'completed')),
        response_status int,
        response_body   jsonb,
        created_at      timestamptz NOT NULL,
        expires_at      timestamptz NOT NULL,
        PRIMARY KEY (scope, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE idempotency_keys`);
  }
}
