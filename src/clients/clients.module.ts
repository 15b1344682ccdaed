import { Global, Module } from '@nestjs/common';
import { AccountClient } from './account.client.js';
import { OrganizationClient } from './organization.client.js';

/** Account and organization service clients (HttpService), with resilience. */
@Global()
@Module({
  providers: [AccountClient, OrganizationClient],
  exports: [AccountClient, OrganizationClient],
})
export class ClientsModule {}
