/**
 * THE ACCESS MATRIX: every route of the service × every kind of caller → the status it answers.
 *
 * `test/access-matrix.e2e-spec.ts` calls every cell against the real app (auth on, real
 * PostgreSQL, data it sets up), fails when the app has a route without a row here (or a row for a
 * route it does not have), and checks that docs/security.md shows this very table
 * (`UPDATE_ACCESS_MATRIX=1` rewrites it there).
 *
 * A new route is one row: `row(method, route as Fastify registers it, access, call)`, where
 * `access` is one of the profiles below and `call` builds the request on the test's data (the
 * Scene), e.g.
 *
 *     row('GET', `${P}/usage/quota`, ownerOnly(), (s) => ({ path: `${P}/usage/quota?user_id=${s.owner}&product_id=gpt-4o-mini` })),
 */

/** The kinds of caller, in the order of the table's columns. */
export const CALLERS = [
  'anonymous',
  'own_user',
  'other_user',
  'internal',
  'wrong_secret',
  'expired_token',
  'forged_token',
  'alg_none',
  'alg_confusion',
  'spoofed_user_header',
] as const;
export type Caller = (typeof CALLERS)[number];

/** What each caller sends (docs/security.md explains each). */
export const CALLER_DESCRIPTIONS: Readonly<Record<Caller, string>> = {
  anonymous: 'no credentials',
  own_user: 'a valid bearer token (ES256, from the JWKS) whose `sub` owns the addressed data',
  other_user: 'a valid bearer token of another user',
  internal: '`X-Internal-Service: true` with the right `X-Internal-Service-Secret`',
  wrong_secret: '`X-Internal-Service: true` with a wrong secret',
  expired_token: "the owner's token, expired an hour ago (beyond AUTH_CLOCK_TOLERANCE)",
  forged_token: "the owner's claims signed by another key under the issuer's `kid`",
  alg_none: "the owner's claims unsigned (`alg: none`)",
  alg_confusion: "the owner's claims as HS256 keyed with the issuer's public key",
  spoofed_user_header: '`X-User-Id: <owner>` without AUTH_TRUST_USER_HEADER (no gateway in front)',
};

export type Expected = Readonly<Record<Caller, number>>;

/** Who may call a route, and the answer of each kind of caller. */
export interface Access {
  who: string;
  expected: Expected;
}

/** Credentials that do not authenticate (a wrong secret, a bad token, an untrusted header) count as none. */
const asAnonymous = (anonymous: number, others: Pick<Expected, 'own_user' | 'other_user' | 'internal'>): Expected => ({
  anonymous,
  ...others,
  wrong_secret: anonymous,
  expired_token: anonymous,
  forged_token: anonymous,
  alg_none: anonymous,
  alg_confusion: anonymous,
  spoofed_user_header: anonymous,
});

/** Anyone: catalog reads, /info, health, metrics, the API documents. */
export const publicRoute = (ok = 200): Access => ({
  who: 'anyone',
  expected: asAnonymous(ok, { own_user: ok, other_user: ok, internal: ok }),
});
/** Public route, but the request names a user: that user or internal (effective pricing, availability, quotes for a user). */
export const forNamedUser = (ok = 200): Access => ({
  who: 'anyone; naming a user: that user or internal',
  expected: asAnonymous(401, { own_user: ok, other_user: 403, internal: ok }),
});
/** A user's own data: that user or internal (subscriptions, usage). */
export const ownerOnly = (ok = 200): Access => ({
  who: 'the owner or internal',
  expected: asAnonymous(401, { own_user: ok, other_user: 403, internal: ok }),
});
/** Any authenticated caller; a user sees only their own part (lists without a user filter, service counts). */
export const anyUser = (ok = 200): Access => ({
  who: 'any user or internal',
  expected: asAnonymous(401, { own_user: ok, other_user: ok, internal: ok }),
});
/** Internal services only: catalog writes, admin, cost definitions and lookup, other users' lists, status changes. */
export const internalOnly = (ok = 200): Access => ({
  who: 'internal',
  expected: asAnonymous(401, { own_user: 403, other_user: 403, internal: ok }),
});
/** A public route whose resource only internal callers may see (a non-public plan): 404 to everyone else. */
export const internalVisible = (): Access => ({
  who: 'anyone; found by internal callers only',
  expected: asAnonymous(404, { own_user: 404, other_user: 404, internal: 200 }),
});

