import { Injectable, type PipeTransform } from '@nestjs/common';
import { badRequest, type ErrorDetail } from '../../common/errors/domain-error.js';
import { validateBody } from '../../common/validation/validation.pipe.js';
import { CreateCostDefinitionDto } from './dto/cost-definition.dto.js';

/** New definitions per rotation at most. */
export const MAX_ROTATION = 100;

/** The validated body of POST /admin/cost-definitions/rotate (an interface: the global pipe leaves the array to this pipe). */
export interface CostRotation {
  definitions: CreateCostDefinitionDto[];
}

/**
 * POST /admin/cost-definitions/rotate: the body is a JSON array of 1 to MAX_ROTATION new
 * definitions, each validated like POST /admin/cost-definitions (unknown fields refused). All or
 * nothing: 400 with one detail per bad field, named `[index].field`.
 */
@Injectable()
export class CostRotationPipe implements PipeTransform<unknown, Promise<CostRotation>> {
  async transform(body: unknown): Promise<CostRotation> {
    if (!Array.isArray(body)) throw badRequest('Request body must be a JSON array of cost definitions');
    if (body.length === 0 || body.length > MAX_ROTATION) {
      throw badRequest('Request validation failed', [{ field: 'body', message: `the array must hold 1 to ${MAX_ROTATION} definitions` }]);
    }
    const details: ErrorDetail[] = [];
    const definitions: CreateCostDefinitionDto[] = [];
    for (const [index, item] of (body as unknown[]).entries()) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        details.push({ index, field: `[${index}]`, message: 'each definition must be a JSON object' });
        continue;
      }
      const checked = await validateBody(CreateCostDefinitionDto, item, `[${index}]`);
      for (const d of checked.details) details.push({ index, ...d });
      definitions.push(checked.dto);
    }
    if (details.length > 0) throw badRequest('Request validation failed; nothing was rotated', details);
    return { definitions };
  }
}
