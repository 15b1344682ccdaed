import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Small real HTTP servers standing in for the account and organization services (SPEC section 4).
 * Tests seed users, organizations and members, and switch faults on: delay, 5xx bursts, stop/start.
 */
export interface FakeUser {
  user_id: string;
  email?: string;
  name?: string;
  is_active: boolean;
}

export interface FakeMember {
  user_id: string;
  role: string;
  status: string;
}

export interface RecordedCall {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
}

export class FakeService {
  /** every request received, in order */
  readonly calls: RecordedCall[] = [];
  /** answer every request after this many ms */
  delayMs = 0;
  /** the status GET /health answers (its API goes on answering) */
  healthStatus = 200;
  /** answer the next N requests with this status (e.g. 503) */
  private failures: { status: number; remaining: number } | undefined;
  private server?: Server;
  private port = 0;

  constructor(private readonly routes: (path: URL) => { status: number; body: unknown } | undefined) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** fail the next `count` requests with `status` (default 503); Infinity = until cleared */
  failNext(count: number, status = 503): void {
    this.failures = { status, remaining: count };
  }

  clearFaults(): void {
    this.failures = undefined;
    this.delayMs = 0;
    this.healthStatus = 200;
  }

  /** requests received for a path prefix (e.g. `/api/v1/organizations/o1/members`) */
  callsTo(prefix: string): RecordedCall[] {
    return this.calls.filter((c) => c.path.startsWith(prefix));
  }

  async start(port = this.port): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** stop listening (connections refused) until start() again on the same port */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.calls.push({ method: req.method ?? 'GET', path: `${url.pathname}${url.search}`, headers: req.headers });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failures && this.failures.remaining > 0) {
      this.failures.remaining -= 1;
      return send(res, this.failures.status, { detail: 'injected failure' });
    }
    if (url.pathname === '/health') return send(res, this.healthStatus, { status: this.healthStatus === 200 ? 'healthy' : 'unhealthy' });
    const answer = this.routes(url);
    return answer ? send(res, answer.status, answer.body) : send(res, 404, { detail: 'Not found' });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The account service: GET /api/v1/accounts/profile/{user_id}. */
export class FakeAccountService extends FakeService {
  readonly users = new Map<string, FakeUser>();

  constructor() {
    super((url) => {
      const match = /^\/api\/v1\/accounts\/profile\/([^/]+)$/.exec(url.pathname);
      if (!match) return undefined;
      const id = decodeURIComponent(match[1]);
      if (this.rawProfiles.has(id)) return { status: 200, body: this.rawProfiles.get(id) };
      const user = this.users.get(id);
      return user ? { status: 200, body: { email: `${user.user_id}@example.com`, name: user.user_id, ...user } } : undefined;
    });
  }

  /** 200 answers given as they are for these user ids, instead of a seeded user (odd or untrustworthy profiles) */
  readonly rawProfiles = new Map<string, unknown>();

  addUser(user_id: string, is_active = true): this {
    this.users.set(user_id, { user_id, is_active });
    return this;
  }
}

/** The organization service: GET /api/v1/organizations/{id} and /members?limit=&offset=. */
export class FakeOrganizationService extends FakeService {
  readonly organizations = new Map<string, { organization_id: string; name: string; status: string; members: FakeMember[] }>();
  /** the most members one page returns, whatever `limit` asks (a server with its own page cap) */
  maxPageSize = Number.POSITIVE_INFINITY;

  constructor() {
    super((url) => {
      const members = /^\/api\/v1\/organizations\/([^/]+)\/members$/.exec(url.pathname);
      if (members) {
        const org = this.organizations.get(decodeURIComponent(members[1]));
        if (!org) return undefined;
        const limit = Math.min(Number(url.searchParams.get('limit') ?? 50), this.maxPageSize);
        const offset = Number(url.searchParams.get('offset') ?? 0);
        return { status: 200, body: { members: org.members.slice(offset, offset + limit), total: org.members.length, limit, offset } };
      }
      const one = /^\/api\/v1\/organizations\/([^/]+)$/.exec(url.pathname);
      if (!one) return undefined;
      const org = this.organizations.get(decodeURIComponent(one[1]));
      if (!org) return undefined;
      const { members: _members, ...rest } = org;
      return { status: 200, body: rest };
    });
  }

  addOrganization(organization_id: string, memberIds: string[] = [], status = 'active'): this {
    this.organizations.set(organization_id, {
      organization_id,
      name: organization_id,
      status,
      members: memberIds.map((user_id) => ({ user_id, role: 'member', status: 'active' })),
    });
    return this;
  }

  /** adds one member with the given status (e.g. 'invited', 'suspended') to an existing organization */
  addMember(organization_id: string, user_id: string, status = 'active', role = 'member'): this {
    const org = this.organizations.get(organization_id);
    if (!org) throw new Error(`no organization ${organization_id}`);
    org.members.push({ user_id, role, status });
    return this;
  }
}

/** Both fakes started; `env` points the service at them. */
export async function startFakePlatform(): Promise<{
  accounts: FakeAccountService;
  organizations: FakeOrganizationService;
  env: Record<string, string>;
  stop: () => Promise<void>;
}> {
  const accounts = await new FakeAccountService().start();
  const organizations = await new FakeOrganizationService().start();
  return {
    accounts,
    organizations,
    env: { ACCOUNT_SERVICE_URL: accounts.url, ORGANIZATION_SERVICE_URL: organizations.url },
    stop: async () => {
      await accounts.stop();
      await organizations.stop();
    },
  };
}
