import { Injectable, type PipeTransform } from '@nestjs/common';
import { badRequest, type ErrorDetail } from '../../common/errors/domain-error.js';
import type { RecordUsageDto } from './dto/usage.dto.js';
import { type UsageBatch, validateRecordUsage } from './record-usage.validation.js';
import { isJsonObject } from '../../common/validation/json-guard.js';

export const MAX_BATCH = 1000;

/** POST /usage/record: the body checked as one usage record (400 naming each bad field). */
@Injectable()
export class RecordUsagePipe implements PipeTransform<unknown, RecordUsageDto> {
  transform(body: unknown): RecordUsageDto {
    if (!isJsonObject(body)) throw badRequest('Request body must be a JSON object');
    const { record, details } = validateRecordUsage(body);
    if (details.length > 0) throw badRequest('Request validation failed', details);
    return record;
  }
}

/**
 * Validates the body of POST /usage/records/batch: `{records: [...]}` (no other field), 1 to
 * MAX_BATCH items. A body of another shape is a 400 here; each item is checked as a
 * RecordUsageDto and its problems (one detail per bad field, naming its index) go with the batch
 * to UsageRecorder.recordBatch, which refuses the whole batch in ONE 400 naming every bad record:
 * these and those the catalog and the subscriptions refuse among the others.
 */
@Injectable()
export class UsageBatchPipe implements PipeTransform<unknown, UsageBatch> {
  transform(body: unknown): UsageBatch {
    if (!isJsonObject(body)) throw badRequest('Request body must be a JSON object');
    const outer: ErrorDetail[] = Object.keys(body)
      .filter((key) => key !== 'records')
      .map((key) => ({ field: key, message: `${key} is not an allowed field` }));
    if (!Array.isArray(body.records)) outer.unshift({ field: 'records', message: 'records must be an array' });
    if (outer.length > 0) throw badRequest('Request validation failed', outer);
    const items = body.records as unknown[];
    if (items.length === 0 || items.length > MAX_BATCH) {
      throw badRequest('Request validation failed', [{ field: 'records', message: `records must hold 1 to ${MAX_BATCH} items` }]);
    }
    const invalid: ErrorDetail[] = [];
    const records: RecordUsageDto[] = [];
    for (const [index, item] of items.entries()) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        invalid.push({ index, field: `records[${index}]`, message: 'each record must be a JSON object' });
        records.push({} as RecordUsageDto); // a placeholder: never read (its index is invalid)
        continue;
      }
      const checked = validateRecordUsage(item as Record<string, unknown>, `records[${index}]`);
      for (const d of checked.details) invalid.push({ index, ...d });
      records.push(checked.record);
    }
    return { records, invalid };
  }
}
