import { startFakePlatform } from './support/fake-platform.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/**
 * "No input ever yields a 500": every operation of the service's own OpenAPI document (`/docs-json`)
 * called many times with seeded random input: path parameters (real ids among junk), query
 * parameters, bodies (the documented example, it with one field replaced, or mangled), content
 * types and credentials. Every answer must be below 500; the fake account and organization services
 * are up, so not even a 503 is due. Seeded: a failure reproduces with its seed, and the list printed
 * names each request. (A longer run of this kind found the two 500s the JSON guard and
 * `validateBody` now prevent: an unpaired surrogate in a jsonb field, a `constructor` key in a cost
 * rotation's item.)
 */
describe('random input on every documented operation (seeded)', () => {
  const SEEDS = [1, 2, 3];
  const PER_OPERATION = 25;
  let t: TestApp;
  let platform: Awaited<ReturnType<typeof startFakePlatform>>;
  const realIds: string[] = [];

  beforeAll(async () => {
    platform = await startFakePlatform();
    for (let u = 0; u < 3; u++) platform.accounts.addUser(`fz-user-${u}`);
    t = await startTestApp({ env: platform.env });
    const post = (path: string, body: unknown) =>
      fetch(`${t.baseUrl}${API}${path}`, {
        method: 'POST',
        headers: { ...INTERNAL, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      }).then((res) => res.json() as Promise<Record<string, unknown>>);
    for (let u = 0; u < 3; u++) {
      const sub = await post('/subscriptions', { user_id: `fz-user-${u}`, plan_id: 'tier_pro_001' });
      const record = await post('/usage/record', { user_id: `fz-user-${u}`, product_id: 'gpt-4o', usage_amount: 10 });
      realIds.push(String(sub.subscription_id), String(record.usage_record_id));
    }
  });

  afterAll(async () => {
    await t?.close();
    await platform?.stop();
  });

  it('answers every request below 500', async () => {
    const doc = (await (await fetch(`${t.baseUrl}/docs-json`)).json()) as OpenApi;
    const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
        .map(([method, op]) => ({ path, method, op: op as Operation })),
    );
    expect(operations.length).toBeGreaterThan(40);
    const failures: string[] = [];
    let sent = 0;
    for (const seed of SEEDS) {
      const random = new Random(seed);
      for (const { path, method, op } of operations) {
        const example = op.requestBody ? exampleOf(op.requestBody.content?.['application/json']?.schema, doc) : undefined;
        for (let i = 0; i < PER_OPERATION; i++) {
          const request = random.request(path, method, op, example, realIds);
          const res = await fetch(`${t.baseUrl}${request.url}`, {
            method: method.toUpperCase(),
            headers: request.headers,
            body: request.body,
          });
          const text = await res.text();
          sent++;
          if (res.status >= 500)
            failures.push(
              `seed ${seed}: ${method.toUpperCase()} ${request.url} ${request.body?.slice(0, 300) ?? ''} -> ${res.status} ${text.slice(0, 200)}`,
            );
        }
      }
    }
    expect(sent).toBe(SEEDS.length * operations.length * PER_OPERATION);
    expect(failures).toEqual([]);
    expect((await fetch(`${t.baseUrl}/health/live`)).status).toBe(200);
  }, 120_000);
});

interface Schema {
  $ref?: string;
  example?: unknown;
  enum?: unknown[];
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
}
interface Operation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
interface OpenApi {
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Schema> };
}

/** A body the document describes: its example, else one built from its schema. */
function exampleOf(schema: Schema | undefined, doc: OpenApi, depth = 0): unknown {
  if (!schema || depth > 6) return 'x';
  if (schema.$ref) return exampleOf(doc.components.schemas[schema.$ref.split('/').pop()!], doc, depth + 1);
  if (schema.example !== undefined) return schema.example;
  if (schema.enum) return schema.enum[0];
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s) => exampleOf(s, doc, depth + 1)));
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives) return exampleOf(alternatives[0], doc, depth + 1);
  switch (schema.type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, v]) => [k, exampleOf(v, doc, depth + 1)]));
    case 'array':
      return [exampleOf(schema.items, doc, depth + 1)];
    case 'integer':
      return 1;
    case 'number':
      return 1.5;
    case 'boolean':
      return true;
    default:
      return 'x';
  }
}