/** What one cell sends (headers come from the caller kind). */
export interface Call {
  path: string;
  body?: unknown;
}

/**
 * The data the rows address, set up by the test through the API: one owner with a subscription and
 * a usage record, a product, a plan and a cost definition of the test's own, and factories for
 * rows whose success changes what they address (each cell gets its own).
 */
export interface Scene {
  /** the user whose data is addressed: `own_user` is this user */
  owner: string;
  /** the `other_user` caller */
  intruder: string;
  subscriptionId: string;
  usageRecordId: string;
  productId: string;
  planId: string;
  costId: string;
  modelName: string;
  /** a new id, unique in the run */
  unique(prefix: string): string;
  /** a new organization (of the fake organization service) with the owner as its member */
  freshOrganization(): string;
  /** a new active subscription of the owner (in an organization of its own) */
  freshSubscription(): Promise<string>;
  /** a new product (admin API) */
  freshProduct(): Promise<string>;
  /** a new usage record of the owner */
  freshUsageRecord(): Promise<string>;
  /** the pricing_id of a product's first tier */
  tierIdOf(productId: string): Promise<string>;
  /** an internal call that must succeed (to prepare a cell) */
  internal(method: string, path: string, body?: unknown): Promise<unknown>;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface AccessRow {
  method: Method;
  /** the route as Fastify registers it (`:param` placeholders) */
  route: string;
  /** which request, when a route has rows for different requests */
  variant?: string;
  access: Access;
  call: (scene: Scene) => Call | Promise<Call>;
}

const row = (method: Method, route: string, access: Access, call: AccessRow['call'], variant?: string): AccessRow => ({
  method,
  route,
  access,
  call,
  ...(variant ? { variant } : {}),
});
/** A row whose request is the route itself (no parameters, no body). */
const plain = (method: Method, route: string, access: Access): AccessRow => row(method, route, access, () => ({ path: route }));

const P = '/api/v1/product';

// ------------------------------------------------------------------ request bodies

const tiers = () => [
  { tier_name: 'base', min_units: '0', max_units: '100', unit_price: '0.50' },
  { tier_name: 'bulk', min_units: '100', max_units: null, unit_price: '0.25' },
];
export const pricingBody = (): Record<string, unknown> => ({
  pricing_type: 'usage_based',
  unit_type: 'token',
  currency: 'USD',
  free_tier_limit: '10',
  free_tier_period: 'monthly',
  tiers: tiers(),
});
export const productBody = (id: string): Record<string, unknown> => ({
  product_id: id,
  name: `Matrix ${id}`,
  description: 'made by the access matrix',
  category_id: 'ai_models',
  product_type: 'model_inference',
  provider: 'matrix',
  features: [],
  quota_limits: {},
  metadata: {},
  requires_subscription: false,
  pricing: pricingBody(),
});
export const planBody = (id: string): Record<string, unknown> => ({
  plan_id: id,
  name: `Matrix ${id}`,
  plan_tier: 'matrix',
  monthly_price: '1.00',
  yearly_price: '10.00',
  is_public: true,
});
export const costBody = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  cost_id: id,
  service_type: 'model_inference',
  provider: 'matrix',
  model_name: 'matrix-model',
  cost_per_unit: '0.15',
  unit_type: 'token',
  unit_size: '1000000',
  effective_from: new Date(Date.now() - 86_400_000).toISOString(),
  ...extra,
});
const usageBody = (s: Scene): Record<string, unknown> => ({ user_id: s.owner, product_id: 'gpt-4o-mini', usage_amount: 10 });

