import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { OrganizationClient } from '../../clients/organization.client.js';
import { downstreamHealth } from './downstream.health.js';

/** The organization service's `/health` (timeout, circuit breaker state). */
@Injectable()
export class OrganizationServiceHealthIndicator {
  constructor(
    private readonly client: OrganizationClient,
    private readonly indicator: HealthIndicatorService,
  ) {}

  isHealthy(key = 'organization_service'): Promise<HealthIndicatorResult> {
    return downstreamHealth(this.indicator, key, this.client);
  }
}
