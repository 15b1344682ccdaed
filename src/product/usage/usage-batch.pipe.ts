import { Injectable, type PipeTransform } from '@nestjs/common';
import { badRequest, type ErrorDetail } from '../../common/errors/domain-error.js';
import type { RecordUsageDto } from './dto/usage.dto.js';
import { validateRecordUsage } from './record-usage.validation.js';

export const MAX_BATCH = 1000;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** POST /usage/record: the body checked as one usage record (400 naming each bad field). */
@Injectable()
export class RecordUsagePipe implements PipeTransform<unknown, RecordUsageDto> {
  transform(body: unknown): RecordUsageDto {
    if (!isObject(body)) throw badRequest('Request body must be a JSON object');
    const { record, details } = validateRecordUsage(body);
    if (details.length > 0) throw badRequest('Request validation failed', details);
    return record;
  }
}

/**
 * Validates the body of POST /usage/records/batch: `{records: [...]}` (no other field), 1 to
 * MAX_BATCH items, each a RecordUsageDto. All or nothing: 400 with one detail per bad field,
 * naming its index. Returns the items as DTOs.
 */
@Injectable()
export class UsageBatchPipe implements PipeTransform<unknown, RecordUsageDto[]> {
  transform(body: unknown): RecordUsageDto[] {
    if (!isObject(body)) throw badRequest('Request body must be a JSON object');
    const outer: ErrorDetail[] = Object.keys(body)
      .filter((key) => key !== 'records')
      .map((key) => ({ field: key, message: `${key} is not an allowed field` }));
    if (!Array.isArray(body.records)) outer.unshift({ field: 'records', message: 'records must be an array' });
    if (outer.length > 0) throw badRequest('Request validation failed', outer);
    const items = body.records as unknown[];
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
      const checked = validateRecordUsage(item as Record<string, unknown>, `records[${index}]`);
      for (const d of checked.details) details.push({ index, ...d });
      dtos.push(checked.record);
    }
    if (details.length > 0) throw badRequest('Batch validation failed; nothing was recorded', details);
    return dtos;
  }
}
