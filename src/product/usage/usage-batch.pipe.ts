import { Injectable, type PipeTransform } from '@nestjs/common';
import { badRequest, type ErrorDetail } from '../../common/errors/domain-error.js';
import { validateBody } from '../../common/validation/validation.pipe.js';
import { RecordUsageBatchDto, RecordUsageDto } from './dto/usage.dto.js';

export const MAX_BATCH = 1000;

/**
 * Validates the body of POST /usage/records/batch: `{records: [...]}` (no other field), 1 to
 * MAX_BATCH items, each a RecordUsageDto. All or nothing: 400 with one detail per bad field,
 * naming its index. Returns the items as DTOs.
 */
@Injectable()
export class UsageBatchPipe implements PipeTransform<object, Promise<RecordUsageDto[]>> {
  async transform(body: object): Promise<RecordUsageDto[]> {
    const outer = await validateBody(RecordUsageBatchDto, body);
    if (outer.details.length > 0) throw badRequest('Request validation failed', outer.details);
    const items = outer.dto.records;
    if (items.length === 0 || items.length > MAX_BATCH) {
      throw badRequest('Request validation failed', [{ field: 'records', message: `records must hold 1 to ${MAX_BATCH} items` }]);
    }
    const details: ErrorDetail[] = [];
    const dtos: RecordUsageDto[] = [];
    for (const [index, item] of items.entries()) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        details.push({ index, field: `records[${index}]`, message: 'each record must be a JSON object' });
        continue;
      }
      const checked = await validateBody(RecordUsageDto, item, `records[${index}]`);
      for (const d of checked.details) details.push({ index, ...d });
      dtos.push(checked.dto);
    }
    if (details.length > 0) throw badRequest('Batch validation failed; nothing was recorded', details);
    return dtos;
  }
}
