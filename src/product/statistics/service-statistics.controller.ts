import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ServiceStatistics } from './service-statistics.service.js';

const COUNTS_EXAMPLE = {
  total_products: 9,
  active_subscriptions: 3,
  total_subscriptions: 5,
  subscriptions_by_status: { active: 3, trialing: 1, canceled: 1 },
  usage_records_24h: 10,
  usage_records_7d: 50,
  usage_records_30d: 200,
};

@ApiTags('usage')
@Controller()
export class ServiceStatisticsController {
  constructor(private readonly statistics: ServiceStatistics) {}

  @Get('statistics/service')
  @ApiOperation({ summary: 'Service-wide counts: products, subscriptions by status, usage records in the last 24 h / 7 d / 30 d' })
  @ApiOkResponse({
    description: 'the counts at the top level and again under `statistics`',
    schema: {
      example: {
        service: 'product_service',
        timestamp: '2026-11-27T10:00:00.000Z',
        ...COUNTS_EXAMPLE,
        statistics: COUNTS_EXAMPLE,
        generated_at: '2026-11-27T10:00:00.000Z',
      },
    },
  })
  serviceStatistics(): Promise<Record<string, unknown>> {
    return this.statistics.counts();
  }
}
