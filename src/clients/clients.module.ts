import { Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/app-config.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { AccountClient } from './account.client.js';
import { ClientMetrics } from './client.metrics.js';
import { DownstreamHttp } from './downstream-http.js';
import { OrganizationClient } from './organization.client.js';
import { PlatformDirectory, ResilientPlatformDirectory } from './platform-directory.js';

/**
 * Account and organization service clients with timeout, retries, a circuit breaker per service
 * and a positive cache (resilience.ts), over one HTTP transport (DownstreamHttp: undici's keep-alive
 * pools), and the PlatformDirectory port that applies DEPENDENCY_FAILURE_POLICY for the business
 * side. Nothing here calls the services at start-up.
 */
@Module({
  imports: [MetricsModule],
  providers: [
    // its constructor reads the proxy variables of the process (HTTP_PROXY, HTTPS_PROXY, NO_PROXY)
    { provide: DownstreamHttp, useFactory: () => new DownstreamHttp() },
    ClientMetrics,
    AccountClient,
    OrganizationClient,
    { provide: PlatformDirectory, useClass: ResilientPlatformDirectory },
  ],
  exports: [AccountClient, OrganizationClient, PlatformDirectory],
})
export class ClientsModule implements OnApplicationBootstrap {
  private readonly logger = new Logger('Clients');

  constructor(
    private readonly config: ConfigService<AppConfig, true>,
    private readonly accounts: AccountClient,
    private readonly organizations: OrganizationClient,
  ) {}

  onApplicationBootstrap(): void {
    const c = this.config.get('clients', { infer: true });
    this.logger.log(
      {
        account_service_url: this.accounts.baseUrl,
        organization_service_url: this.organizations.baseUrl,
        timeout_ms: c.timeoutMs,
        retries: c.retries,
        breaker_threshold: c.breakerThreshold,
        breaker_half_open_after_ms: c.breakerHalfOpenAfterMs,
        cache_ttl_ms: c.cacheTtlMs,
        dependency_failure_policy: c.dependencyFailurePolicy,
      },
      'clients initialised',
    );
  }
}
