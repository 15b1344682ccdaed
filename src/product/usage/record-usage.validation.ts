import type { ErrorDetail } from '../../common/errors/domain-error.js';
import { eventObjectSizeProblem, isIdentifier } from '../../common/validation/validators.js';
import type { RecordUsageDto } from './dto/usage.dto.js';
import { parseTimestamp, parseUsageAmount } from './usage-input.js';

type Rule = (value: unknown, field: string) => string | undefined;

const identifier: Rule = (v, f) => (isIdentifier(v) ? undefined : `${f} must be a string of 1-255 characters without control characters`);
const object: Rule = (v, f) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? eventObjectSizeProblem(v, f) : `${f} must be an object`;
const amount: Rule = (v) => {
  const parsed = parseUsageAmount(v);
  return typeof parsed === 'string' ? parsed : undefined;
};
const boolean: Rule = (v, f) => (typeof v === 'boolean' ? undefined : `${f} must be a boolean`);
const timestamp: Rule = (v, f) => (parseTimestamp(v) ? undefined : `${f} must be an ISO 8601 timestamp (no offset = UTC)`);

/**
 * The one definition of a usage record's body (POST /usage/record and each item of
 * /usage/records/batch): each field, whether it is required (optional fields may be absent or
 * null), and its rule. A plain table checked in one pass: records arrive by the thousand, and
 * class-validator's per-call cost showed in the profiles. (RecordUsageDto documents the same
 * fields for OpenAPI.)
 */
const FIELDS: Readonly<Record<keyof RecordUsageDto, { required: boolean; rule: Rule }>> = {
  user_id: { required: true, rule: identifier },
  product_id: { required: true, rule: identifier },
  usage_amount: { required: true, rule: amount },
  organization_id: { required: false, rule: identifier },
  subscription_id: { required: false, rule: identifier },
  session_id: { required: false, rule: identifier },
  request_id: { required: false, rule: identifier },
  usage_details: { required: false, rule: object },
  usage_timestamp: { required: false, rule: timestamp },
  enforce: { required: false, rule: boolean },
};
const NAMES = Object.keys(FIELDS) as (keyof RecordUsageDto)[];

/**
 * Checks one usage record body; `parent` prefixes the field names of its problems
 * (`records[3].usage_amount`). Unknown fields are refused, as on every body.
 */
export function validateRecordUsage(body: Record<string, unknown>, parent = ''): { record: RecordUsageDto; details: ErrorDetail[] } {
  const details: ErrorDetail[] = [];
  const name = (field: string) => (parent ? `${parent}.${field}` : field);
  for (const field of NAMES) {
    const value = body[field];
    const { required, rule } = FIELDS[field];
    if (!required && (value === undefined || value === null)) continue;
    const problem = rule(value, field);
    if (problem) details.push({ field: name(field), message: problem });
  }
  for (const key of Object.keys(body)) {
    if (!(key in FIELDS)) details.push({ field: name(key), message: `${name(key)} is not an allowed field` });
  }
  return { record: body as unknown as RecordUsageDto, details };
}

/** A batch's records (every item, in order) and the problems of the malformed ones (each with its index). */
export interface UsageBatch {
  records: RecordUsageDto[];
  invalid: ErrorDetail[];
}
