import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `idempotency_keys.response_body` as `json` instead of `jsonb`: a replay must answer the first
 * response's body (SPEC section 1: "same status and body"), and `jsonb` does not keep it: it
 * reorders an object's keys (shorter first) and drops duplicates, so a replayed answer had the
 * same values with its fields in another order. `json` keeps the text as written. (Rows stored
 * before keep jsonb's order: they expire within 24 hours.)
 */
export class IdempotencyResponseAsJson1764380000000 implements MigrationInterface {
  name = 'IdempotencyResponseAsJson1764380000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE idempotency_keys ALTER COLUMN response_body TYPE json USING response_body::json`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE idempotency_keys ALTER COLUMN response_body TYPE jsonb USING response_body::jsonb`);
  }
}
