import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { loadChaosConfig, type ChaosConfig } from '../support/config.js';
import { Checks, waitOutboxDrained } from '../support/checks.js';
import { ChaosEnvironment, PREFIX, STREAM } from '../support/environment.js';
import { envelope } from '../support/events.js';
import { HttpClient } from '../support/http.js';
import { outcomeKey, Tally } from '../support/load.js';
import { sleep, waitFor } from '../support/proc.js';
import type { ScenarioResult } from '../support/report.js';
import { say } from '../support/run.js';
import { report } from '../support/scenario.js';
import { INTERNAL_HEADERS } from '../support/service.js';
import { readStream } from '../support/stream.js';

const P = '/api/v1/product';

/** One generated request: invalid by construction (a SPEC rule it breaks), or a read with hostile parameters. */
interface Case {
  endpoint: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: unknown;
  raw?: string;
  /** the rule it breaks */
  why: string;
}

interface WriteEndpoint {
  name: string;
  method: string;
  path: (id: string) => string;
  /** a valid body (the mutation makes it invalid) */
  valid: () => Record<string, unknown>;
  /** fields whose absence is a 400 */
  required: string[];
  /** identifier fields */
  ids: string[];
}

/**
 * The SPEC's write endpoints (sections 2, 7, 8), each with a valid body the generator breaks.
 * Endpoints the service does not have yet answer 404: only "no 5xx, nothing stored" is asked of them.
 */
