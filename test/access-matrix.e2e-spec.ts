import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakePlatform } from './support/fake-platform.js';
import { INTERNAL, type RegisteredRoute, startTestApp, type TestApp } from './support/test-app.js';
import { type IssuerKey, issuerKey, JwksServer, TokenIssuer } from './support/tokens.js';
import {
  ACCESS_MATRIX,
  type AccessRow,
  type Caller,
  CALLERS,
  costBody,
  INTERNAL_ONLY_FIELDS,
  planBody,
  productBody,
  renderAccessMatrix,
  type Scene,
} from './security/access-matrix.js';

/** Jest ignores the e2e project's testTimeout: hooks that start apps say theirs. */
const SLOW = 120_000;
const P = '/api/v1/product';
const INTRUDER = 'mx_intruder';
const DOC = join(process.cwd(), 'docs', 'security.md');
const DOC_START = '<!-- access-matrix:start -->\n<!-- prettier-ignore-start -->\n';
const DOC_END = '\n<!-- prettier-ignore-end -->\n<!-- access-matrix:end -->';

interface Answer {
  status: number;
  text: string;
}

/**
 * The access matrix (test/security/access-matrix.ts) against the real app with auth on: user tokens
 * from a local JWKS, the internal secret, no trusted gateway header. Every row is called by every
 * kind of caller on data set up through the API; an answer to anyone but the owner or an internal
 * caller must not carry the owner's data, and only internal callers see the platform's purchase
 * prices. The app's own route table must match the matrix's rows, so a new route without a row
 * fails here.
 */
