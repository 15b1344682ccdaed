import { ConfigService } from '@nestjs/config';
import pg from 'pg';
import { PgNotifications } from '../src/database/pg-notifications.js';
import { UnitOfWork } from '../src/database/unit-of-work.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * LISTEN/NOTIFY between replicas on real PostgreSQL: channels added while the connection is up are
 * listened to one after the other (a pg client runs one query at a time; queueing them made pg 8 warn
 * that pg 9 will refuse it), and each channel's notifications from another process reach its
 * handlers.
 */
describe('PgNotifications (PostgreSQL)', () => {
  let t: TestApp;
  let other: pg.Client;
  let notifications: PgNotifications;
  // the most queries the listener's connection had at once (pg 8 warns from the third; pg 9 refuses a second)
  const query = pg.Client.prototype.query;
  const inFlight = new Map<pg.Client, number>();
  let mostAtOnce = 0;

  beforeAll(async () => {
    t = await startTestApp();
    other = new pg.Client({ connectionString: t.databaseUrl });
    await other.connect();
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const listener = (this as unknown as { connectionParameters: { application_name?: string } }).connectionParameters.application_name;
      if (listener !== 'product-service-listener') return (query as (...a: unknown[]) => unknown).apply(this, args);
      inFlight.set(this, (inFlight.get(this) ?? 0) + 1);
      mostAtOnce = Math.max(mostAtOnce, inFlight.get(this)!);
      const done = () => inFlight.set(this, inFlight.get(this)! - 1);
      const result = (query as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      result.then(done, done);
      return result;
    } as typeof query;
  });
  afterAll(async () => {
    pg.Client.prototype.query = query;
    await notifications?.onApplicationShutdown();
    await other?.end();
    await t?.close();
  });

  it('should listen to channels added at once on a live connection and deliver their notifications', async () => {
    notifications = new PgNotifications(t.app.get(UnitOfWork), t.app.get(ConfigService));
    const heard: Record<string, string[]> = {};
    const handler = (channel: string) => (payload?: string) => {
      if (payload !== undefined) (heard[channel] ??= []).push(payload);
    };
    // the first channel opens the connection; its catch-up call (no payload) says it is up
    await new Promise<void>((connected) => notifications.listen('probe_first', (payload) => payload === undefined && connected()));
    const channels = ['probe_a', 'probe_b', 'probe_c', 'probe_d'];
    for (const channel of channels) notifications.listen(channel, handler(channel));

    // NOTIFY until every channel has heard its own payload (a LISTEN not yet applied misses the first ones)
    for (let attempt = 0; attempt < 200 && !channels.every((c) => heard[c]?.includes(`to ${c}`)); attempt++) {
      for (const channel of channels) await other.query('SELECT pg_notify($1, $2)', [channel, `to ${channel}`]);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    for (const channel of channels) expect(heard[channel]).toContain(`to ${channel}`);
    expect(Object.keys(heard).sort()).toEqual(channels);
    expect(mostAtOnce).toBe(1);
  });
});