function writeEndpoints(ctx: { subscriptionId: string }): WriteEndpoint[] {
  const usage = () => ({ user_id: 'fuzz_user', product_id: 'gpt-4o', usage_amount: 10, request_id: `fz_${randomUUID()}` });
  const product = () => ({
    product_id: `fz_${randomUUID().slice(0, 8)}`,
    name: 'Fuzz',
    category_id: 'ai_models',
    product_type: 'model_inference',
    pricing: {
      pricing_type: 'usage_based',
      unit_type: 'token',
      currency: 'USD',
      tiers: [{ tier_name: 'base', min_units: '0', max_units: null, unit_price: '0.001' }],
    },
  });
  const plan = () => ({
    plan_id: `fz_${randomUUID().slice(0, 8)}`,
    name: 'Fuzz',
    plan_tier: 'pro',
    monthly_price: '10',
    yearly_price: '100',
    currency: 'USD',
  });
  const list: WriteEndpoint[] = [
    {
      name: 'usage.record',
      method: 'POST',
      path: () => `${P}/usage/record`,
      valid: usage,
      required: ['user_id', 'product_id', 'usage_amount'],
      ids: ['user_id', 'product_id', 'request_id'],
    },
    {
      name: 'usage.batch',
      method: 'POST',
      path: () => `${P}/usage/records/batch`,
      valid: () => ({ records: [usage()] }),
      required: ['records'],
      ids: [],
    },
    {
      name: 'usage.void',
      method: 'POST',
      path: () => `${P}/usage/records/${randomUUID()}/void`,
      valid: () => ({ reason: 'fuzz' }),
      required: ['reason'],
      ids: [],
    },
    {
      name: 'subscriptions.create',
      method: 'POST',
      path: () => `${P}/subscriptions`,
      valid: () => ({ user_id: `fuzz_${randomUUID().slice(0, 8)}`, plan_id: 'tier_free_001' }),
      required: ['user_id', 'plan_id'],
      ids: ['user_id', 'plan_id'],
    },
    {
      name: 'subscriptions.status',
      method: 'PUT',
      path: (id) => `${P}/subscriptions/${id}/status`,
      valid: () => ({ status: 'paused', reason: 'fuzz' }),
      required: ['status'],
      ids: [],
    },
    {
      name: 'subscriptions.cancel',
      method: 'POST',
      path: (id) => `${P}/subscriptions/${id}/cancel`,
      valid: () => ({ immediate: true }),
      required: [],
      ids: [],
    },
    {
      name: 'subscriptions.resume',
      method: 'POST',
      path: (id) => `${P}/subscriptions/${id}/resume`,
      valid: () => ({}),
      required: [],
      ids: [],
    },
    {
      name: 'subscriptions.change_plan',
      method: 'POST',
      path: (id) => `${P}/subscriptions/${id}/change-plan`,
      valid: () => ({ plan_id: 'tier_max_001' }),
      required: ['plan_id'],
      ids: ['plan_id'],
    },
    {
      name: 'products.create',
      method: 'POST',
      path: () => `${P}/products`,
      valid: product,
      required: ['product_id', 'name', 'pricing'],
      ids: ['product_id', 'category_id'],
    },
    {
      name: 'products.update',
      method: 'PATCH',
      path: () => `${P}/products/gpt-4o-mini`,
      valid: () => ({ description: 'fuzz' }),
      required: [],
      ids: [],
    },
    {
      name: 'products.pricing',
      method: 'PUT',
      path: () => `${P}/products/gpt-4o-mini/pricing`,
      valid: () => product().pricing,
      required: ['tiers'],
      ids: [],
    },
    {
      name: 'categories.create',
      method: 'POST',
      path: () => `${P}/categories`,
      valid: () => ({ category_id: `fz_${randomUUID().slice(0, 8)}`, name: 'Fuzz' }),
      required: ['category_id', 'name'],
      ids: ['category_id'],
    },
    { name: 'plans.create', method: 'POST', path: () => `${P}/plans`, valid: plan, required: ['plan_id', 'name'], ids: ['plan_id'] },
    {
      name: 'plans.update',
      method: 'PATCH',
      path: () => `${P}/plans/tier_max_001`,
      valid: () => ({ description: 'fuzz' }),
      required: [],
      ids: [],
    },
    {
      name: 'pricing.calculate',
      method: 'POST',
      path: () => '/api/v1/pricing/calculate',
      valid: () => ({ product_id: 'gpt-4o', quantity: 100 }),
      required: ['product_id', 'quantity'],
      ids: ['product_id'],
    },
    {
      name: 'admin.cost_definitions',
      method: 'POST',
      path: () => `${P}/admin/cost-definitions`,
      valid: () => ({
        cost_id: `fz_${randomUUID().slice(0, 8)}`,
        service_type: 'model_inference',
        cost_per_unit: '0.001',
        unit_type: 'token',
        currency: 'USD',
        effective_from: new Date().toISOString(),
        is_active: true,
      }),
      // cost_id is generated when absent (README decision)
      required: ['service_type', 'cost_per_unit'],
      ids: ['cost_id'],
    },
    {
      name: 'admin.products',
      method: 'POST',
      path: () => `${P}/admin/products`,
      valid: product,
      required: ['product_id', 'name'],
      ids: ['product_id'],
    },
    {
      name: 'admin.pricing',
      method: 'POST',
      path: () => `${P}/admin/products/gpt-4o-mini/pricing`,
      valid: () => product().pricing,
      required: ['tiers'],
      ids: [],
    },
  ];
  return list.map((e) => ({ ...e, path: (id: string) => e.path(id || ctx.subscriptionId) }));
}

const READS = [
  `${P}/info`,
  `${P}/categories`,
  `${P}/products`,
  `${P}/products/{id}`,
  `${P}/products/{id}/pricing`,
  `${P}/products/{id}/availability`,
  `${P}/plans`,
  `${P}/plans/{id}`,
  `${P}/subscriptions`,
  `${P}/subscriptions/{id}`,
  `${P}/subscriptions/user/{id}`,
  `${P}/usage/records`,
  `${P}/statistics/usage`,
  `${P}/statistics/service`,
  `${P}/usage/quota`,
  '/api/v1/costs/lookup',
  `${P}/admin/audit`,
  `${P}/admin/cost-definitions`,
  `${P}/admin/health/catalog-alignment`,
];
const QUERY_KEYS = [
  'limit',
  'cursor',
  'is_active',
  'product_type',
  'category_id',
  'q',
  'user_id',
  'organization_id',
  'subscription_id',
  'product_id',
  'start_date',
  'end_date',
  'status',
  'plan_id',
  'service_type',
];