// ------------------------------------------------------------------ the table

export const ACCESS_MATRIX: readonly AccessRow[] = [
  // health, metrics, API documents
  plain('GET', '/health', publicRoute()),
  plain('GET', '/health/live', publicRoute()),
  plain('GET', '/health/ready', publicRoute()),
  plain('GET', '/health/dependencies', publicRoute()),
  plain('GET', '/api/v1/products/health', publicRoute()),
  plain('GET', `${P}/health`, publicRoute()),
  plain('GET', '/metrics', publicRoute()),
  plain('GET', '/docs', publicRoute()),
  plain('GET', '/docs/', publicRoute()),
  plain('GET', '/docs/index.html', publicRoute()),
  plain('GET', '/docs/swagger-ui-init.js', publicRoute()),
  plain('GET', '/docs/docs/swagger-ui-init.js', publicRoute()),
  plain('GET', '/docs/LICENSE', publicRoute(404)), // @nestjs/swagger hides swagger-ui-dist's LICENSE
  row('GET', '/docs/*', publicRoute(), () => ({ path: '/docs/swagger-ui.css' })),
  plain('GET', '/docs-json', publicRoute()),
  plain('GET', '/docs-yaml', publicRoute()),
  plain('GET', '/docs/asyncapi.json', publicRoute()),

  // catalog reads
  plain('GET', `${P}/info`, publicRoute()),
  plain('GET', `${P}/categories`, publicRoute()),
  plain('GET', `${P}/products`, publicRoute()),
  row('GET', `${P}/products/:product_id`, publicRoute(), () => ({ path: `${P}/products/gpt-4o` })),
  row('GET', `${P}/products/:product_id/pricing`, publicRoute(), () => ({ path: `${P}/products/gpt-4o/pricing` }), 'list price'),
  row(
    'GET',
    `${P}/products/:product_id/pricing`,
    forNamedUser(),
    (s) => ({ path: `${P}/products/gpt-4o/pricing?user_id=${s.owner}` }),
    'effective, ?user_id=',
  ),
  row('GET', `${P}/products/:product_id/availability`, publicRoute(), () => ({ path: `${P}/products/gpt-4o/availability` }), 'no user'),
  row(
    'GET',
    `${P}/products/:product_id/availability`,
    forNamedUser(),
    (s) => ({ path: `${P}/products/priority_queue/availability?user_id=${s.owner}` }),
    '?user_id=',
  ),
  plain('GET', `${P}/plans`, publicRoute()),
  row('GET', `${P}/plans/:plan_id`, publicRoute(), () => ({ path: `${P}/plans/tier_pro_001` }), 'public plan'),
  row('GET', `${P}/plans/:plan_id`, internalVisible(), () => ({ path: `${P}/plans/tier_enterprise_001` }), 'non-public plan'),
  row(
    'POST',
    '/api/v1/pricing/calculate',
    publicRoute(),
    () => ({ path: '/api/v1/pricing/calculate', body: { product_id: 'gpt-4o', quantity: 1000 } }),
    'list price',
  ),
  row(
    'POST',
    '/api/v1/pricing/calculate',
    forNamedUser(),
    (s) => ({ path: '/api/v1/pricing/calculate', body: { product_id: 'gpt-4o', quantity: 1000, user_id: s.owner } }),
    'for a user',
  ),

  // catalog writes (internal)
  row('POST', `${P}/categories`, internalOnly(201), (s) => ({
    path: `${P}/categories`,
    body: { category_id: s.unique('mx_cat'), name: 'Matrix' },
  })),
  row('POST', `${P}/products`, internalOnly(201), (s) => ({ path: `${P}/products`, body: productBody(s.unique('mx_prod')) })),
  row('PATCH', `${P}/products/:product_id`, internalOnly(), (s) => ({
    path: `${P}/products/${s.productId}`,
    body: { description: 'patched' },
  })),
  row('PUT', `${P}/products/:product_id/pricing`, internalOnly(), (s) => ({
    path: `${P}/products/${s.productId}/pricing`,
    body: pricingBody(),
  })),
  row('POST', `${P}/plans`, internalOnly(201), (s) => ({ path: `${P}/plans`, body: planBody(s.unique('mx_plan')) })),
  row('PATCH', `${P}/plans/:plan_id`, internalOnly(), (s) => ({ path: `${P}/plans/${s.planId}`, body: { name: 'Matrix patched' } })),

  // admin (internal)
  row('POST', `${P}/admin/products`, internalOnly(201), (s) => ({ path: `${P}/admin/products`, body: productBody(s.unique('mx_admin')) })),
  row('PUT', `${P}/admin/products/:product_id`, internalOnly(), async (s) => {
    const id = await s.freshProduct();
    return { path: `${P}/admin/products/${id}`, body: productBody(id) };
  }),
  row('DELETE', `${P}/admin/products/:product_id`, internalOnly(), async (s) => ({
    path: `${P}/admin/products/${await s.freshProduct()}`,
  })),
  row('POST', `${P}/admin/products/:product_id/pricing`, internalOnly(201), async (s) => ({
    path: `${P}/admin/products/${await s.freshProduct()}/pricing`,
    body: pricingBody(),
  })),
  row('PUT', `${P}/admin/pricing/:pricing_id`, internalOnly(), async (s) => ({
    path: `${P}/admin/pricing/${await s.tierIdOf(await s.freshProduct())}`,
    body: tiers()[0],
  })),
  plain('GET', `${P}/admin/health/catalog-alignment`, internalOnly()),
  plain('GET', `${P}/admin/audit`, internalOnly()),
  plain('GET', `${P}/admin/cost-definitions`, internalOnly()),
  row('POST', `${P}/admin/cost-definitions`, internalOnly(201), (s) => ({
    path: `${P}/admin/cost-definitions`,
    body: costBody(s.unique('mx_cost'), { model_name: s.unique('mx-model') }),
  })),
  row('POST', `${P}/admin/cost-definitions/rotate`, internalOnly(), (s) => ({
    path: `${P}/admin/cost-definitions/rotate`,
    body: [costBody(s.unique('mx_rot'), { model_name: s.unique('mx-rot-model') })],
  })),
  row('GET', `${P}/admin/cost-definitions/history/:model_name`, internalOnly(), (s) => ({
    path: `${P}/admin/cost-definitions/history/${s.modelName}`,
  })),
  row('PUT', `${P}/admin/cost-definitions/:cost_id`, internalOnly(), (s) => ({
    path: `${P}/admin/cost-definitions/${s.costId}`,
    body: { description: 'matrix' },
  })),
  row('GET', '/api/v1/costs/lookup', internalOnly(), (s) => ({
    path: `/api/v1/costs/lookup?service_type=model_inference&provider=matrix&model_name=${s.modelName}`,
  })),

  // subscriptions
  row('POST', `${P}/subscriptions`, ownerOnly(), (s) => ({
    path: `${P}/subscriptions`,
    body: { user_id: s.owner, plan_id: 'tier_free_001', organization_id: s.freshOrganization() },
  })),
  plain('GET', `${P}/subscriptions`, internalOnly()),
  row('GET', `${P}/subscriptions/user/:user_id`, ownerOnly(), (s) => ({ path: `${P}/subscriptions/user/${s.owner}` })),
  row('GET', `${P}/subscriptions/:subscription_id`, ownerOnly(), (s) => ({ path: `${P}/subscriptions/${s.subscriptionId}` })),
  row('PUT', `${P}/subscriptions/:subscription_id/status`, internalOnly(), async (s) => ({
    path: `${P}/subscriptions/${await s.freshSubscription()}/status`,
    body: { status: 'paused', reason: 'matrix' },
  })),
  row('POST', `${P}/subscriptions/:subscription_id/cancel`, ownerOnly(), async (s) => ({
    path: `${P}/subscriptions/${await s.freshSubscription()}/cancel`,
    body: {},
  })),
  row('POST', `${P}/subscriptions/:subscription_id/resume`, ownerOnly(), async (s) => {
    const id = await s.freshSubscription();
    await s.internal('POST', `${P}/subscriptions/${id}/cancel`, {});
    return { path: `${P}/subscriptions/${id}/resume`, body: {} };
  }),
  row('POST', `${P}/subscriptions/:subscription_id/change-plan`, ownerOnly(), async (s) => ({
    path: `${P}/subscriptions/${await s.freshSubscription()}/change-plan`,
    body: { plan_id: 'tier_pro_001' },
  })),

  // usage and statistics
  row('POST', `${P}/usage/record`, ownerOnly(), (s) => ({ path: `${P}/usage/record`, body: usageBody(s) })),
  row('POST', `${P}/usage/records/batch`, ownerOnly(), (s) => ({
    path: `${P}/usage/records/batch`,
    body: { records: [usageBody(s), usageBody(s)] },
  })),
  row(
    'POST',
    `${P}/usage/records/batch`,
    internalOnly(),
    (s) => ({ path: `${P}/usage/records/batch`, body: { records: [usageBody(s), { ...usageBody(s), user_id: s.intruder }] } }),
    "records of two users: each user's own only",
  ),
  row('GET', `${P}/usage/records`, ownerOnly(), (s) => ({ path: `${P}/usage/records?user_id=${s.owner}` }), '?user_id='),
  row('GET', `${P}/usage/records`, anyUser(), () => ({ path: `${P}/usage/records` }), 'no filter: a user gets their own'),
  row('GET', `${P}/statistics/usage`, ownerOnly(), (s) => ({ path: `${P}/statistics/usage?user_id=${s.owner}` }), '?user_id='),
  row('GET', `${P}/statistics/usage`, anyUser(), () => ({ path: `${P}/statistics/usage` }), 'no filter: a user gets their own'),
  plain('GET', `${P}/statistics/service`, anyUser()),

  // corrections and quotas (SPEC section 8)
  row('POST', `${P}/usage/records/:usage_record_id/void`, internalOnly(), async (s) => ({
    path: `${P}/usage/records/${await s.freshUsageRecord()}/void`,
    body: { reason: 'matrix' },
  })),
  row('GET', `${P}/usage/quota`, ownerOnly(), (s) => ({ path: `${P}/usage/quota?user_id=${s.owner}&product_id=gpt-4o-mini` })),
];