/** Values that have broken services: types, sizes, numbers past every range, Unicode edge cases, prototype keys. */
const ODD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  -1e-7,
  '',
  ' ',
  '0',
  '1e400',
  '1'.repeat(400),
  'x'.repeat(70_000),
  '\u0000',
  '\ud800',
  'a\udc00b',
  '💥',
  '../..',
  '%00',
  "' OR 1=1 --",
  '2026-13-45T99:99:99Z',
  '2026-12-07T00:00:00Z',
  'gpt-4o',
  '__proto__',
  'constructor',
  '99999999999999999999.999999999999',
  '0.000000000000000000001',
  'NaN',
  [],
  [1, 'a', null],
  {},
  { constructor: 'x' },
  { a: { b: { c: {} } } },
];

const deep = (levels: number): unknown => (levels > 0 ? { x: deep(levels - 1) } : 1);

/** mulberry32: a small seeded generator, so a run is the same every time. */
class Random {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let r = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  }

  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)];
  }

  odd(): unknown {
    return this.pick(ODD_VALUES);
  }

  /** `value` with some of its fields replaced, dropped or added (nested too). */
  mangle(value: unknown): unknown {
    if (value === null || typeof value !== 'object') return this.next() < 0.5 ? this.odd() : value;
    if (Array.isArray(value)) return this.next() < 0.3 ? this.odd() : value.map((v) => this.mangle(v));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = this.next();
      if (r < 0.15) continue;
      out[k] = r < 0.55 ? this.odd() : this.mangle(v);
    }
    if (this.next() < 0.2) out[this.pick(['extra', 'constructor', 'metadata', 'user_id'])] = this.odd();
    return out;
  }

  body(example: unknown): string {
    const r = this.next();
    if (r < 0.05) return '{"a":';
    if (r < 0.08) return JSON.stringify(deep(300));
    if (r < 0.12) return JSON.stringify(this.odd());
    if (r < 0.5 && example !== null && typeof example === 'object' && !Array.isArray(example)) {
      const one = { ...(example as Record<string, unknown>) };
      const keys = Object.keys(one);
      if (keys.length > 0) one[this.pick(keys)] = this.next() < 0.3 ? this.mangle(one[this.pick(keys)]) : this.odd();
      return JSON.stringify(one);
    }
    return JSON.stringify(r < 0.7 ? example : this.mangle(example));
  }

  encode(value: unknown): string {
    try {
      return encodeURIComponent(String(value));
    } catch {
      return '%ED%A0%80'; // an unpaired surrogate's UTF-8 bytes, as a raw client could send them
    }
  }

  request(path: string, method: string, op: Operation, example: unknown, realIds: readonly string[]) {
    const url = path.replace(/\{[^}]+\}/g, () =>
      this.encode(this.pick([...realIds, 'fz-user-1', 'gpt-4o', 'tier_pro_001', 'nope', 'x'.repeat(300), '..', String(this.odd())])),
    );
    const query = (op.parameters ?? [])
      .filter((p) => p.in === 'query' && this.next() < 0.6)
      .map((p) => `${this.encode(p.name)}=${this.encode(this.pick([this.odd(), '', 'True', '1', '-5', '201', 'gpt-4o', '2026-01-01']))}`);
    if (this.next() < 0.1) query.push(`${this.pick(['limit', 'cursor', 'user_id', 'x'])}=${this.encode(this.odd())}`);
    const credentials: Record<string, string>[] = [
      {},
      { 'X-Internal-Service': 'true', 'X-Internal-Service-Secret': 'wrong' },
      { Authorization: this.pick(['Bearer x', 'Basic abc', 'Bearer a.b.c', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.']) },
      { ...INTERNAL, 'Idempotency-Key': this.pick(['k1', 'x'.repeat(300), `k${this.next()}`]) },
    ];
    const headers: Record<string, string> = { ...(this.next() < 0.7 ? INTERNAL : this.pick(credentials)) };
    let body: string | undefined;
    if (method !== 'get' && method !== 'delete') {
      const r = this.next();
      if (r < 0.06) {
        body = 'a=b';
        headers['Content-Type'] = this.pick(['text/plain', 'application/x-www-form-urlencoded']);
      } else {
        body = this.body(example);
        headers['Content-Type'] = this.pick(['application/json', 'application/json; charset=utf-8']);
      }
    }
    return { url: `${url}${query.length > 0 ? `?${query.join('&')}` : ''}`, headers, body };
  }
}