describe('access matrix: every route × every kind of caller', () => {
  const jwks = new JwksServer();
  const routes: RegisteredRoute[] = [];
  const tokens = new TokenIssuer(() => new Date());
  let platform: Awaited<ReturnType<typeof startFakePlatform>>;
  let t: TestApp;
  let key: IssuerKey;
  let attacker: IssuerKey;
  let scene: Scene;
  let counter = 0;
  const callerHeaders = new Map<Caller, Record<string, string>>();

  const send = async (method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> => {
    const res = await fetch(`${t.baseUrl}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };
  const internal = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const answer = await send(method, path, INTERNAL, body);
    if (answer.status >= 300) throw new Error(`setup ${method} ${path}: ${answer.status} ${answer.text}`);
    return JSON.parse(answer.text) as unknown;
  };
  const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });

  beforeAll(async () => {
    platform = await startFakePlatform();
    key = await issuerKey('matrix-key', 'ES256');
    attacker = await issuerKey('matrix-key', 'ES256'); // another key pair under the issuer's kid
    await jwks.publish(key).start();
    t = await startTestApp({
      routes,
      env: {
        ...platform.env,
        AUTH_TRUST_USER_HEADER: 'false',
        AUTH_JWKS_URL: jwks.url,
        AUTH_JWT_SECRET: 'matrix-hs256-secret-of-at-least-32-bytes',
      },
    });

    const owner = `mx_owner_${randomBytes(4).toString('hex')}`;
    platform.accounts.addUser(owner).addUser(INTRUDER);
    const unique = (prefix: string): string => `${prefix}_${++counter}`;
    const freshOrganization = (): string => {
      const id = unique('mx_org');
      platform.organizations.addOrganization(id, [owner]);
      return id;
    };
    const freshProduct = async (): Promise<string> => {
      const id = unique('mx_fresh');
      await internal('POST', `${P}/admin/products`, productBody(id));
      return id;
    };
    const subscription = (await internal('POST', `${P}/subscriptions`, { user_id: owner, plan_id: 'tier_free_001' })) as {
      subscription_id: string;
    };
    const usage = (await internal('POST', `${P}/usage/record`, { user_id: owner, product_id: 'gpt-4o-mini', usage_amount: 10 })) as {
      usage_record_id: string;
    };
    const productId = await freshProduct();
    const planId = unique('mx_fixture_plan');
    await internal('POST', `${P}/plans`, planBody(planId));
    const costId = unique('mx_fixture_cost');
    const modelName = unique('mx-fixture-model');
    await internal('POST', `${P}/admin/cost-definitions`, costBody(costId, { model_name: modelName }));
    scene = {
      owner,
      intruder: INTRUDER,
      subscriptionId: subscription.subscription_id,
      usageRecordId: usage.usage_record_id,
      productId,
      planId,
      costId,
      modelName,
      unique,
      freshOrganization,
      freshProduct,
      freshUsageRecord: async () =>
        (
          (await internal('POST', `${P}/usage/record`, { user_id: owner, product_id: 'gpt-4o-mini', usage_amount: 10 })) as {
            usage_record_id: string;
          }
        ).usage_record_id,
      freshSubscription: async () =>
        (
          (await internal('POST', `${P}/subscriptions`, {
            user_id: owner,
            plan_id: 'tier_free_001',
            organization_id: freshOrganization(),
          })) as { subscription_id: string }
        ).subscription_id,
      tierIdOf: async (id) =>
        ((await internal('GET', `${P}/products/${id}/pricing`)) as { tiers: { pricing_id: string }[] }).tiers[0].pricing_id,
      internal,
    };

    // what each kind of caller sends (tokens valid for an hour: the run takes seconds)
    const now = Math.floor(Date.now() / 1000);
    callerHeaders.set('anonymous', {});
    callerHeaders.set('own_user', bearer(await tokens.sign(key, { sub: owner })));
    callerHeaders.set('other_user', bearer(await tokens.sign(key, { sub: INTRUDER })));
    callerHeaders.set('internal', INTERNAL);
    callerHeaders.set('wrong_secret', { 'X-Internal-Service': 'true', 'X-Internal-Service-Secret': 'not-the-secret' });
    callerHeaders.set('expired_token', bearer(await tokens.sign(key, { sub: owner, exp: now - 3600 })));
    callerHeaders.set('forged_token', bearer(await tokens.sign(attacker, { sub: owner })));
    callerHeaders.set('alg_none', bearer(tokens.unsigned({ sub: owner }, key.kid)));
    callerHeaders.set('alg_confusion', bearer(await tokens.withPublicKeyAsSecret(key, { sub: owner })));
    callerHeaders.set('spoofed_user_header', { 'X-User-Id': owner });
  }, SLOW);

  afterAll(async () => {
    await t?.close();
    await jwks.stop();
    await platform?.stop();
  }, SLOW);

  it('should have one row for every route the app registers, and no row for a route it does not', () => {
    const served = new Set(routes.filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`));
    const tabled = new Set(ACCESS_MATRIX.map((r) => `${r.method} ${r.route}`));
    expect(served.size).toBeGreaterThan(50);
    expect({
      // a new route: add its row to test/security/access-matrix.ts
      routesWithoutRow: [...served].filter((r) => !tabled.has(r)).sort(),
      rowsWithoutRoute: [...tabled].filter((r) => !served.has(r)).sort(),
      // Fastify answers HEAD for each GET route (same hooks and guards): no HEAD route of its own
      headWithoutGet: routes.filter((r) => r.method === 'HEAD' && !served.has(`GET ${r.url}`)).map((r) => r.url),
    }).toEqual({ routesWithoutRow: [], rowsWithoutRoute: [], headWithoutGet: [] });
    const names = ACCESS_MATRIX.map((r) => `${r.method} ${r.route} ${r.variant ?? ''}`);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
  });

  it('should show this very table in docs/security.md (UPDATE_ACCESS_MATRIX=1 rewrites it)', () => {
    const doc = readFileSync(DOC, 'utf8');
    const start = doc.indexOf(DOC_START);
    const end = doc.indexOf(DOC_END);
    expect([start >= 0, end > start]).toEqual([true, true]);
    const rendered = renderAccessMatrix();
    if (process.env.UPDATE_ACCESS_MATRIX === '1') {
      writeFileSync(DOC, doc.slice(0, start + DOC_START.length) + rendered + doc.slice(end));
      return;
    }
    expect(doc.slice(start + DOC_START.length, end)).toBe(rendered);
  });

  /** Owner data and internal-only fields in an answer that must not have them. */
  const leaks = (caller: Caller, path: string, answer: Answer): string[] => {
    const found: string[] = [];
    if (answer.status >= 300) return found;
    if (caller !== 'own_user' && caller !== 'internal') {
      for (const marker of [scene.owner, scene.subscriptionId, scene.usageRecordId]) {
        if (answer.text.includes(marker)) found.push(`${caller} got the owner's ${marker}`);
      }
    }
    if (caller !== 'internal' && path.startsWith('/api/')) {
      for (const field of INTERNAL_ONLY_FIELDS) if (answer.text.includes(`"${field}"`)) found.push(`${caller} got ${field}`);
    }
    return found;
  };

  const title = (r: AccessRow): string => `${r.method} ${r.route}${r.variant ? ` (${r.variant})` : ''}: ${r.access.who}`;

  it.each(ACCESS_MATRIX.map((r) => [title(r), r] as const))('%s', async (_title, r) => {
    const statuses = {} as Record<Caller, number>;
    const problems: string[] = [];
    for (const caller of CALLERS) {
      const call = await r.call(scene);
      const answer = await send(r.method, call.path, callerHeaders.get(caller) ?? {}, call.body);
      statuses[caller] = answer.status;
      if (answer.status >= 500) problems.push(`${caller}: ${answer.status} ${answer.text.slice(0, 300)}`);
      problems.push(...leaks(caller, call.path, answer));
    }
    expect({ statuses, problems }).toEqual({ statuses: r.access.expected, problems: [] });
  });
});
