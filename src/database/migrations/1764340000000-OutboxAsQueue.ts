import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox becomes a queue: a row lives from its business commit until JetStream acknowledges
 * it, then the relay DELETEs it (the stream is the history of what was published).
 *
 * Why: marking rows published with an UPDATE wrote a new tuple and three index entries per event,
 * and left the `published_at IS NULL` partial index full of dead entries that every relay pass
 * visited on the heap (a bitmap scan of ~1,000 pages to find ~30 rows under load: most of
 * PostgreSQL's CPU in the usage benchmark). A DELETE writes no index entry; the relay reads the
 * head of the one remaining index (the primary key, `seq`, commit order) with a plain index scan,
 * whose dead entries are marked killed on the first visit and reclaimed by an eager autovacuum.
 * The event `id` keeps no index: nothing looks events up by id (JetStream deduplicates on it).
 */
export class OutboxAsQueue1764340000000 implements MigrationInterface {
  name = 'OutboxAsQueue1764340000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM outbox_events WHERE published_at IS NOT NULL`);
    await q.query(`DROP INDEX outbox_events_unpublished_idx`);
    await q.query(`DROP INDEX outbox_events_published_at_idx`);
    await q.query(`ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_pkey`);
    await q.query(`ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_seq_key`);
    await q.query(`ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_pkey PRIMARY KEY (seq)`);
    await q.query(`ALTER TABLE outbox_events DROP COLUMN published_at`);
    // a queue table: vacuum after a few thousand deletes, without cost-based throttling
    await q.query(`
      ALTER TABLE outbox_events SET (
        autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
        autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 20000,
        autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 20000,
        autovacuum_vacuum_cost_delay = 0
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE outbox_events RESET (
        autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_vacuum_insert_scale_factor,
        autovacuum_vacuum_insert_threshold, autovacuum_analyze_scale_factor, autovacuum_analyze_threshold,
        autovacuum_vacuum_cost_delay
      )`);
    await q.query(`ALTER TABLE outbox_events ADD COLUMN published_at timestamptz`);
    await q.query(`ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_pkey`);
    await q.query(`ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_seq_key UNIQUE (seq)`);
    await q.query(`ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_pkey PRIMARY KEY (id)`);
    await q.query(`CREATE INDEX outbox_events_unpublished_idx ON outbox_events (seq) WHERE published_at IS NULL`);
    await q.query(`CREATE INDEX outbox_events_published_at_idx ON outbox_events (published_at) WHERE published_at IS NOT NULL`);
  }
}
