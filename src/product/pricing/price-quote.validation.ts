import { Injectable, type PipeTransform } from '@nestjs/common';
import type { ErrorDetail } from '../../common/errors/domain-error.js';
import { type Check, checkBody, type FieldTable, fieldTableProblems, identifierChecks } from '../../common/validation/field-table.js';
import { MAX_QUOTE_QUANTITY, parseQuantity, type PriceQuoteDto } from './pricing.dto.js';

// eslint-disable-next-line no-control-regex -- rejecting control characters is the point (NO_CONTROL_CHARS)
const NO_CONTROL = /^[^\u0000-\u001f\u007f-\u009f]*$/u;

/**
 * class-validator's `@Length(min, max)` message, which reads the value's `length` whatever the
 * value is: too short (or falsy), too long, or neither (a value without a length).
 */
function lengthMessage(field: string, min: number, max: number): (value: unknown) => string {
  return (value) => {
    const length = (value as { length?: unknown } | undefined)?.length as number | undefined;
    if (!value || (length as number) < min) return `${field} must be longer than or equal to ${min} characters`;
    if ((length as number) > max) return `${field} must be shorter than or equal to ${max} characters`;
    return `${field} must be longer than or equal to ${min} and shorter than or equal to ${max} characters`;
  };
}

/** `@IsString() @Length(min, max) @NO_CONTROL_CHARS` on one field: the checks and messages, in class-validator's order. */
function boundedText(field: string, min: number, max: number): Check[] {
  return [
    [(v) => typeof v === 'string' && NO_CONTROL.test(v), `${field} must not contain control characters`],
    [(v) => typeof v === 'string' && v.length >= min && v.length <= max, lengthMessage(field, min, max)],
    [(v) => typeof v === 'string', `${field} must be a string`],
  ];
}

/**
 * POST /api/v1/pricing/calculate's body as a field table (common/validation/field-table.ts), with
 * class-validator's verdicts and messages for PriceQuoteDto (which documents it for OpenAPI; the
 * unit test compares the two on generated bodies). Why a table: class-validator and
 * class-transformer were ~15 % of the service's CPU per list-price quote (docs/performance.md).
 */
const FIELDS: FieldTable<keyof PriceQuoteDto> = {
  product_id: { optional: false, checks: identifierChecks('product_id') },
  quantity: {
    optional: false,
    checks: [
      [
        (v) => parseQuantity(v) !== undefined,
        `quantity must be a number or a decimal string (e.g. "1073741824"), at least 0 and at most ${MAX_QUOTE_QUANTITY.toFixed()}`,
      ],
    ],
  },
  unit_type: { optional: true, checks: boundedText('unit_type', 1, 64) },
  tier_code: { optional: true, checks: boundedText('tier_code', 1, 255) },
  user_id: { optional: true, checks: identifierChecks('user_id') },
  subscription_id: { optional: true, checks: identifierChecks('subscription_id') },
};

/** The body's problems: unknown fields first, then each field's failed checks, in FIELDS' order. */
export function priceQuoteProblems(body: Record<string, unknown>): ErrorDetail[] {
  return fieldTableProblems(FIELDS, body);
}

/** The validated body: the DTO's fields, not its class (see PriceQuotePipe). */
export type PriceQuoteBody = Pick<PriceQuoteDto, keyof PriceQuoteDto>;

/** The quote's body checked by the table above (400 naming each bad field). */
@Injectable()
export class PriceQuotePipe implements PipeTransform<unknown, PriceQuoteBody> {
  transform(body: unknown): PriceQuoteBody {
    return checkBody(FIELDS, body) as PriceQuoteBody;
  }
}
