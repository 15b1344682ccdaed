import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { InternalOnly } from '../../../common/auth/auth.decorators.js';
import { COST_DEFINITION_EXAMPLE } from '../cost-definition.mapper.js';
import { type CostLookupResponse, CostDefinitionService } from '../cost-definition.service.js';
import { CostLookupQuery } from '../dto/cost-definition.dto.js';

/** The platform path of the lookup, outside the service's `/api/v1/product` prefix (bootstrap.ts excludes it). */
export const COSTS_PATH = 'api/v1/costs';

const errorExample = (code: string, message: string) => ({
  schema: { example: { error: { code, message, request_id: '7f1c2e0a-5b1e-4a43-9a37-1d3e7c1f0b11' }, detail: message } },
});

@ApiTags('admin')
@Controller(COSTS_PATH)
export class CostLookupController {
  constructor(private readonly costs: CostDefinitionService) {}

  @Get('lookup')
  @InternalOnly()
  @ApiSecurity('internal')
  @ApiOperation({
    summary: 'The provider cost definition that applies (internal services only)',
    description:
      'Active definitions effective now of `service_type` whose product_id, provider, model_name and operation_type are each null ' +
      'or equal to the given value (a set field does not match an absent one), with the given unit_type; the most specific (most ' +
      'of those four set) wins, then the latest effective_from, then the smallest cost_id. Served from memory.',
  })
  @ApiOkResponse({
    schema: {
      example: {
        success: true,
        message: 'Cost definition found',
        cost_definition: COST_DEFINITION_EXAMPLE,
        cost_per_unit: '0.15',
        unit_type: 'token',
        unit_size: '1000000',
        free_tier_limit: null,
        free_tier_period: null,
      },
    },
  })
  @ApiBadRequestResponse(errorExample('VALIDATION_ERROR', 'Request validation failed'))
  @ApiNotFoundResponse(errorExample('COST_DEFINITION_NOT_FOUND', 'No active cost definition matches service_type x and the given fields'))
  @ApiUnauthorizedResponse(errorExample('UNAUTHORIZED', 'Internal service credentials required'))
  @ApiForbiddenResponse(errorExample('FORBIDDEN', 'This endpoint is for internal services only'))
  lookup(@Query() query: CostLookupQuery): CostLookupResponse {
    return this.costs.lookup(query);
  }
}
