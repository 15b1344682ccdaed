import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `outbox_parked_events`: outbox rows the bus refused for good, moved out of the queue so they no
 * longer hold it up. Today one reason: the event is larger than the NATS server's `max_payload` or
 * the stream's largest message (a publish can never succeed as it is). Each keeps its envelope,
 * its place in commit order (`seq`), its attempts and why it was parked; an operator requeues it
 * (deploy/observability/RUNBOOK.md, "ProductOutboxEventsParked") once the bus takes messages that large, or
 * deletes it. Nothing reads it on a hot path: no index beyond the primary key.
 */
export class OutboxParkedEvents1764360000000 implements MigrationInterface {
  name = 'OutboxParkedEvents1764360000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE outbox_parked_events (
        seq           bigint PRIMARY KEY,
        id            uuid NOT NULL,
        type          text NOT NULL,
        subject       text NOT NULL,
        aggregate_id  text,
        envelope      json NOT NULL,
        created_at    timestamptz NOT NULL,
        attempts      int NOT NULL,
        parked_at     timestamptz NOT NULL DEFAULT now(),
        reason        text NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE outbox_parked_events`);
  }
}
