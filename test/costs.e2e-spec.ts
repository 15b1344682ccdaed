import pg from 'pg';
import request from 'supertest';
import { ManualClock } from '../src/common/clock/clock.js';
import { Decimal } from '../src/common/money/decimal.js';
import { busClient, type Bus, deleteStream, eventsEnv, eventually, readAll, type StoredMessage } from './support/events.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/** Jest ignores the e2e project's testTimeout: hooks and tests that start apps say theirs. */
const SLOW = 120_000;
const NOW = '2026-12-10T12:00:00.000Z';
const ADMIN = `${API}/admin/cost-definitions`;
const LOOKUP = '/api/v1/costs/lookup';
const USER = { 'X-User-Id': 'user_1' };

const definition = (cost_id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  cost_id,
  service_type: 'model_inference',
  cost_per_unit: '0.15',
  unit_type: 'token',
  unit_size: '1000000',
  effective_from: '2026-12-01T00:00:00Z',
  ...extra,
});

/**
 * Provider cost definitions (SPEC section 7): the internal admin API, the lookup's matching rule,
 * rotation (atomic, with history), the event on the stream, another replica hearing a change, and
 * the provider cost stored on usage records with the margin in the usage statistics.
 */
describe('provider cost definitions (PostgreSQL + NATS)', () => {
  const env = eventsEnv();
  const clock = new ManualClock(NOW);
  let t: TestApp;
  let replica: TestApp;
  let bus: Bus;
  let db: pg.Client;

  const create = (body: Record<string, unknown>) => request(t.baseUrl).post(ADMIN).set(INTERNAL).send(body);
  const lookup = (query: string, base = t.baseUrl) => request(base).get(`${LOOKUP}?${query}`).set(INTERNAL);
  const rotate = (body: unknown) =>
    request(t.baseUrl)
      .post(`${ADMIN}/rotate`)
      .set(INTERNAL)
      .send(body as object);
  const row = async (costId: string) =>
    (await db.query<Record<string, unknown>>('SELECT * FROM cost_definitions WHERE cost_id = $1', [costId])).rows[0];

  beforeAll(async () => {
    bus = await busClient();
    t = await startTestApp({ env: { ...env, CATALOG_REFRESH_MS: '1h' }, clock });
    // a second replica on the same database, with its reload an hour away: it hears changes through NOTIFY only
    replica = await startTestApp({ databaseUrl: t.databaseUrl, env: { CATALOG_REFRESH_MS: '1h' }, clock });
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  }, SLOW);
  afterAll(async () => {
    await db?.end();
    await replica?.app.close();
    await t?.close();
    await deleteStream(bus.jsm, env.EVENTS_STREAM);
    await bus?.close();
  }, SLOW);
  beforeEach(() => clock.set(NOW));

  describe('access', () => {
    it('should refuse callers without internal credentials (401) and users (403), on the admin API and the lookup', async () => {
      for (const [method, path] of [
        ['get', ADMIN],
        ['post', ADMIN],
        ['post', `${ADMIN}/rotate`],
        ['put', `${ADMIN}/x`],
        ['get', `${ADMIN}/history/gpt-4o`],
        ['get', `${LOOKUP}?service_type=model_inference`],
      ] as const) {
        const anonymous = await request(t.baseUrl)[method](path).send({});
        expect([method, path, anonymous.status, anonymous.body.error?.code]).toEqual([method, path, 401, 'UNAUTHORIZED']);
        const user = await request(t.baseUrl)[method](path).set(USER).send({});
        expect([method, path, user.status, user.body.error?.code]).toEqual([method, path, 403, 'FORBIDDEN']);
      }
    });
  });

  describe('create, update, list', () => {
    it('should create a definition (201), with defaults, numbers read as the decimals they print as, and refuse a duplicate (409)', async () => {
      const res = await create({ cost_id: 'c_basic', service_type: 'computation', cost_per_unit: 0.00015, unit_type: 'second' }).expect(
        201,
      );
      expect(res.body).toEqual({
        cost_id: 'c_basic',
        product_id: null,
        service_type: 'computation',
        provider: null,
        model_name: null,
        operation_type: null,
        cost_per_unit: '0.00015',
        unit_type: 'second',
        unit_size: '1',
        currency: 'USD',
        original_cost_usd: null,
        margin_percentage: null,
        effective_from: NOW,
        effective_until: null,
        free_tier_limit: null,
        free_tier_period: null,
        is_active: true,
        description: null,
        metadata: {},
        created_at: NOW,
        updated_at: NOW,
      });
      const dup = await create({ cost_id: 'c_basic', service_type: 'computation', cost_per_unit: '1', unit_type: 'second' }).expect(409);
      expect(dup.body.error.code).toBe('COST_DEFINITION_EXISTS');
      expect(dup.body.detail).toBe(dup.body.error.message);
    });

    it('should generate a cost_id when none is given', async () => {
      const res = await create({ service_type: 'computation', cost_per_unit: '2', unit_type: 'second', is_active: false }).expect(201);
      expect(res.body.cost_id).toMatch(/^cost_[0-9a-f-]{36}$/);
    });

    it('should refuse unknown fields, bad decimals, a window that ends before it starts and a missing service_type (400)', async () => {
      const bad = [
        [{ ...definition('c_bad'), bogus: 1 }, 'bogus'],
        [definition('c_bad', { cost_per_unit: '-1' }), 'cost_per_unit'],
        [definition('c_bad', { cost_per_unit: 'abc' }), 'cost_per_unit'],
        [definition('c_bad', { unit_size: 0 }), 'unit_size'],
        [definition('c_bad', { effective_from: 'yesterday' }), 'effective_from'],
        [definition('c_bad', { effective_until: '2026-11-01T00:00:00Z' }), 'effective_until'],
        [{ cost_per_unit: '1', unit_type: 'token' }, 'service_type'],
        [definition('c_bad', { service_type: 'a\u0000b' }), 'service_type'],
        // year 0, and an instant whose UTC form would be year 10000 (it had been stored and echoed as +010000-...)
        [definition('c_bad', { effective_from: '0000-06-15T12:00:00Z' }), 'effective_from'],
        [definition('c_bad', { effective_until: '9999-12-31T23:59:59-14:00' }), 'effective_until'],
      ] as const;
      for (const [body, field] of bad) {
        const res = await create(body);
        expect([field, res.status]).toEqual([field, 400]);
        expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
      }
      expect(await row('c_bad')).toBeUndefined();
      // years 1-99 are themselves (they had become 1901-1999)
      const early = await create(definition('c_early', { effective_from: '0050-01-01T00:00:00Z' })).expect(201);
      expect(early.body.effective_from).toBe('0050-01-01T00:00:00.000Z');
    });

    it('should change the given fields with PUT, retire with is_active false, and answer 404 for an unknown cost_id', async () => {
      await create(definition('c_put', { service_type: 'data_processing', provider: 'p_put' })).expect(201);
      clock.set('2026-12-10T13:00:00.000Z');
      const res = await request(t.baseUrl)
        .put(`${ADMIN}/c_put`)
        .set(INTERNAL)
        .send({ cost_per_unit: '0.20', description: 'new' })
        .expect(200);
      expect(res.body).toMatchObject({
        cost_id: 'c_put',
        cost_per_unit: '0.20',
        description: 'new',
        provider: 'p_put',
        updated_at: '2026-12-10T13:00:00.000Z',
      });
      expect((await lookup('service_type=data_processing&provider=p_put').expect(200)).body.cost_per_unit).toBe('0.20');
      await request(t.baseUrl).put(`${ADMIN}/c_put`).set(INTERNAL).send({ is_active: false }).expect(200);
      expect((await lookup('service_type=data_processing&provider=p_put').expect(404)).body.error.code).toBe('COST_DEFINITION_NOT_FOUND');
      const unknown = await request(t.baseUrl).put(`${ADMIN}/nope`).set(INTERNAL).send({ cost_per_unit: '1' }).expect(404);
      expect(unknown.body.error.code).toBe('COST_DEFINITION_NOT_FOUND');
      await request(t.baseUrl).put(`${ADMIN}/c_put`).set(INTERNAL).send({ effective_until: '2026-11-01T00:00:00Z' }).expect(400);
      await request(t.baseUrl).put(`${ADMIN}/c_put`).set(INTERNAL).send({ cost_id: 'other' }).expect(400);
    });

    it('should list with the is_active, provider and service_type filters, paged by cost_id with Link and X-Next-Cursor', async () => {
      for (const id of ['l_1', 'l_2', 'l_3']) await create(definition(id, { service_type: 'integration', provider: 'lister' })).expect(201);
      await create(definition('l_4', { service_type: 'integration', provider: 'lister', is_active: false })).expect(201);
      await create(definition('l_5', { service_type: 'integration', provider: 'other' })).expect(201);
      const seen: string[] = [];
      let url: string | undefined = `${ADMIN}?service_type=integration&provider=lister&is_active=true&limit=2`;
      while (url) {
        const res: request.Response = await request(t.baseUrl).get(url).set(INTERNAL).expect(200);
        seen.push(...res.body.map((d: { cost_id: string }) => d.cost_id));
        url = res.headers['x-next-cursor'] ? /<([^>]+)>/.exec(res.headers.link)![1] : undefined;
      }
      expect(seen).toEqual(['l_1', 'l_2', 'l_3']);
      const inactive = await request(t.baseUrl).get(`${ADMIN}?service_type=integration&is_active=false`).set(INTERNAL).expect(200);
      expect(inactive.body.map((d: { cost_id: string }) => d.cost_id)).toEqual(['l_4']);
      const all = await request(t.baseUrl).get(`${ADMIN}?service_type=integration`).set(INTERNAL).expect(200);
      expect(all.body).toHaveLength(5);
      await request(t.baseUrl).get(`${ADMIN}?is_active=maybe`).set(INTERNAL).expect(400);
      await request(t.baseUrl).get(`${ADMIN}?cursor=garbage`).set(INTERNAL).expect(400);
    });

    it('should replay a POST with the same Idempotency-Key and store the definition once', async () => {
      const first = await request(t.baseUrl)
        .post(ADMIN)
        .set(INTERNAL)
        .set('Idempotency-Key', 'cost-key-1')
        .send(definition('c_idem'))
        .expect(201);
      const again = await request(t.baseUrl)
        .post(ADMIN)
        .set(INTERNAL)
        .set('Idempotency-Key', 'cost-key-1')
        .send(definition('c_idem'))
        .expect(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body);
      const other = await request(t.baseUrl)
        .post(ADMIN)
        .set(INTERNAL)
        .set('Idempotency-Key', 'cost-key-1')
        .send(definition('c_idem2'))
        .expect(409);
      expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });
  });

  describe('lookup', () => {
    beforeAll(async () => {
      const defs = [
        definition('m_generic', { service_type: 'mcp_tool', cost_per_unit: '1' }),
        definition('m_provider', { service_type: 'mcp_tool', provider: 'acme', cost_per_unit: '2' }),
        definition('m_provider_model', { service_type: 'mcp_tool', provider: 'acme', model_name: 'search', cost_per_unit: '3' }),
        definition('m_product_op', { service_type: 'mcp_tool', product_id: 'tool_x', operation_type: 'call', cost_per_unit: '4' }),
        // same specificity as m_provider_model, later effective_from: wins the tie
        definition('m_newer', {
          service_type: 'mcp_tool',
          provider: 'acme',
          model_name: 'fetch',
          cost_per_unit: '5',
          effective_from: '2026-12-05T00:00:00Z',
        }),
        definition('m_older', { service_type: 'mcp_tool', provider: 'acme', model_name: 'fetch', cost_per_unit: '6' }),
        // same specificity and effective_from: the smaller cost_id wins
        definition('m_twin_b', { service_type: 'notification', provider: 'mail', cost_per_unit: '7' }),
        definition('m_twin_a', { service_type: 'notification', provider: 'mail', cost_per_unit: '8' }),
        // not effective now
        definition('m_future', {
          service_type: 'notification',
          provider: 'sms',
          cost_per_unit: '9',
          effective_from: '2026-12-20T00:00:00Z',
        }),
        definition('m_ended', {
          service_type: 'notification',
          provider: 'push',
          cost_per_unit: '10',
          effective_until: '2026-12-05T00:00:00Z',
        }),
        definition('m_bytes', { service_type: 'notification', provider: 'fax', unit_type: 'page', unit_size: 1, cost_per_unit: '11' }),
      ];
      for (const d of defs) await create(d).expect(201);
    });

    const found = async (query: string): Promise<string> => {
      const res = await lookup(query);
      return res.status === 200 ? (res.body.cost_definition.cost_id as string) : `${res.status} ${res.body.error?.code}`;
    };

    it('should let null fields match anything, prefer the most specific, and not match a set field against an absent one', async () => {
      expect(await found('service_type=mcp_tool')).toBe('m_generic');
      expect(await found('service_type=mcp_tool&provider=other')).toBe('m_generic');
      expect(await found('service_type=mcp_tool&provider=acme')).toBe('m_provider');
      expect(await found('service_type=mcp_tool&provider=acme&model_name=search')).toBe('m_provider_model');
      expect(await found('service_type=mcp_tool&provider=acme&model_name=search&operation_type=call&product_id=nope')).toBe(
        'm_provider_model',
      );
      expect(await found('service_type=mcp_tool&product_id=tool_x&operation_type=call')).toBe('m_product_op');
      expect(await found('service_type=mcp_tool&product_id=tool_x')).toBe('m_generic');
      // two fields each: equally specific, equally recent: the smaller cost_id
      expect(await found('service_type=mcp_tool&provider=acme&model_name=search&product_id=tool_x&operation_type=call')).toBe(
        'm_product_op',
      );
    });

    it('should break ties by the latest effective_from, then the smallest cost_id', async () => {
      expect(await found('service_type=mcp_tool&provider=acme&model_name=fetch')).toBe('m_newer');
      expect(await found('service_type=notification&provider=mail')).toBe('m_twin_a');
    });

    it('should only answer definitions effective now, and of the given unit_type', async () => {
      expect(await found('service_type=notification&provider=sms')).toBe('404 COST_DEFINITION_NOT_FOUND');
      expect(await found('service_type=notification&provider=push')).toBe('404 COST_DEFINITION_NOT_FOUND');
      clock.set('2026-12-20T00:00:00.000Z');
      expect(await found('service_type=notification&provider=sms')).toBe('m_future');
      clock.set(NOW);
      // an ended version stays as history
      const ended = await request(t.baseUrl).get(`${ADMIN}?provider=push`).set(INTERNAL).expect(200);
      expect(ended.body).toEqual([expect.objectContaining({ cost_id: 'm_ended', effective_until: '2026-12-05T00:00:00.000Z' })]);
      expect(await found('service_type=notification&provider=fax&unit_type=page')).toBe('m_bytes');
      expect(await found('service_type=notification&provider=fax&unit_type=token')).toBe('404 COST_DEFINITION_NOT_FOUND');
    });

    it('should answer the SPEC shape, and 400 without service_type', async () => {
      const res = await lookup('service_type=mcp_tool&provider=acme&model_name=search').expect(200);
      expect(res.body).toMatchObject({
        success: true,
        message: expect.any(String),
        cost_per_unit: '3',
        unit_type: 'token',
        unit_size: '1000000',
        free_tier_limit: null,
        free_tier_period: null,
        cost_definition: { cost_id: 'm_provider_model', provider: 'acme', model_name: 'search' },
      });
      const missing = await request(t.baseUrl).get(LOOKUP).set(INTERNAL).expect(400);
      expect(missing.body.error.details[0].field).toBe('service_type');
    });

    it('should be seen by another replica through NOTIFY', async () => {
      await create(definition('m_replica', { service_type: 'agent_execution', provider: 'replica' })).expect(201);
      const res = await eventually(
        () => lookup('service_type=agent_execution&provider=replica', replica.baseUrl),
        (r) => r.status === 200,
        10_000,
      );
      expect(res.body.cost_definition.cost_id).toBe('m_replica');
    });
  });

  describe('rotation', () => {
    const gpt = { service_type: 'model_inference', provider: 'openai', model_name: 'gpt-rot' };

    it('should close each active version of the same key at the new one’s effective_from, atomically, keeping the history', async () => {
      await create(definition('rot_v1', { ...gpt, cost_per_unit: '0.10', effective_from: '2026-11-01T00:00:00Z' })).expect(201);
      // another key (other operation_type) is left alone
      await create(definition('rot_other', { ...gpt, operation_type: 'output', cost_per_unit: '0.40' })).expect(201);
      const res = await rotate([definition('rot_v2', { ...gpt, cost_per_unit: '0.12', effective_from: '2026-12-15T00:00:00Z' })]).expect(
        200,
      );
      expect(res.body).toEqual({ rotated: 1, details: [{ cost_id: 'rot_v2', replaced_cost_id: 'rot_v1' }] });
      expect((await row('rot_v1')).effective_until).toEqual(new Date('2026-12-15T00:00:00Z'));
      expect((await row('rot_other')).effective_until).toBeNull();
      // v1 until 15 December, v2 from then on
      expect((await lookup('service_type=model_inference&provider=openai&model_name=gpt-rot').expect(200)).body.cost_per_unit).toBe('0.10');
      clock.set('2026-12-15T00:00:00.000Z');
      expect((await lookup('service_type=model_inference&provider=openai&model_name=gpt-rot').expect(200)).body.cost_per_unit).toBe('0.12');
      clock.set(NOW);
      // two new versions in one rotation: the second replaces the first
      const two = await rotate([
        definition('rot_v3', { ...gpt, cost_per_unit: '0.13', effective_from: '2027-01-01T00:00:00Z' }),
        definition('rot_v4', { ...gpt, cost_per_unit: '0.14', effective_from: '2027-02-01T00:00:00Z' }),
        definition('rot_new_key', { ...gpt, model_name: 'gpt-brand-new', effective_from: '2027-01-01T00:00:00Z' }),
      ]).expect(200);
      expect(two.body).toEqual({
        rotated: 3,
        details: [
          { cost_id: 'rot_v3', replaced_cost_id: 'rot_v2' },
          { cost_id: 'rot_v4', replaced_cost_id: 'rot_v3' },
          { cost_id: 'rot_new_key', replaced_cost_id: null },
        ],
      });
      const history = await request(t.baseUrl).get(`${ADMIN}/history/gpt-rot`).set(INTERNAL).expect(200);
      expect(history.body.map((d: { cost_id: string; effective_until: string | null }) => [d.cost_id, d.effective_until])).toEqual([
        ['rot_v4', null],
        ['rot_v3', '2027-02-01T00:00:00.000Z'],
        ['rot_v2', '2027-01-01T00:00:00.000Z'],
        ['rot_other', null],
        ['rot_v1', '2026-12-15T00:00:00.000Z'],
      ]);
      const paged = await request(t.baseUrl).get(`${ADMIN}/history/gpt-rot?limit=2`).set(INTERNAL).expect(200);
      expect(paged.body.map((d: { cost_id: string }) => d.cost_id)).toEqual(['rot_v4', 'rot_v3']);
      const rest = await request(t.baseUrl)
        .get(`${ADMIN}/history/gpt-rot?limit=10&cursor=${paged.headers['x-next-cursor']}`)
        .set(INTERNAL)
        .expect(200);
      expect(rest.body.map((d: { cost_id: string }) => d.cost_id)).toEqual(['rot_v2', 'rot_other', 'rot_v1']);
      expect((await request(t.baseUrl).get(`${ADMIN}/history/nothing-here`).set(INTERNAL).expect(200)).body).toEqual([]);
    });

    it('should roll the whole rotation back when one definition fails: nothing closed, nothing inserted, no audit row, no event', async () => {
      const outboxBefore = (await db.query(`SELECT count(*)::int AS n FROM outbox_events`)).rows[0].n as number;
      const auditBefore = (await db.query(`SELECT count(*)::int AS n FROM audit_log`)).rows[0].n as number;
      const res = await rotate([
        definition('rot_v5', { ...gpt, cost_per_unit: '0.15', effective_from: '2027-03-01T00:00:00Z' }),
        definition('rot_v1', { ...gpt, model_name: 'elsewhere', effective_from: '2027-03-01T00:00:00Z' }),
      ]).expect(409);
      expect(res.body.error.code).toBe('COST_DEFINITION_EXISTS');
      expect(await row('rot_v5')).toBeUndefined();
      expect((await row('rot_v4')).effective_until).toBeNull();
      expect((await db.query(`SELECT count(*)::int AS n FROM outbox_events`)).rows[0].n).toBe(outboxBefore);
      expect((await db.query(`SELECT count(*)::int AS n FROM audit_log`)).rows[0].n).toBe(auditBefore);
      // a new version that would start before the one it replaces: 409, nothing changed
      const early = await rotate([definition('rot_early', { ...gpt, effective_from: '2027-01-15T00:00:00Z' })]).expect(409);
      expect(early.body.error.code).toBe('COST_ROTATION_CONFLICT');
      expect(await row('rot_early')).toBeUndefined();
      expect((await row('rot_v4')).effective_until).toBeNull();
    });

    it('should refuse a body that is not an array of valid definitions, naming each bad field by index (400)', async () => {
      expect((await rotate({ cost_id: 'x' }).expect(400)).body.error.code).toBe('VALIDATION_ERROR');
      await rotate([]).expect(400);
      const res = await rotate([definition('ok_one'), { ...definition('bad_one'), bogus: true }, 'nope']).expect(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toEqual(['[1].bogus', '[2]']);
      expect(await row('ok_one')).toBeUndefined();
    });
    it("should drop `constructor` keys inside a rotation's definitions as a single create does, never answering 500", async () => {
      const metadata = { constructor: 'x', note: 'kept', nested: { constructor: {}, ok: 1 } };
      const single = await request(t.baseUrl)
        .post(ADMIN)
        .set(INTERNAL)
        .send(definition('pk_single', { provider: 'pk1', metadata }))
        .expect(201);
      expect(single.body.metadata).toEqual({ note: 'kept', nested: { ok: 1 } });
      await rotate([definition('pk_rot', { provider: 'pk2', metadata })]).expect(200);
      expect((await row('pk_rot')).metadata).toEqual({ note: 'kept', nested: { ok: 1 } });
      // an item that is bad as well: its fields are named, as for any other bad item
      const bad = await rotate([definition('pk_bad', { provider: 'pk3', metadata, unit_type: 7 })]).expect(400);
      expect(new Set(bad.body.error.details.map((d: { field: string }) => d.field))).toEqual(new Set(['[0].unit_type']));
    });
  });

  describe('events', () => {
    it('should publish product.cost_definitions.changed for a create, an update and a rotation, with the request id', async () => {
      await request(t.baseUrl)
        .post(ADMIN)
        .set(INTERNAL)
        .set('X-Request-Id', 'req-cost-1')
        .send(definition('ev_1', { provider: 'ev' }))
        .expect(201);
      await request(t.baseUrl).put(`${ADMIN}/ev_1`).set(INTERNAL).send({ is_active: false }).expect(200);
      // changing nothing (retired again, a value as it is) publishes nothing and audits nothing
      const audited = (await db.query(`SELECT 1 FROM audit_log WHERE resource_id = 'ev_1'`)).rows.length;
      await request(t.baseUrl).put(`${ADMIN}/ev_1`).set(INTERNAL).send({ is_active: false }).expect(200);
      await request(t.baseUrl).put(`${ADMIN}/ev_1`).set(INTERNAL).send({ provider: 'ev' }).expect(200);
      expect((await db.query(`SELECT 1 FROM audit_log WHERE resource_id = 'ev_1'`)).rows).toHaveLength(audited);
      await request(t.baseUrl).put(`${ADMIN}/ev_1`).set(INTERNAL).send({ description: 'still retired' }).expect(200);
      await rotate([definition('ev_2', { provider: 'ev', effective_from: '2026-12-02T00:00:00Z' })]).expect(200);
      const subject = `${env.EVENTS_SUBJECT_PREFIX}.product_service.product.cost_definitions.changed`;
      const mine = (messages: StoredMessage[]) =>
        messages.map((m) => m.json()).filter((e) => e.data.cost_ids.some((id: string) => id.startsWith('ev_')));
      const messages = await eventually(
        () => readAll(bus, env.EVENTS_STREAM, subject),
        (m) => mine(m).length >= 4,
      );
      const events = mine(messages);
      expect(events.map((e) => e.data)).toEqual([
        { cost_ids: ['ev_1'], change: 'created' },
        { cost_ids: ['ev_1'], change: 'retired' },
        { cost_ids: ['ev_1'], change: 'updated' },
        { cost_ids: ['ev_2'], change: 'rotated' },
      ]);
      expect(events[0]).toMatchObject({
        type: 'product.cost_definitions.changed',
        source: 'product_service',
        metadata: { request_id: 'req-cost-1' },
      });
    }, 30_000);
  });

  describe('provider cost of usage', () => {
    it('should store usage_amount / unit_size × cost_per_unit on each record and report provider_cost and margin exactly', async () => {
      // minio_storage: the first 1073741824 bytes of a month are free, the next cost 0.000000000023 each; it costs us 0.000000000011
      await create({
        cost_id: 'minio_bytes',
        service_type: 'storage_minio',
        provider: 'minio',
        model_name: 'minio_storage',
        product_id: 'minio_storage',
        cost_per_unit: '0.000011',
        unit_size: '1000000',
        unit_type: 'byte',
        effective_from: '2026-12-01T00:00:00Z',
      }).expect(201);
      // a definition for another unit type never applies to minio's bytes
      await create(definition('minio_wrong_unit', { service_type: 'storage_minio', unit_type: 'gigabyte', cost_per_unit: '99' })).expect(
        201,
      );
      const user = 'cost_user_1';
      const record = (product_id: string, usage_amount: number) =>
        request(t.baseUrl).post(`${API}/usage/record`).set(INTERNAL).send({ user_id: user, product_id, usage_amount }).expect(200);
      const free = await record('minio_storage', 1073741824);
      const paid = await record('minio_storage', 1073741824);
      const unpriced = await record('api_gateway', 10);
      const stored = async (id: string) =>
        (await db.query(`SELECT provider_cost::text AS p FROM usage_records WHERE usage_record_id = $1`, [id])).rows[0].p as string | null;
      expect(await stored(free.body.usage_record_id)).toBe('0.011811160064');
      expect(await stored(paid.body.usage_record_id)).toBe('0.011811160064');
      expect(await stored(unpriced.body.usage_record_id)).toBeNull();
      const stats = await request(t.baseUrl).get(`${API}/statistics/usage?user_id=${user}`).set(INTERNAL).expect(200);
      expect(stats.body).toMatchObject({
        total_cost: new Decimal('0.024696061952').plus(unpriced.body.total_cost).toFixed(),
        provider_cost: '0.023622320128',
        margin: new Decimal('0.024696061952').plus(unpriced.body.total_cost).minus('0.023622320128').toFixed(),
        records_without_provider_cost: 1,
      });
      expect(stats.body.usage_by_product.minio_storage).toEqual({
        usage_amount: '2147483648',
        total_cost: '0.024696061952',
        records: 2,
        provider_cost: '0.023622320128',
        margin: '0.001073741824',
        records_without_provider_cost: 0,
      });
      expect(stats.body.usage_by_product.api_gateway).toMatchObject({ provider_cost: '0', records_without_provider_cost: 1 });
      expect(stats.body.usage_by_date['2026-12-10']).toMatchObject({ provider_cost: '0.023622320128' });
      // the platform's purchase prices are for internal callers: the user sees their usage and its cost
      const mine = await request(t.baseUrl).get(`${API}/statistics/usage`).set('X-User-Id', user).expect(200);
      expect(mine.body.usage_by_product.minio_storage).toEqual({ usage_amount: '2147483648', total_cost: '0.024696061952', records: 2 });
      expect(mine.body).toMatchObject({ total_cost: stats.body.total_cost, total_records: 3 });
      for (const field of ['provider_cost', 'margin', 'records_without_provider_cost']) expect(mine.body[field]).toBeUndefined();
    });

    it('should use the definition in force when recorded: a rotation changes later records only', async () => {
      await rotate([
        {
          cost_id: 'minio_bytes_v2',
          service_type: 'storage_minio',
          provider: 'minio',
          model_name: 'minio_storage',
          product_id: 'minio_storage',
          cost_per_unit: '0.000022',
          unit_size: '1000000',
          unit_type: 'byte',
          effective_from: '2026-12-10T12:30:00Z',
        },
      ]).expect(200);
      const user = 'cost_user_2';
      const record = () =>
        request(t.baseUrl)
          .post(`${API}/usage/record`)
          .set(INTERNAL)
          .send({ user_id: user, product_id: 'minio_storage', usage_amount: 1000000 });
      const before = await record().expect(200);
      clock.set('2026-12-10T12:30:00.000Z');
      const after = await record().expect(200);
      const costs = await db.query(
        `SELECT usage_record_id, provider_cost::text AS p FROM usage_records WHERE usage_record_id = ANY($1::uuid[])`,
        [[before.body.usage_record_id, after.body.usage_record_id]],
      );
      const byId = new Map(costs.rows.map((r) => [r.usage_record_id as string, r.p as string]));
      expect([byId.get(before.body.usage_record_id), byId.get(after.body.usage_record_id)]).toEqual(['0.000011', '0.000022']);
    });

    it("should keep a partial void's share of the provider cost to 30 places, the last void taking the remainder", async () => {
      // 3 requests at 0.5 per 3: a provider cost of 0.5; voiding 1 of 3 credits a third, which does not terminate
      await create(
        definition('gw_thirds', {
          service_type: 'api_gateway',
          product_id: 'api_gateway',
          unit_type: 'request',
          cost_per_unit: '0.5',
          unit_size: '3',
        }),
      ).expect(201);
      const rec = await request(t.baseUrl)
        .post(`${API}/usage/record`)
        .set(INTERNAL)
        .send({ user_id: 'cost_user_3', product_id: 'api_gateway', usage_amount: 3 })
        .expect(200);
      const id = rec.body.usage_record_id as string;
      const voided = async () =>
        (
          await db.query(`SELECT provider_cost::text AS p, voided_provider_cost::text AS v FROM usage_records WHERE usage_record_id = $1`, [
            id,
          ])
        ).rows[0] as { p: string; v: string };
      expect((await voided()).p).toBe('0.5');
      const voidPath = `${API}/usage/records/${id}/void`;
      await request(t.baseUrl).post(voidPath).set(INTERNAL).send({ reason: 'test', usage_amount: 1 }).expect(200);
      expect((await voided()).v).toBe(`0.${'1' + '6'.repeat(28)}7`);
      await request(t.baseUrl).post(voidPath).set(INTERNAL).send({ reason: 'test', usage_amount: 1 }).expect(200);
      expect((await voided()).v).toBe(`0.${'3'.repeat(29)}4`);
      await request(t.baseUrl).post(voidPath).set(INTERNAL).send({ reason: 'test' }).expect(200);
      expect(Number((await voided()).v)).toBe(0.5); // the whole of it, whatever the numeric's scale
      const stats = await request(t.baseUrl).get(`${API}/statistics/usage`).set(INTERNAL).query({ user_id: 'cost_user_3' }).expect(200);
      expect(stats.body).toMatchObject({ total_records: 0, provider_cost: '0' });
    });
  });
});
