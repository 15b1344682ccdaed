import { createHash } from 'node:crypto';
import pg from 'pg';
import request from 'supertest';
import { ManualClock } from '../src/common/clock/clock.js';
import { Decimal } from '../src/common/money/decimal.js';
import { canonicalJson } from '../src/idempotency/canonical-json.js';
import { KEY_LOCK_CLASS } from '../src/idempotency/idempotency.repository.js';
import { CatalogStore } from '../src/product/catalog/catalog-store.js';
import { UsageRecorder } from '../src/product/usage/usage-recorder.service.js';
import { Db } from './support/catalog-fixture.js';
import { eventually } from './support/events.js';
import { startFakePlatform } from './support/fake-platform.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/**
 * POST /usage/record with an Idempotency-Key joins a group commit like any other record (real
 * PostgreSQL): the group's transaction claims the keys and stores each response before its COMMIT.
 * Each request still answers as it would alone (a request transaction of its own): one effect per
 * key, replays, 409 for another body, failures store nothing; a key another transaction holds does
 * not hold up the group.
 */
type Res = Awaited<ReturnType<ReturnType<typeof request>['post']>>;

describe('usage group commit with Idempotency-Key (PostgreSQL)', () => {
  const clock = new ManualClock('2026-11-25T10:00:00.000Z');
  let t: TestApp;
  let platform: Awaited<ReturnType<typeof startFakePlatform>>;
  let db: Db;
  let n = 0;
  const newUser = (): string => {
    const id = `keyed_user_${++n}`;
    platform.accounts.addUser(id);
    return id;
  };
  const record = (body: Record<string, unknown>, key?: string) => {
    const req = request(t.baseUrl).post(`${API}/usage/record`).set(INTERNAL);
    if (key !== undefined) void req.set('Idempotency-Key', key);
    return req.send(body);
  };
  const stats = () => ({ ...t.app.get(UsageRecorder).groupStats });
  const keyRows = (prefix: string) =>
    db.query<{ key: string; state: string; response_body: Record<string, unknown> }>(
      `SELECT key, state, response_body FROM idempotency_keys WHERE key LIKE $1 ORDER BY key`,
      [`${prefix}%`],
    );
  const recordsOf = (user: string) =>
    db.query<{ usage_record_id: string; usage_amount: string; units_before: string }>(
      `SELECT usage_record_id, usage_amount::text, units_before::text FROM usage_records WHERE user_id = $1 ORDER BY usage_records.units_before`,
      [user],
    );
  /** product_idempotency_grouped_requests_total of POST /usage/record, by outcome. */
  const groupedCounts = async (app: TestApp = t): Promise<{ group: number; alone: number }> => {
    const text = (await request(app.baseUrl).get('/metrics').expect(200)).text;
    const count = (outcome: string) =>
      Number(
        new RegExp(`^product_idempotency_grouped_requests_total\\{route="${API}/usage/record",outcome="${outcome}"\\} (\\d+)`, 'm').exec(
          text,
        )?.[1] ?? 0,
      );
    return { group: count('group'), alone: count('alone') };
  };
  const eventsOf = async (user: string) =>
    (await db.outbox('product.usage.recorded')).filter((e) => e.data.user_id === user).map((e) => e.data.usage_record_id);

  beforeAll(async () => {
    platform = await startFakePlatform();
    // a wait of a few ms per group makes sure concurrent requests meet in groups
    t = await startTestApp({ env: { ...platform.env, USAGE_GROUP_MAX_WAIT_MS: '5', USAGE_GROUP_MAX_RECORDS: '200' }, clock });
    db = await Db.connect(t.databaseUrl as string, () => t.app.get(CatalogStore).refresh());
    await db.ensureCatalog();
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await t?.close();
    await platform?.stop();
  }, 60_000);

  it('should commit 300 concurrent keyed records in groups: one record, one event and one stored response per key, contiguous units', async () => {
    const user = newUser();
    const before = stats();
    const amounts = Array.from({ length: 300 }, (_, i) => 100 + (i % 5) * 37);
    const answers = await Promise.all(
      amounts.map((usage_amount, i) => record({ user_id: user, product_id: 'gpt-4o', usage_amount }, `many-${String(i).padStart(3, '0')}`)),
    );
    expect(answers.map((a) => a.status)).toEqual(amounts.map(() => 200));
    expect(answers.every((a) => a.headers['idempotent-replayed'] === undefined)).toBe(true);
    const after = stats();
    expect(after.items - before.items).toBe(300); // every one went through the group commit...
    expect(after.groups - before.groups).toBeLessThan(300); // ...and some group held more than one

    const stored = await recordsOf(user);
    expect(stored).toHaveLength(300);
    let next = new Decimal(0);
    for (const r of stored) {
      expect(r.units_before).toBe(next.toFixed());
      next = next.plus(r.usage_amount);
    }
    expect(next.toFixed()).toBe(amounts.reduce((s, a) => s + a, 0).toString());
    expect((await eventsOf(user)).sort()).toEqual(stored.map((r) => r.usage_record_id).sort());

    // each key holds its own request's response, committed
    const keys = await keyRows('many-');
    expect(keys).toHaveLength(300);
    for (const [i, k] of keys.entries()) {
      expect(k.state).toBe('completed');
      expect(k.response_body).toEqual(answers[i].body);
    }
    // a retry replays it, in a group too, and records nothing
    const retries = await Promise.all(
      amounts
        .slice(0, 40)
        .map((usage_amount, i) => record({ user_id: user, product_id: 'gpt-4o', usage_amount }, `many-${String(i).padStart(3, '0')}`)),
    );
    for (const [i, r] of retries.entries()) {
      expect(r.status).toBe(200);
      expect(r.headers['idempotent-replayed']).toBe('true');
      expect(r.body).toEqual(answers[i].body);
    }
    expect(await recordsOf(user)).toHaveLength(300);
  }, 60_000);

  it('should answer each keyed request of a mixed group as it would alone', async () => {
    const before = await groupedCounts();
    const user = newUser();
    const body = (usage_amount: number, extra: Record<string, unknown> = {}) => ({
      user_id: user,
      product_id: 'gpt-4o',
      usage_amount,
      ...extra,
    });
    const done = await record(body(10), 'mixed-done').expect(200);
    const [replay, reused, sameA, sameB, otherA, otherB, badSub, badProduct, badAmount, plain, fresh] = await Promise.all([
      record(body(10), 'mixed-done'),
      record(body(11), 'mixed-done'),
      record(body(3), 'mixed-same'),
      record(body(3), 'mixed-same'),
      record(body(4), 'mixed-other'),
      record(body(5), 'mixed-other'),
      record(body(6, { subscription_id: 'sub_nope' }), 'mixed-badsub'),
      record({ ...body(7), product_id: 'no-such-product' }, 'mixed-badproduct'),
      record(body(-1), 'mixed-badamount'),
      record(body(8)),
      record(body(9), 'mixed-fresh'),
    ]);
    // a completed key: replayed, or 409 with another body
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(done.body);
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // one key twice in the same moment with one body: one effect, the other replays it
    expect([sameA.status, sameB.status]).toEqual([200, 200]);
    expect(sameA.body).toEqual(sameB.body);
    expect([sameA.headers['idempotent-replayed'], sameB.headers['idempotent-replayed']].sort()).toEqual(['true', undefined]);
    // ... with two bodies: one runs, the other is 409
    expect([otherA.status, otherB.status].sort()).toEqual([200, 409]);
    // failures: their own error, nothing stored under the key
    expect(badSub.status).toBe(422);
    expect(badSub.body.error.code).toBe('SUBSCRIPTION_NOT_ACTIVE');
    expect(badProduct.status).toBe(422);
    expect(badAmount.status).toBe(400);
    expect([plain.status, fresh.status]).toEqual([200, 200]);
    expect(fresh.headers['idempotent-replayed']).toBeUndefined();

    const stored = await recordsOf(user);
    expect(stored.map((r) => r.usage_amount).sort()).toEqual(['10', '3', otherA.status === 200 ? '4' : '5', '8', '9'].sort());
    expect(await eventsOf(user)).toHaveLength(5);
    const keys = await keyRows('mixed-');
    expect(keys.map((k) => [k.key, k.state])).toEqual([
      ['mixed-done', 'completed'],
      ['mixed-fresh', 'completed'],
      ['mixed-other', 'completed'],
      ['mixed-same', 'completed'],
    ]);
    // a failed request stored nothing: a retry with the key runs again
    const fixed = await record(body(6), 'mixed-badsub').expect(200);
    expect(fixed.headers['idempotent-replayed']).toBeUndefined();
    expect(await recordsOf(user)).toHaveLength(6);
    // where they were settled (product_idempotency_grouped_requests_total): `done`, `fresh`, `fixed`
    // and the first of each pair sharing a key (the replay and the 409 share `mixed-done`) in their
    // group; the three failures too (failed before their group: their own error, the key holding
    // nothing; they had been run again alone); the second of each pair either way (alone when it met
    // the first in one group or while that group was open, else replayed or refused in its own)
    const after = await groupedCounts();
    expect(after.group - before.group).toBeGreaterThanOrEqual(9);
    expect(after.group + after.alone - before.group - before.alone).toBe(12); // every keyed request once, `done` and `fixed` included
  }, 30_000);

  it('should store nothing under the key of an enforced record a plan limit refuses in a group, and replay the others', async () => {
    const planId = 'keyed_plan_1';
    await db.copyPlan('tier_free_001', { plan_id: planId, usage_limits: { model_inference: { daily_requests: 2 } } });
    await t.app.get(CatalogStore).refresh();
    const user = newUser();
    await request(t.baseUrl).post(`${API}/subscriptions`).set(INTERNAL).send({ user_id: user, plan_id: planId }).expect(200);
    const body = { user_id: user, product_id: 'gpt-4o-mini', usage_amount: 1, enforce: true };
    const answers = await Promise.all([0, 1, 2, 3].map((i) => record(body, `quota-${i}`)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 429, 429]);
    const keys = await keyRows('quota-');
    const ok = answers.flatMap((a, i) => (a.status === 200 ? [`quota-${i}`] : []));
    expect(keys.map((k) => k.key)).toEqual(ok);
    // the refused keys stored nothing: a retry runs again (and is refused again); the others replay
    for (const [i, a] of answers.entries()) {
      const again = await record(body, `quota-${i}`);
      expect(again.status).toBe(a.status);
      expect(again.headers['idempotent-replayed']).toBe(a.status === 200 ? 'true' : undefined);
    }
    expect(await recordsOf(user)).toHaveLength(2);
  }, 30_000);

  it('should send a key another transaction holds to wait alone, without holding up the group, and replay what that one commits', async () => {
    const user = newUser();
    const body = { user_id: user, product_id: 'gpt-4o', usage_amount: 5 };
    const hash = createHash('sha256')
      .update(`POST\n${API}/usage/record\n${canonicalJson(body)}`)
      .digest('hex');
    // a request of this version in another process, mid-flight: it holds the key's lock and its uncommitted claim
    const other = new pg.Client({ connectionString: t.databaseUrl });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT pg_advisory_xact_lock($1, hashtext('internal' || chr(10) || 'held-elsewhere'))`, [KEY_LOCK_CLASS]);
      await other.query(
        `INSERT INTO idempotency_keys (scope, key, method, path, request_hash, state, created_at, expires_at)
         VALUES ('internal', 'held-elsewhere', 'POST', $1, $2, 'in_progress', now(), now() + interval '1 day')`,
        [`${API}/usage/record`, hash],
      );
      const before = stats();
      const keyed = record(body, 'held-elsewhere').then((r) => r);
      // it waits on the key's advisory lock, in a request transaction of its own
      await eventually(
        async () => (await db.query(`SELECT 1 FROM pg_locks WHERE NOT granted AND locktype = 'advisory'`)).length,
        (waiting) => waiting > 0,
      );
      // meanwhile the groups go on: records with and without keys are answered
      const others = await Promise.all(
        Array.from({ length: 20 }, (_, i) => record({ ...body, usage_amount: 1 }, i % 2 === 0 ? `held-other-${i}` : undefined)),
      );
      expect(others.map((r) => r.status)).toEqual(others.map(() => 200));
      expect(stats().groups).toBeGreaterThan(before.groups);
      await other.query(
        `UPDATE idempotency_keys SET state = 'completed', response_status = 200, response_body = '{"held": true}' WHERE key = 'held-elsewhere'`,
      );
      await other.query('COMMIT');
      const res = await keyed;
      expect(res.status).toBe(200);
      expect(res.headers['idempotent-replayed']).toBe('true');
      expect(res.body).toEqual({ held: true });
    } finally {
      await other.end();
    }
    expect(await recordsOf(user)).toHaveLength(20); // the held key's request recorded nothing of its own
  }, 30_000);

  it('should keep a database failure in a group to the request that causes it: the others stored with their keys', async () => {
    const user = newUser();
    await db.query(`CREATE FUNCTION refuse_keyed_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.session_id = 'poison' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$`);
    await db.query(`CREATE TRIGGER refuse_keyed_poison BEFORE INSERT ON usage_records FOR EACH ROW EXECUTE FUNCTION refuse_keyed_poison()`);
    try {
      const body = (session_id: string) => ({ user_id: user, product_id: 'gpt-4o', usage_amount: 7, session_id });
      const answers = await Promise.all([
        record(body('ok'), 'poison-ok-1'),
        record(body('poison'), 'poison-bad'),
        record(body('ok'), 'poison-ok-2'),
        record(body('ok')),
      ]);
      expect(answers.map((a) => a.status)).toEqual([200, 500, 200, 200]);
      expect((await keyRows('poison-')).map((k) => k.key)).toEqual(['poison-ok-1', 'poison-ok-2']);
      expect(await recordsOf(user)).toHaveLength(3);
    } finally {
      await db.query(`DROP TRIGGER refuse_keyed_poison ON usage_records`);
      await db.query(`DROP FUNCTION refuse_keyed_poison()`);
    }
    // once the fault is gone, the failed key runs
    await record({ user_id: user, product_id: 'gpt-4o', usage_amount: 7, session_id: 'poison' }, 'poison-bad').expect(200);
    expect(await recordsOf(user)).toHaveLength(4);
  }, 30_000);

  it('should keep one effect per key when two replicas take the same keys at once: every answer of a key the same, the other body 409', async () => {
    const replica = await startTestApp({
      env: { ...platform.env, USAGE_GROUP_MAX_WAIT_MS: '5', USAGE_GROUP_MAX_RECORDS: '200' },
      clock,
      databaseUrl: t.databaseUrl,
    });
    try {
      const user = newUser();
      // 40 keys, each sent 8 times over both replicas at once: keys 0-29 always with one body, keys
      // 30-39 with two (the first to commit wins, the other body is 409 IDEMPOTENCY_KEY_REUSED)
      const sends = Array.from({ length: 320 }, (_, n) => {
        const k = n % 40;
        const amount = k < 30 ? 1 + k : 100 + (Math.floor(n / 40) % 2);
        const app = n % 2 === 0 ? t : replica;
        return { k, amount, app };
      });
      const beforeAlone = (await groupedCounts()).alone + (await groupedCounts(replica)).alone;
      const answers = await Promise.all(
        sends.map(({ k, amount, app }) =>
          request(app.baseUrl)
            .post(`${API}/usage/record`)
            .set(INTERNAL)
            .set('Idempotency-Key', `replicas-${k}`)
            .send({ user_id: user, product_id: 'gpt-4o', usage_amount: amount }),
        ),
      );
      expect(answers.filter((a) => a.status >= 500)).toEqual([]);
      const stored = await recordsOf(user);
      expect(stored).toHaveLength(40); // one effect per key
      const byKey = new Map<number, Res[]>();
      for (const [n, a] of answers.entries()) byKey.set(sends[n].k, [...(byKey.get(sends[n].k) ?? []), a]);
      const winners = new Set<string>();
      for (const [k, sent] of byKey) {
        const ok = sent.filter((a) => a.status === 200);
        // every 200 of a key names the same record, with the body of the request that won it
        expect(new Set(ok.map((a) => a.body.usage_record_id as string)).size).toBe(1);
        expect(new Set(ok.map((a) => a.body.recorded_amount as string)).size).toBe(1);
        winners.add(ok[0].body.usage_record_id as string);
        if (k < 30) expect(ok).toHaveLength(8);
        else {
          const winner = ok[0].body.recorded_amount as string;
          for (const [n, a] of sent.entries()) {
            const sameBody = String(sends[k + 40 * n].amount) === winner;
            expect([a.status, sameBody ? undefined : a.body.error.code]).toEqual(
              sameBody ? [200, undefined] : [409, 'IDEMPOTENCY_KEY_REUSED'],
            );
          }
        }
      }
      expect(new Set(stored.map((r) => r.usage_record_id))).toEqual(winners);
      expect(await eventsOf(user)).toHaveLength(40);
      // the replicas' groups met the same keys: some requests were run again alone (waiting for the key)
      const afterAlone = (await groupedCounts()).alone + (await groupedCounts(replica)).alone;
      expect(afterAlone).toBeGreaterThan(beforeAlone);
    } finally {
      await replica.app.close();
    }
  }, 60_000);
});
