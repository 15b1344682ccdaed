import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { AccountClient } from '../../clients/account.client.js';
import { downstreamHealth } from './downstream.health.js';

/** The account service's `/health` (timeout, circuit breaker state). */
@Injectable()
export class AccountServiceHealthIndicator {
  constructor(
    private readonly client: AccountClient,
    private readonly indicator: HealthIndicatorService,
  ) {}

  isHealthy(key = 'account_service'): Promise<HealthIndicatorResult> {
    return downstreamHealth(this.indicator, key, this.client);
  }
}