/** Identifier values that break the SPEC's rule (1-255 characters, no control characters) or are not strings. */
const badId = fc.oneof(
  fc.constant(''),
  fc.string({ minLength: 256, maxLength: 400 }),
  fc
    .tuple(fc.string({ maxLength: 10 }), fc.integer({ min: 0, max: 31 }), fc.string({ maxLength: 10 }))
    .map(([a, c, b]) => `${a}${String.fromCharCode(c)}${b}`),
  fc.integer(),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);
const badAmount = fc.oneof(
  fc.constantFrom(0, -1, -0.5, 1e12 + 1, 1e300, 'abc', '', '1e400', true, [], {}),
  fc.double({ max: 0, noNaN: true }),
  fc.double({ min: 1e12 + 1, max: 1e300, noNaN: true }),
);
const badTimestamp = fc.oneof(
  fc.constantFrom('yesterday', '2026-13-45T99:99:99Z', '', 'null', 12345),
  fc.integer({ min: 10, max: 10_000 }).map((min) => new Date(Date.now() + min * 60_000).toISOString()),
  fc.integer({ min: 36, max: 3650 }).map((d) => new Date(Date.now() - d * 86_400_000).toISOString()),
);
const unknownKey = fc.string({ minLength: 1, maxLength: 20 }).map((s) => `zz_${s}`);
const nested = (depth: number): unknown => (depth === 0 ? 1 : { a: nested(depth - 1) });

