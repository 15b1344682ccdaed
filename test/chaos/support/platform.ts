import { FakeService } from '../../support/fake-platform.js';
import type { ChaosRun } from './run.js';

/**
 * The account and organization services the product service calls, as small HTTP servers in this
 * process (the e2e suite's FakeService). Any user exists and is active, except ids starting with
 * `missing` (404) or `inactive` (is_active false); organizations `org_*` exist and list the users
 * `member_*` as members; anything else is 404.
 */
export async function startPlatform(
  run: ChaosRun,
): Promise<{ env: Record<string, string>; accounts: FakeService; organizations: FakeService }> {
  const accounts = new FakeService((url) => {
    const m = /^\/api\/v1\/accounts\/profile\/([^/]+)$/.exec(url.pathname);
    if (!m) return undefined;
    const userId = decodeURIComponent(m[1]);
    if (userId.startsWith('missing')) return undefined;
    return {
      status: 200,
      body: { user_id: userId, email: `${userId}@example.com`, name: userId, is_active: !userId.startsWith('inactive') },
    };
  });
  const organizations = new FakeService((url) => {
    const members = /^\/api\/v1\/organizations\/(org_[^/]+)\/members$/.exec(url.pathname);
    if (members) {
      const limit = Number(url.searchParams.get('limit') ?? 50);
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const all = ['member_1', 'member_2', 'member_3'].map((user_id) => ({ user_id, role: 'member', status: 'active' }));
      return { status: 200, body: { members: all.slice(offset, offset + limit), total: all.length, limit, offset } };
    }
    const one = /^\/api\/v1\/organizations\/(org_[^/]+)$/.exec(url.pathname);
    if (!one) return undefined;
    return { status: 200, body: { organization_id: decodeURIComponent(one[1]), name: one[1], status: 'active' } };
  });
  await accounts.start();
  await organizations.start();
  // the fakes keep every call they receive: drop them, we do not read them and a long run would fill memory
  const forget = setInterval(() => {
    accounts.calls.length = 0;
    organizations.calls.length = 0;
  }, 1000);
  forget.unref();
  run.defer('fake platform', async () => {
    clearInterval(forget);
    await accounts.stop();
    await organizations.stop();
  });
  return { env: { ACCOUNT_SERVICE_URL: accounts.url, ORGANIZATION_SERVICE_URL: organizations.url }, accounts, organizations };
}
