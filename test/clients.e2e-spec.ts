import request from 'supertest';
import { AccountClient } from '../src/clients/account.client.js';
import { DependencyUnavailableError } from '../src/clients/client.types.js';
import { OrganizationClient } from '../src/clients/organization.client.js';
import { EventBusHealth } from '../src/events/transport/event-bus-health.js';
import { type FakeAccountService, type FakeOrganizationService, startFakePlatform } from './support/fake-platform.js';
import { API, INTERNAL_SECRET, startTestApp, type TestApp } from './support/test-app.js';

/** Polls `probe` until `done` holds (or fails after `timeoutMs`): for states reached with real time. */
async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function failure(promise: Promise<unknown>): Promise<DependencyUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(DependencyUnavailableError);
  return error as DependencyUnavailableError;
}

const profilePath = (id: string): string => `/api/v1/accounts/profile/${encodeURIComponent(id)}`;

const connectedBus: Pick<EventBusHealth, 'status'> = { status: () => ({ connected: true, detail: 'test bus' }) };

describe('clients and health (real HTTP fakes of the account and organization services)', () => {
  let platform: Awaited<ReturnType<typeof startFakePlatform>>;
  let accountsFake: FakeAccountService;
  let orgsFake: FakeOrganizationService;
  let t: TestApp;
  let accounts: AccountClient;
  let organizations: OrganizationClient;

  beforeAll(async () => {
    platform = await startFakePlatform();
    accountsFake = platform.accounts;
    orgsFake = platform.organizations;
    t = await startTestApp({
      env: {
        ...platform.env,
        CLIENT_TIMEOUT_MS: '300',
        CLIENT_RETRIES: '2',
        CLIENT_RETRY_DELAY_MS: '10',
        CLIENT_BREAKER_THRESHOLD: '4',
        CLIENT_BREAKER_HALF_OPEN_AFTER: '400',
        CLIENT_CACHE_TTL_MS: '60000',
      },
      overrides: [{ provide: EventBusHealth, useValue: connectedBus }],
    });
    accounts = t.app.get(AccountClient);
    organizations = t.app.get(OrganizationClient);
  });

  afterAll(async () => {
    await t?.close();
    await platform?.stop();
  });

  afterEach(() => {
    accountsFake.clearFaults();
    orgsFake.clearFaults();
  });

  describe('AccountClient', () => {
    it('should return a found user and send the internal headers and the caller request id', async () => {
      accountsFake.addUser('u-found');
      const user = await accounts.getUser('u-found', { requestId: 'req-clients-1' });
      expect(user).toMatchObject({ user_id: 'u-found', is_active: true, email: 'u-found@example.com' });
      const [call] = accountsFake.callsTo(profilePath('u-found'));
      expect(call.method).toBe('GET');
      expect(call.headers['x-internal-service']).toBe('true');
      expect(call.headers['x-internal-service-secret']).toBe(INTERNAL_SECRET);
      expect(call.headers['x-request-id']).toBe('req-clients-1');
    });

    it('should send a generated request id when the caller has none', async () => {
      accountsFake.addUser('u-noid');
      await accounts.getUser('u-noid');
      const [call] = accountsFake.callsTo(profilePath('u-noid'));
      expect(call.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('should answer null for an unknown user (404) without caching the absence', async () => {
      expect(await accounts.getUser('u-later')).toBeNull();
      accountsFake.addUser('u-later');
      expect(await accounts.getUser('u-later')).toMatchObject({ user_id: 'u-later' });
      expect(accountsFake.callsTo(profilePath('u-later'))).toHaveLength(2);
    });

    it('should report an inactive user as existing but not active', async () => {
      accountsFake.addUser('u-inactive', false);
      expect(await accounts.getUser('u-inactive')).toMatchObject({ user_id: 'u-inactive', is_active: false });
      expect(await accounts.validateUser('u-inactive')).toMatchObject({ exists: true, active: false });
      expect(await accounts.validateUser('u-nobody')).toEqual({ exists: false, active: false, user: null });
    });

    it('should refuse a profile it cannot trust as unavailable, never as a missing or inactive user: 200 null, another user, an odd is_active', async () => {
      accountsFake.rawProfiles.set('u-null', null);
      accountsFake.rawProfiles.set('u-empty', '');
      accountsFake.rawProfiles.set('u-other', { user_id: 'someone-else', is_active: true });
      accountsFake.rawProfiles.set('u-yes', { user_id: 'u-yes', is_active: 'yes' });
      accountsFake.rawProfiles.set('u-zero', { user_id: 'u-zero', is_active: 0 });
      for (const id of ['u-null', 'u-empty', 'u-other', 'u-yes', 'u-zero']) {
        const error = await failure(accounts.getUserProfile(id));
        expect(error.message).toMatch(/malformed user profile|another user/);
      }
      // what a well-behaved service may send: a string flag, no flag, a numeric id
      accountsFake.rawProfiles.set('u-str', { user_id: 'u-str', is_active: 'false' });
      accountsFake.rawProfiles.set('u-noflag', { user_id: 'u-noflag' });
      accountsFake.rawProfiles.set('42', { user_id: 42, is_active: true });
      expect(await accounts.validateUser('u-str')).toMatchObject({ exists: true, active: false });
      expect(await accounts.validateUser('u-noflag')).toMatchObject({ exists: true, active: true });
      expect(await accounts.getUserProfile('42')).toMatchObject({ user_id: '42', is_active: true });
      // through the API: a subscription for a user the account service answers for someone else is 503, and nothing is stored
      accountsFake.rawProfiles.set('u-foreign', { user_id: 'u-somebody', is_active: true });
      const res = await request(t.baseUrl)
        .post(`${API}/subscriptions`)
        .set({ 'X-Internal-Service': 'true', 'X-Internal-Service-Secret': INTERNAL_SECRET })
        .send({ user_id: 'u-foreign', plan_id: 'tier_free_001' });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('DEPENDENCY_UNAVAILABLE');
      const list = await request(t.baseUrl)
        .get(`${API}/subscriptions/user/u-foreign`)
        .set({ 'X-Internal-Service': 'true', 'X-Internal-Service-Secret': INTERNAL_SECRET })
        .expect(200);
      expect(list.body).toEqual([]);
    });

    it('should serve a found user from the cache, while getUserProfile always asks', async () => {
      accountsFake.addUser('u-cached');
      await accounts.getUser('u-cached');
      await accounts.getUser('u-cached');
      expect(accountsFake.callsTo(profilePath('u-cached'))).toHaveLength(1);
      await accounts.getUserProfile('u-cached');
      expect(accountsFake.callsTo(profilePath('u-cached'))).toHaveLength(2);
    });

    it('should URL-encode the user id as one path segment and never send a dot segment', async () => {
      accountsFake.addUser('team/a b?c');
      expect(await accounts.getUser('team/a b?c')).toMatchObject({ user_id: 'team/a b?c' });
      expect(accountsFake.calls.at(-1)?.path).toBe('/api/v1/accounts/profile/team%2Fa%20b%3Fc');
      const before = accountsFake.calls.length;
      expect(await accounts.getUser('..')).toBeNull();
      expect(accountsFake.calls).toHaveLength(before);
    });

    it('should retry a burst of 5xx and 429 answers and then succeed', async () => {
      accountsFake.addUser('u-burst');
      accountsFake.failNext(2, 503);
      expect(await accounts.getUser('u-burst')).toMatchObject({ user_id: 'u-burst' });
      expect(accountsFake.callsTo(profilePath('u-burst'))).toHaveLength(3);

      accountsFake.addUser('u-429');
      accountsFake.failNext(1, 429);
      expect(await accounts.getUser('u-429')).toMatchObject({ user_id: 'u-429' });
      expect(accountsFake.callsTo(profilePath('u-429'))).toHaveLength(2);
    });

    it('should not retry other 4xx answers and report them as unavailable', async () => {
      accountsFake.addUser('u-403');
      accountsFake.failNext(1, 403);
      const error = await failure(accounts.getUser('u-403'));
      expect(error.service).toBe('account_service');
      expect(error.reason).toBe('unexpected HTTP 403');
      expect(accountsFake.callsTo(profilePath('u-403'))).toHaveLength(1);
    });

    it('should time out a slow service, retry, and answer DependencyUnavailableError', async () => {
      accountsFake.addUser('u-slow');
      accountsFake.delayMs = 1500;
      const error = await failure(accounts.getUser('u-slow'));
      expect(error.reason).toBe('timeout after 300 ms');
      expect(accountsFake.callsTo(profilePath('u-slow'))).toHaveLength(3);
      accountsFake.clearFaults();
      // a success resets the breaker's count of consecutive failures
      expect(await accounts.getUser('u-slow')).toMatchObject({ user_id: 'u-slow' });
    });

    it('should answer DependencyUnavailableError when the service is not listening', async () => {
      await accountsFake.stop();
      try {
        const error = await failure(accounts.getUser('u-refused'));
        expect(error.reason).toMatch(/network error/);
      } finally {
        await accountsFake.start();
      }
      accountsFake.addUser('u-refused');
      expect(await accounts.getUser('u-refused')).toMatchObject({ user_id: 'u-refused' });
    });
  });

  describe('OrganizationClient', () => {
    it('should return a found organization and null for an unknown one', async () => {
      orgsFake.addOrganization('org-found', ['u1']);
      expect(await organizations.getOrganization('org-found', { requestId: 'req-org-1' })).toMatchObject({
        organization_id: 'org-found',
        status: 'active',
      });
      expect(orgsFake.callsTo('/api/v1/organizations/org-found')[0].headers['x-request-id']).toBe('req-org-1');
      expect(await organizations.getOrganization('org-missing')).toBeNull();
      expect(await organizations.validateOrganization('org-found')).toMatchObject({ exists: true, active: true });
      orgsFake.addOrganization('org-suspended', [], 'suspended');
      expect(await organizations.validateOrganization('org-suspended')).toMatchObject({ exists: true, active: false });
      expect(await organizations.validateOrganization('org-missing')).toEqual({ exists: false, active: false, organization: null });
    });

    it('should refuse an answer naming another organization as unavailable', async () => {
      orgsFake.organizations.set('org-alias', { organization_id: 'org-elsewhere', name: 'Elsewhere', status: 'active', members: [] });
      expect((await failure(organizations.getOrganization('org-alias'))).message).toMatch(/another organization/);
    });

    it('should refuse a member list with an entry that has no user_id as unavailable, not as "not a member"', async () => {
      orgsFake.addOrganization('org-junk', ['j1']);
      orgsFake.organizations.get('org-junk')!.members.push(null as never, { user_id: 42 } as never);
      expect((await failure(organizations.checkUserInOrganization('org-junk', 'stranger'))).message).toMatch(/malformed member list/);
    });

    it('should follow member pages to find a member, and count only active members', async () => {
      orgsFake.maxPageSize = 2;
      try {
        orgsFake.addOrganization('org-big', ['m1', 'm2', 'm3', 'm4', 'm5']);
        orgsFake.addMember('org-big', 'm-invited', 'invited');
        const membersPath = '/api/v1/organizations/org-big/members';

        expect(await organizations.checkUserInOrganization('org-big', 'm5', { requestId: 'req-members' })).toBe(true);
        const pages = orgsFake.callsTo(membersPath);
        expect(pages.map((c) => new URL(c.path, 'http://x').searchParams.get('offset'))).toEqual(['0', '2', '4']);
        expect(pages.every((c) => c.headers['x-request-id'] === 'req-members')).toBe(true);

        expect(await organizations.checkUserInOrganization('org-big', 'm-invited')).toBe(false);
        expect(await organizations.checkUserInOrganization('org-big', 'stranger')).toBe(false);
        expect(await organizations.checkUserInOrganization('org-missing', 'm1')).toBe(false);

        const members = await organizations.getOrganizationMembers('org-big');
        expect(members?.map((m) => m.user_id)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm-invited']);
        expect(await organizations.getOrganizationMembers('org-missing')).toBeNull();

        const calls = orgsFake.callsTo(membersPath).length;
        expect(await organizations.checkUserInOrganization('org-big', 'm5')).toBe(true); // cached
        expect(orgsFake.callsTo(membersPath)).toHaveLength(calls);
      } finally {
        orgsFake.maxPageSize = Number.POSITIVE_INFINITY;
      }
    });

    it('should open the circuit on sustained 5xx, fail fast without calling, and recover after the break', async () => {
      orgsFake.addOrganization('org-breaker');
      orgsFake.failNext(Number.POSITIVE_INFINITY, 500);

      const first = await failure(organizations.getOrganization('org-breaker'));
      expect(first.reason).toBe('HTTP 500');
      expect(orgsFake.calls.length).toBeGreaterThanOrEqual(3);
      const second = await failure(organizations.getOrganization('org-breaker'));
      expect(second.reason).toBe('circuit open');
      expect(organizations.circuitState).toBe('open');

      const callsWhileOpen = orgsFake.calls.length;
      const fast = await failure(organizations.getOrganization('org-breaker'));
      expect(fast.reason).toBe('circuit open');
      const deps = await request(t.baseUrl).get('/health/dependencies').expect(503);
      expect(deps.body.error.organization_service).toMatchObject({ status: 'down', circuit: 'open', message: 'circuit open' });
      expect(orgsFake.calls).toHaveLength(callsWhileOpen);

      const metrics = await request(t.baseUrl).get('/metrics').expect(200);
      expect(metrics.text).toMatch(/product_client_circuit_state\{service="organization_service"\} 2/);
      expect(metrics.text).toMatch(/product_client_requests_total\{service="organization_service",outcome="circuit_open"\} [1-9]/);
      expect(metrics.text).toMatch(/product_client_requests_total\{service="organization_service",outcome="server_error"\} [1-9]/);

      orgsFake.clearFaults();
      const recovered = await eventually(
        () => organizations.getOrganization('org-breaker').catch(() => null),
        (org) => org !== null,
      );
      expect(recovered).toMatchObject({ organization_id: 'org-breaker' });
      expect(organizations.circuitState).toBe('closed');
      const after = await request(t.baseUrl).get('/metrics').expect(200);
      expect(after.text).toMatch(/product_client_circuit_state\{service="organization_service"\} 0/);
    });
  });

  describe('health endpoints', () => {
    it("should probe a service's /health outside its circuit breaker: a failing /health, probed by anyone, never blocks the calls", async () => {
      orgsFake.addOrganization('org-health');
      orgsFake.healthStatus = 500;
      try {
        for (let i = 0; i < 8; i++) {
          const deps = await request(t.baseUrl).get('/health/dependencies').expect(503);
          expect(deps.body.error.organization_service).toMatchObject({ status: 'down', circuit: 'closed' });
        }
        expect(organizations.circuitState).toBe('closed');
        await expect(organizations.getOrganization('org-health')).resolves.toMatchObject({ organization_id: 'org-health' });
      } finally {
        orgsFake.clearFaults();
      }
    });

    it('should report healthy with every dependency up', async () => {
      const summary = await request(t.baseUrl).get('/health').expect(200);
      expect(summary.body).toMatchObject({
        status: 'healthy',
        service: 'product_service',
        version: expect.any(String),
        dependencies: {
          database: { status: 'healthy', migrations: 'applied' },
          nats: { status: 'healthy' },
          account_service: { status: 'healthy', circuit: 'closed' },
          organization_service: { status: 'healthy', circuit: 'closed' },
        },
      });
      const deps = await request(t.baseUrl).get('/health/dependencies').expect(200);
      expect(deps.body.status).toBe('ok');
      expect(Object.keys(deps.body.details).sort()).toEqual(['account_service', 'database', 'nats', 'organization_service', 'outbox']);
      await request(t.baseUrl).get('/health/live').expect(200, { status: 'ok' });
    });

    it('should flip to degraded and 503 dependencies when a service stops, stay ready, and come back when it restarts', async () => {
      await accountsFake.stop();
      try {
        const summary = await request(t.baseUrl).get('/health').expect(200);
        expect(summary.body.status).toBe('degraded');
        expect(summary.body.dependencies.account_service.status).toBe('unhealthy');
        expect(summary.body.dependencies.organization_service.status).toBe('healthy');
        const deps = await request(t.baseUrl).get('/health/dependencies').expect(503);
        expect(deps.body.status).toBe('error');
        expect(deps.body.error.account_service.status).toBe('down');
        expect(deps.body.info.database.status).toBe('up');

        await orgsFake.stop();
        const ready = await request(t.baseUrl).get('/health/ready').expect(200);
        expect(ready.body.status).toBe('ok');
        expect(ready.body.details.database.status).toBe('up');
      } finally {
        await accountsFake.start();
        await orgsFake.start();
      }
      const back = await eventually(
        () => request(t.baseUrl).get('/health/dependencies'),
        (res) => res.status === 200,
      );
      expect(back.status).toBe(200);
      const summary = await request(t.baseUrl).get('/health').expect(200);
      expect(summary.body.status).toBe('healthy');
    });

    it('should ask each dependency once for a burst of /health and /health/dependencies calls, and again for the next call', async () => {
      accountsFake.delayMs = 200; // the burst arrives while the first check waits for this answer (CLIENT_TIMEOUT_MS is 300)
      try {
        const before = accountsFake.callsTo('/health').length;
        const burst = await Promise.all([
          ...Array.from({ length: 12 }, () => request(t.baseUrl).get('/health')),
          ...Array.from({ length: 4 }, () => request(t.baseUrl).get('/health/dependencies')),
        ]);
        for (const res of burst) expect(res.status).toBe(200);
        for (const res of burst.slice(0, 12)) expect(res.body.dependencies.account_service.status).toBe('healthy');
        // one call per request would be 16; one in all unless the machine delays part of the burst past the first answer
        const asked = accountsFake.callsTo('/health').length - before;
        expect(asked).toBeGreaterThanOrEqual(1);
        expect(asked).toBeLessThanOrEqual(3);
        // no answer outlives its check: the next call asks again
        await request(t.baseUrl).get('/health').expect(200);
        expect(accountsFake.callsTo('/health').length - before).toBe(asked + 1);
      } finally {
        accountsFake.clearFaults();
      }
    });

    it('should be public, outside the API prefix and documented in OpenAPI', async () => {
      // under the prefix only the summary, as an alias the platform calls (SPEC section 7); the probes stay at the root
      await request(t.baseUrl).get(`${API}/health`).expect(200);
      await request(t.baseUrl).get(`${API}/health/ready`).expect(404);
      await request(t.baseUrl).get('/health/ready').expect(200);
      const doc = await request(t.baseUrl).get('/docs-json').expect(200);
      for (const path of ['/health', '/health/live', '/health/ready', '/health/dependencies', `${API}/health`, '/api/v1/products/health']) {
        expect(doc.body.paths[path]?.get?.summary).toEqual(expect.any(String));
      }
    });
  });
});

describe('health defaults and graceful shutdown', () => {
  let t: TestApp;
  let closed = false;

  beforeAll(async () => {
    t = await startTestApp({ env: { SHUTDOWN_GRACE_MS: '1500' } });
  });

  afterAll(async () => {
    if (!closed) await t?.close();
  });

  it('should report a bus turned off on purpose (NATS_URL=off) as disabled, failing neither /health nor /health/dependencies for it', async () => {
    const summary = await request(t.baseUrl).get('/health').expect(200);
    // degraded only because the account and organization services are unreachable here
    expect(summary.body.status).toBe('degraded');
    expect(summary.body.dependencies.nats).toEqual({
      status: 'disabled',
      state: 'disabled',
      message: 'NATS_URL=off: events stay in the outbox',
    });
    const deps = await request(t.baseUrl).get('/health/dependencies').expect(503);
    expect(deps.body.error.nats).toBeUndefined();
    expect(deps.body.info.nats).toEqual({ status: 'up', state: 'disabled', message: 'NATS_URL=off: events stay in the outbox' });
    expect(Object.keys(deps.body.error).sort()).toEqual(['account_service', 'organization_service']);
  });

  it('should fail readiness at once on SIGTERM while still serving requests during the grace period, then close', async () => {
    await request(t.baseUrl).get('/health/ready').expect(200);
    const app = t.app as unknown as { close(signal?: string): Promise<void> };
    const closing = app.close('SIGTERM');
    const ready = await eventually(
      () => request(t.baseUrl).get('/health/ready'),
      (res) => res.status === 503,
    );
    expect(ready.status).toBe(503);
    expect(ready.body.error.lifecycle).toEqual({ status: 'down', state: 'shutting_down' });
    await request(t.baseUrl).get(`${API}/info`).expect(200);
    await request(t.baseUrl).get('/health/live').expect(200);
    const accounts = t.app.get(AccountClient);
    await closing;
    closed = true;
    const error = await failure(accounts.getUser('anyone'));
    expect(error.reason).toBe('client closed');
    await expect(fetch(`${t.baseUrl}/health/live`)).rejects.toThrow();
    await t.close().catch(() => undefined); // drops the database
  });
});