/** An invalid request for a write endpoint: one broken rule per case. */
function badWrite(e: WriteEndpoint, subscriptionId: string): fc.Arbitrary<Case> {
  const base = (why: string, body: unknown, extra: Partial<Case> = {}): Case => ({
    endpoint: e.name,
    method: e.method,
    path: e.path(subscriptionId),
    headers: { ...INTERNAL_HEADERS },
    body,
    why,
    ...extra,
  });
  const mutations: fc.Arbitrary<Case>[] = [
    fc.tuple(unknownKey, fc.jsonValue()).map(([k, v]) => base(`unknown field ${k}`, { ...e.valid(), [k]: v })),
    fc.constantFrom<unknown>([], 0, 'text', null, true).map((v) => base('body is not a JSON object', v)),
    fc
      .string({ maxLength: 50 })
      .filter((s) => {
        try {
          JSON.parse(s);
          return false;
        } catch {
          return s.trim() !== '';
        }
      })
      .map((s) => base('body is not JSON', undefined, { raw: s, headers: { ...INTERNAL_HEADERS, 'content-type': 'application/json' } })),
    fc.constant(0).map(() =>
      base('content-type is not JSON', undefined, {
        raw: JSON.stringify(e.valid()),
        headers: { ...INTERNAL_HEADERS, 'content-type': 'text/plain' },
      }),
    ),
    fc.integer({ min: 300, max: 600 }).map((d) => base(`nested ${d} deep`, { ...e.valid(), zz_deep: nested(d) })),
  ];
  // the SPEC's Idempotency-Key rule (1-255 characters) is a rule of POST endpoints
  if (e.method === 'POST') {
    mutations.push(
      // HTTP trims a header value's ends: non-blank ends keep the key over 255 characters
      fc.string({ minLength: 256, maxLength: 300 }).map((k) => ({
        ...base('Idempotency-Key over 255 characters', e.valid()),
        headers: { ...INTERNAL_HEADERS, 'idempotency-key': `k${k}k` },
      })),
    );
  }
  if (e.required.length > 0)
    mutations.push(
      fc.constantFrom(...e.required).map((f) => {
        const body = e.valid();
        delete body[f];
        return base(`required ${f} missing`, body);
      }),
    );
  if (e.ids.length > 0)
    mutations.push(fc.tuple(fc.constantFrom(...e.ids), badId).map(([f, v]) => base(`bad identifier ${f}`, { ...e.valid(), [f]: v })));
  if (e.name.startsWith('usage.record')) {
    mutations.push(badAmount.map((v) => base('bad usage_amount', { ...e.valid(), usage_amount: v })));
    mutations.push(badTimestamp.map((v) => base('bad usage_timestamp', { ...e.valid(), usage_timestamp: v })));
  }
  if (e.name === 'usage.batch') {
    mutations.push(
      fc
        .integer({ min: 1001, max: 1100 })
        .map((n) => base('more than 1000 records', { records: Array.from({ length: n }, () => e.valid().records).flat() })),
    );
    mutations.push(
      badAmount.map((v) =>
        base('one bad record in a batch', {
          records: [...(e.valid().records as object[]), { user_id: 'fuzz_user', product_id: 'gpt-4o', usage_amount: v }],
        }),
      ),
    );
  }
  if (e.name === 'subscriptions.status')
    mutations.push(
      fc
        .string({ maxLength: 20 })
        .filter(
          (s) =>
            !['incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'unpaid', 'paused', 'canceled', 'expired'].includes(s),
        )
        .map((s) => base('unknown status', { status: s })),
    );
  return fc.oneof(...mutations);
}

/** A read with hostile path ids and query values (nothing to store; only "no 5xx"). */
const badRead: fc.Arbitrary<Case> = fc
  .tuple(
    fc.constantFrom(...READS),
    fc.oneof(
      fc.string({ minLength: 1, maxLength: 30 }),
      fc.string({ minLength: 256, maxLength: 300 }),
      fc.constantFrom('%00', '%2e%2e', '..', 'gpt-4o', '%ff%fe'),
    ),
    fc.dictionary(
      fc.constantFrom(...QUERY_KEYS),
      fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('-1', '0', '201', 'abc', 'True', 'maybe', '1e999', '%00')),
      { maxKeys: 4 },
    ),
  )
  .map(([path, id, query]) => {
    const q = Object.entries(query)
      .map(([k, v]) => `${k}=${/%[0-9a-f]{2}/i.test(v) ? v : encodeURIComponent(v)}`)
      .join('&');
    const seg = /%[0-9a-f]{2}|\.\./i.test(id) ? id : encodeURIComponent(id);
    return {
      endpoint: `GET ${path}`,
      method: 'GET',
      path: `${path.replace('{id}', seg)}${q ? `?${q}` : ''}`,
      headers: { ...INTERNAL_HEADERS },
      why: 'hostile read',
    };
  });

/** Malformed consumed messages, each sure to be refused (malformed or invalid data). */
const TYPES = [
  ['payment.completed', 'payment_service'],
  ['wallet.insufficient_funds', 'wallet_service'],
  ['user.deleted', 'account_service'],
] as const;
interface BadMessage {
  type: string;
  source: string;
  body: string | Uint8Array;
  why: string;
}
const badMessage: fc.Arbitrary<BadMessage> = fc
  .tuple(fc.constantFrom(...TYPES), fc.nat(5))
  .chain(([[type, source], kind]): fc.Arbitrary<BadMessage> => {
    const wrap = (data: unknown) => envelope(type, source, data).body;
    switch (kind) {
      case 0:
        return fc
          .uint8Array({ minLength: 1, maxLength: 40 })
          .filter((b) => {
            try {
              const v: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b));
              return v === null || typeof v !== 'object' || Array.isArray(v);
            } catch {
              return true;
            }
          })
          .map((b) => ({ type, source, body: b, why: 'not a JSON object (bytes)' }));
      case 1:
        return fc
          .oneof(fc.array(fc.jsonValue(), { maxLength: 3 }), fc.string(), fc.integer(), fc.constant(null))
          .map((v) => ({ type, source, body: JSON.stringify(v), why: 'JSON but not an object' }));
      case 2:
        return fc.constantFrom('id', 'type', 'source', 'timestamp').map((k) => {
          const e = JSON.parse(wrap(type === 'payment.completed' ? { subscription_id: 'sub_x' } : { user_id: 'u_x' })) as Record<
            string,
            unknown
          >;
          delete e[k];
          return { type, source, body: JSON.stringify(e), why: `envelope without ${k}` };
        });
      case 3:
        return fc.constantFrom<unknown>(42, '', 'not-a-time', null).map((ts) => {
          const e = JSON.parse(wrap({ user_id: 'u_x' })) as Record<string, unknown>;
          e.timestamp = ts;
          if (ts === null) e.id = 7;
          return { type, source, body: JSON.stringify(e), why: 'envelope with a bad timestamp or id' };
        });
      default:
        return (
          type === 'payment.completed'
            ? fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.nat(), { maxLength: 2 })).map((v) => ({ subscription_id: v }))
            : fc.oneof(
                fc.constant({}),
                badId.map((v) => ({ user_id: v })),
              )
        ).map((data) => ({
          type,
          source,
          body: kind === 4 ? wrap(data) : JSON.stringify(data),
          why: `invalid data (${kind === 4 ? 'enveloped' : 'bare'})`,
        }));
    }
  });

