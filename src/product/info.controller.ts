import { Controller, Get } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/auth/auth.decorators.js';
import type { AppConfig } from '../config/app-config.js';
import { PRICING_TYPES, PRODUCT_TYPES } from './catalog/catalog.constants.js';

/** What the service does; `product_catalog` is the name the platform's tools look for (SPEC section 7). */
const CAPABILITIES = [
  'product_catalog',
  'catalog',
  'service_plans',
  'subscriptions',
  'metered_usage',
  'effective_pricing',
  'price_quotes',
  'events',
  'idempotency',
];

@ApiTags('info')
@Controller('info')
export class InfoController {
  constructor(private readonly config: ConfigService<AppConfig, true>) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Service name, version, capabilities, product and pricing types' })
  @ApiOkResponse({
    schema: {
      example: {
        service: 'product_service',
        version: '1.0.0',
        capabilities: CAPABILITIES,
        supported_product_types: PRODUCT_TYPES,
        supported_pricing_types: PRICING_TYPES,
      },
    },
  })
  info(): Record<string, unknown> {
    return {
      service: this.config.get('serviceName', { infer: true }),
      version: this.config.get('version', { infer: true }),
      description: 'Product catalog, service plans, subscriptions and metered usage',
      capabilities: CAPABILITIES,
      supported_product_types: PRODUCT_TYPES,
      supported_pricing_types: PRICING_TYPES,
      supported_billing_cycles: ['monthly', 'quarterly', 'yearly', 'one_time'],
      tier_mode: 'graduated',
    };
  }
}
