import pg from 'pg';
import { sqlLiteral } from '../src/database/transaction.js';
import { UnitOfWork } from '../src/database/unit-of-work.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * UnitOfWork.scripted on real PostgreSQL (the outbox relay's transaction): BEGIN with the first
 * statement, COMMIT with the last, all or nothing, and a failed message never leaves its pooled
 * connection inside an aborted transaction (after a failure, more transactions at once than the
 * pool has connections, so every pooled connection serves one).
 */
describe('scripted transactions (PostgreSQL)', () => {
  let t: TestApp;
  let db: pg.Client;
  let uow: UnitOfWork;
  const count = async (): Promise<number> => Number((await db.query(`SELECT count(*)::int AS n FROM scripted_probe`)).rows[0].n);

  beforeAll(async () => {
    t = await startTestApp();
    uow = t.app.get(UnitOfWork);
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    await db.query(`CREATE TABLE scripted_probe (id int PRIMARY KEY, note text)`);
  });
  afterAll(async () => {
    await db?.end();
    await t?.close();
  });

  it('should commit the statements of both messages together', async () => {
    const seen = await uow.scripted(async (tx) => {
      const rows = await tx.query<{ n: number }>(`INSERT INTO scripted_probe VALUES (1, ${sqlLiteral("it's")}) RETURNING id AS n`);
      await tx.commit(`INSERT INTO scripted_probe VALUES (2, ${sqlLiteral('back\\slash')})`);
      return rows.map((r) => r.n);
    });
    expect(seen).toEqual([1]);
    expect((await db.query(`SELECT note FROM scripted_probe ORDER BY id`)).rows).toEqual([{ note: "it's" }, { note: 'back\\slash' }]);
  });

  it('should roll back the first message when the final one fails, and leave the connection usable', async () => {
    await expect(
      uow.scripted(async (tx) => {
        await tx.query(`INSERT INTO scripted_probe VALUES (3, 'kept?')`);
        await tx.commit(`INSERT INTO scripted_probe VALUES (1, 'duplicate key')`);
      }),
    ).rejects.toBeDefined();
    expect(await count()).toBe(2);
    // no pooled connection stuck in "current transaction is aborted"
    const everyConnection = await Promise.all(
      Array.from({ length: 25 }, () => uow.scripted((tx) => tx.query<{ one: number }>(`SELECT 1 AS one`))),
    );
    expect(everyConnection.flat()).toEqual(Array.from({ length: 25 }, () => ({ one: 1 })));
    await uow.scripted((tx) => tx.commit(`INSERT INTO scripted_probe VALUES (4, 'after')`));
    expect(await count()).toBe(3);
  });

  it('should roll back when the work throws between the messages', async () => {
    await expect(
      uow.scripted(async (tx) => {
        await tx.query(`INSERT INTO scripted_probe VALUES (5, 'not kept')`);
        throw new Error('publish failed');
      }),
    ).rejects.toThrow();
    expect(await count()).toBe(3);
    expect(await uow.scripted((tx) => tx.query<{ one: number }>(`SELECT 1 AS one`))).toEqual([{ one: 1 }]);
  });

  it('should survive the server terminating its connection between the two messages (an error event with no query running)', async () => {
    await expect(
      uow.scripted(async (tx) => {
        const [{ pid }] = await tx.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`);
        await db.query(`SELECT pg_terminate_backend($1)`, [pid]);
        await new Promise((resolve) => setTimeout(resolve, 200)); // the FATAL message arrives while nothing runs
        await tx.commit(`INSERT INTO scripted_probe VALUES (6, 'never')`);
      }),
    ).rejects.toBeDefined();
    // the pool dropped the dead connection: the next transaction gets a new one
    await uow.scripted((tx) => tx.commit(`INSERT INTO scripted_probe VALUES (7, 'new connection')`));
    expect((await db.query(`SELECT id FROM scripted_probe WHERE id >= 6 ORDER BY id`)).rows).toEqual([{ id: 7 }]);
  });
});
