import { Test } from '@nestjs/testing';
import { ConfigService } from '@nestjs/config';
import { testConfig } from '../testing/doubles.js';
import { AccountClient } from './account.client.js';
import { DependencyUnavailableError } from './client.types.js';
import { OrganizationClient } from './organization.client.js';
import { PlatformDirectory, ResilientPlatformDirectory } from './platform-directory.js';

const down = () => Promise.reject(new DependencyUnavailableError('account_service', 'timeout'));

async function directory(policy: 'fail_closed' | 'fail_open', accounts: object, organizations: object = {}): Promise<PlatformDirectory> {
  const module = await Test.createTestingModule({
    providers: [
      { provide: PlatformDirectory, useClass: ResilientPlatformDirectory },
      { provide: AccountClient, useValue: accounts },
      { provide: OrganizationClient, useValue: organizations },
      { provide: ConfigService, useValue: testConfig({ DEPENDENCY_FAILURE_POLICY: policy }) },
    ],
  }).compile();
  return module.get(PlatformDirectory);
}

describe('PlatformDirectory (clients swapped)', () => {
  it('should read users and memberships as the clients answer them', async () => {
    const d = await directory(
      'fail_closed',
      { getUser: (id: string) => Promise.resolve(id === 'ghost' ? null : { user_id: id, is_active: id !== 'sleepy' }) },
      {
        getOrganization: (id: string) => Promise.resolve(id === 'nope' ? null : { organization_id: id }),
        checkUserInOrganization: (_org: string, user: string) => Promise.resolve(user === 'u1'),
      },
    );
    expect(await d.checkUser('u1', {})).toBe('active');
    expect(await d.checkUser('sleepy', {})).toBe('inactive');
    expect(await d.checkUser('ghost', {})).toBe('not_found');
    expect(await d.checkMembership('o1', 'u1', {})).toBe('member');
    expect(await d.checkMembership('o1', 'u2', {})).toBe('not_member');
    expect(await d.checkMembership('nope', 'u1', {})).toBe('organization_not_found');
  });

  it('should answer 503 DEPENDENCY_UNAVAILABLE with Retry-After when a service cannot answer (fail_closed)', async () => {
    const d = await directory('fail_closed', { getUser: down });
    await expect(d.checkUser('u1', {})).rejects.toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
      kind: 'unavailable',
      retryAfterSeconds: 5,
    });
  });

  it('should answer unverified instead when the policy is fail_open', async () => {
    const d = await directory('fail_open', { getUser: down }, { getOrganization: down });
    expect(await d.checkUser('u1', {})).toBe('unverified');
    expect(await d.checkMembership('o1', 'u1', {})).toBe('unverified');
  });
});