/**
 * Scenario 9: generated bad input at scale (fast-check). CHAOS_FUZZ_CASES (20,000) HTTP requests over
 * every endpoint of the SPEC, each breaking one rule (unknown field, missing or bad field, bad
 * identifier, bad amount or timestamp, not JSON, not an object, wrong content type, too deep, bad
 * Idempotency-Key) or a read with hostile ids and query values; then malformed consumed events
 * interleaved with valid ones. No 5xx; nothing stored, nothing published; every malformed message
 * dead-lettered once (`events.dlq.product_service.<type>`) while the valid ones are handled.
 */
export async function badInput(config: ChaosConfig = loadChaosConfig()): Promise<ScenarioResult> {
  const startedAt = new Date();
  const env = await ChaosEnvironment.start('bad-input', config, { replicas: 1 });
  const http = new HttpClient(64);
  try {
    const service = env.services[0];
    await env.waitForConsumers();
    const checks = new Checks();
    // one real subscription the status / cancel / resume / change-plan cases aim at
    const sub = await http.request(service.baseUrl, 'POST', `${P}/subscriptions`, {
      body: { user_id: `fuzz_owner_${env.run.id}`, plan_id: 'tier_pro_001' },
      headers: INTERNAL_HEADERS,
    });
    const subscriptionId = String(sub.body?.subscription_id ?? 'sub_missing');
    await waitOutboxDrained(env.db, 30_000);
    const snapshot = async () =>
      env.db.one<Record<string, number>>(`SELECT
        (SELECT count(*) FROM usage_records)::int AS usage_records,
        (SELECT count(*) FROM subscriptions)::int AS subscriptions,
        (SELECT count(*) FROM products)::int AS products,
        (SELECT count(*) FROM product_price_tiers)::int AS price_tiers,
        (SELECT count(*) FROM categories)::int AS categories,
        (SELECT count(*) FROM service_plans)::int AS plans,
        (SELECT count(*) FROM outbox_events)::int AS outbox_events,
        (SELECT count(*) FROM idempotency_keys)::int AS idempotency_keys,
        (SELECT count(*) FROM usage_period_totals)::int AS usage_period_totals,
        (SELECT string_agg(status || updated_at::text, ',') FROM subscriptions)::text AS subscription_state`);
    const before = await snapshot();
    const endpoints = writeEndpoints({ subscriptionId });
    const arbitrary = fc.oneof(
      { weight: 4, arbitrary: fc.oneof(...endpoints.map((e) => badWrite(e, subscriptionId))) },
      { weight: 1, arbitrary: badRead },
    );
    const cases = fc.sample(arbitrary, { numRuns: config.fuzzCases, seed: config.seed });
    say(
      env.run.scenario,
      `${cases.length} generated requests (seed ${config.seed}) over ${endpoints.length} write endpoints and ${READS.length} reads`,
    );
    const outcomes = new Tally();
    const accepted = new Tally();
    const byEndpoint = new Map<string, Tally>();
    const bad: { case: Case; status: string; text: string }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++];
        const r = await http.request(service.baseUrl, c.method, c.path, {
          body: c.body,
          rawBody: c.raw,
          headers: c.headers,
          timeoutMs: config.timeoutMs,
        });
        const key = outcomeKey(r);
        outcomes.add(key);
        let t = byEndpoint.get(c.endpoint);
        if (!t) byEndpoint.set(c.endpoint, (t = new Tally()));
        t.add(key);
        const isWrite = c.method !== 'GET';
        if (isWrite && r.outcome === 'http' && r.status < 400) accepted.add(`${c.endpoint}: ${c.why.replace(/ zz_.*$/, '')}`);
        if (r.outcome !== 'http' || r.status >= 500 || (isWrite && r.status < 400)) {
          if (bad.length < 30)
            bad.push({ case: { ...c, body: JSON.stringify(c.body)?.slice(0, 300) }, status: key, text: r.text.slice(0, 300) });
        }
        if (next % 5000 === 0) say(env.run.scenario, `${next} requests: ${JSON.stringify(outcomes.counts)}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    await waitOutboxDrained(env.db, 30_000);
    const after = await snapshot();
    const changed = Object.keys(before).filter((k) => before[k] !== after[k]);
    const fiveXx = outcomes.fiveXx() + outcomes.get('timeout') + outcomes.get('reset') + outcomes.get('refused') + outcomes.get('error');
    const acceptedWrites = accepted.total();
    checks.expect(
      'fuzz http: no 5xx, no dropped connection, no timeout',
      fiveXx === 0,
      `${cases.length} requests: ${JSON.stringify(outcomes.counts)}${bad.length ? `; e.g. ${JSON.stringify(bad.filter((b) => !/^[234]/.test(b.status)).slice(0, 3))}` : ''}`,
    );
    checks.expect(
      'fuzz http: every broken write refused (4xx)',
      acceptedWrites === 0,
      `${acceptedWrites} accepted${acceptedWrites ? `: ${JSON.stringify(accepted.counts)}; e.g. ${JSON.stringify(bad.filter((b) => /^[23]/.test(b.status)).slice(0, 2))}` : ''}`,
    );
    checks.expect(
      'fuzz http: nothing stored, nothing published',
      changed.length === 0,
      changed.length
        ? changed
            .map((k) => `${k}: ${before[k]} -> ${after[k]}`)
            .join('; ')
            .slice(0, 500)
        : 'every table unchanged',
    );
    // malformed consumed events, interleaved with valid ones
    const js = jetstream(env.bus, { timeout: 10_000 });
    const eventCases = Number(process.env.CHAOS_FUZZ_EVENTS ?? Math.max(200, Math.round(config.fuzzCases / 10)));
    const messages = fc.sample(badMessage, { numRuns: eventCases, seed: config.seed + 1 });
    const malformedSeqs = new Map<number, string>();
    const valid: string[] = [];
    for (const [i, m] of messages.entries()) {
      const ack = await js.publish(`${PREFIX}.${m.source}.${m.type}`, m.body);
      malformedSeqs.set(ack.seq, m.why);
      if (i % 5 === 0) {
        const e = envelope('payment.completed', 'payment_service', {
          payment_intent_id: `pi_${i}`,
          metadata: { subscription_id: `sub_fuzz_${i}` },
        });
        await js.publish(`${PREFIX}.payment_service.payment.completed`, e.body, { msgID: e.id });
        valid.push(e.id);
      }
    }
    say(env.run.scenario, `${messages.length} malformed messages and ${valid.length} valid ones published`);
    const handled = async () =>
      (await env.db.one<{ n: number }>(`SELECT count(*)::int AS n FROM inbox_events WHERE event_id = ANY($1)`, [valid])).n;
    await waitFor('valid events handled', async () => (await handled()) === valid.length, 120_000, 500).catch(() => undefined);
    // wait on the DLQ's message count (cheap), then read it once
    const jsm = await jetstreamManager(env.bus);
    const dlqCount = async () => {
      const info = await jsm.streams.info(STREAM, { subjects_filter: `${PREFIX}.dlq.>` });
      return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    };
    const dlqBefore = 0;
    await waitFor('dead letters', async () => (await dlqCount()) - dlqBefore >= malformedSeqs.size, 120_000, 1000).catch(() => undefined);
    const dead = await readStream(env.bus, STREAM, `${PREFIX}.dlq.>`);
    const perSeq = new Map<number, number>();
    for (const d of dead) {
      const seq = d.dlq?.original_stream_seq;
      if (seq !== undefined) perSeq.set(seq, (perSeq.get(seq) ?? 0) + 1);
    }
    const notDead = [...malformedSeqs.entries()].filter(([seq]) => !perSeq.has(seq));
    const twice = [...perSeq.values()].filter((n) => n > 1).length;
    const wrongSubject = dead.filter(
      (d) => !/^events\.dlq\.product_service\.(payment\.completed|wallet\.insufficient_funds|user\.deleted)$/.test(d.subject),
    ).length;
    const handledValid = await handled();
    const whyNot = new Tally();
    for (const [, why] of notDead) whyNot.add(why);
    const reasons = new Tally();
    for (const d of dead) reasons.add(d.dlq?.reason ?? '?');
    checks.expect(
      'fuzz events: every malformed message dead-lettered once',
      notDead.length === 0 && twice === 0,
      `${malformedSeqs.size} malformed, ${malformedSeqs.size - notDead.length} in the DLQ, ${twice} twice; not dead-lettered by kind: ${JSON.stringify(whyNot.counts)}; DLQ reasons ${JSON.stringify(reasons.counts)}`,
    );
    checks.expect('fuzz events: dead letters on events.dlq.product_service.<type>', wrongSubject === 0, `${wrongSubject} elsewhere`);
    checks.expect(
      'fuzz events: the valid events kept flowing (handled)',
      handledValid === valid.length,
      `${valid.length} valid, ${handledValid} handled`,
    );
    const afterEvents = await snapshot();
    const changedByEvents = ['usage_records', 'subscriptions', 'outbox_events', 'subscription_state'].filter(
      (k) => after[k] !== afterEvents[k],
    );
    checks.expect(
      'fuzz events: nothing stored or published by the malformed ones',
      changedByEvents.length === 0,
      changedByEvents.map((k) => `${k} changed`).join('; ') || 'unchanged',
    );
    await sleep(100);
    const endpointsTable: Record<string, unknown> = {};
    for (const [k, t] of byEndpoint) endpointsTable[k] = t.counts;
    return report(
      env,
      'Scenario 9: generated bad input at scale (fast-check)',
      startedAt,
      {
        load: `${cases.length} generated requests + ${messages.length} malformed events`,
        fault: 'bad input (seed ' + String(config.seed) + ')',
        answered: outcomes.total(),
        stored: Object.keys(before).filter((k) => k !== 'subscription_state' && before[k] !== after[k]).length,
        events: Number(afterEvents.outbox_events) - Number(before.outbox_events),
        lost: handledValid < valid.length ? valid.length - handledValid : 0,
        duplicated: twice,
      },
      checks,
      {
        seed: config.seed,
        outcomes: outcomes.counts,
        accepted_broken_writes: accepted.counts,
        by_endpoint: endpointsTable,
        suspicious: bad,
        events: {
          malformed: malformedSeqs.size,
          valid: valid.length,
          dead_lettered: malformedSeqs.size - notDead.length,
          dlq_reasons: reasons.counts,
          not_dead_lettered: whyNot.counts,
        },
      },
    );
  } finally {
    http.close();
    await env.close();
  }
}