/** What no caller but internal ones may see in an answer under /api (the platform's purchase prices). */
export const INTERNAL_ONLY_FIELDS = ['provider_cost', 'margin', 'records_without_provider_cost', 'cost_per_unit'];

// ------------------------------------------------------------------ rendering (docs/security.md)

const COLUMN_TITLES: Readonly<Record<Caller, string>> = {
  anonymous: 'anonymous',
  own_user: 'own user',
  other_user: 'other user',
  internal: 'internal',
  wrong_secret: 'wrong secret',
  expired_token: 'expired token',
  forged_token: 'forged token',
  alg_none: 'alg none',
  alg_confusion: 'HS256 / public key',
  spoofed_user_header: 'X-User-Id, untrusted',
};

/** The table as Markdown, one line per row, ordered as above. */
export function renderAccessMatrix(rows: readonly AccessRow[] = ACCESS_MATRIX): string {
  const header = `| route | who | ${CALLERS.map((c) => COLUMN_TITLES[c]).join(' | ')} |`;
  const rule = `| --- | --- | ${CALLERS.map(() => '---:').join(' | ')} |`;
  const lines = rows.map((r) => {
    const route = `\`${r.method} ${r.route}\`${r.variant ? ` (${r.variant})` : ''}`;
    return `| ${route} | ${r.access.who} | ${CALLERS.map((c) => String(r.access.expected[c])).join(' | ')} |`;
  });
  return [header, rule, ...lines].join('\n');
}
