import { Injectable, type PipeTransform } from '@nestjs/common';
import type { ErrorDetail } from '../../common/errors/domain-error.js';
import { checkBody, type FieldTable, fieldTableProblems, identifierChecks as IDENTIFIER } from '../../common/validation/field-table.js';
import { BILLING_CYCLES } from './billing-period.js';
import { eventObjectSizeProblem } from '../../common/validation/validators.js';
import { type CreateSubscriptionDto, MAX_SEATS, SEATS_MESSAGE } from './dto/subscription.dto.js';

const isNumber = (v: unknown): v is number => typeof v === 'number';

/**
 * POST /subscriptions' body as a field table (common/validation/field-table.ts): each field,
 * whether it may be absent or null, and its checks in the order class-validator runs
 * CreateSubscriptionDto's decorators (the bottom one first), each failing check a detail. The
 * verdicts and messages are class-validator's for that class, which documents the body for
 * OpenAPI: the unit test compares the two on generated bodies, so a change to one without the
 * other fails it. Why a table: class-validator and class-transformer were ~6 % of the service's
 * CPU per subscription create (docs/performance.md), as they had been on usage records.
 */
const FIELDS: FieldTable<keyof CreateSubscriptionDto> = {
  user_id: { optional: false, checks: IDENTIFIER('user_id') },
  plan_id: { optional: false, checks: IDENTIFIER('plan_id') },
  organization_id: { optional: true, checks: IDENTIFIER('organization_id') },
  billing_cycle: {
    optional: true,
    checks: [[(v) => BILLING_CYCLES.some((c) => c === v), `billing_cycle must be one of ${BILLING_CYCLES.join(', ')}`]],
  },
  seats: {
    optional: true,
    // class-validator's three rules share one message, which its details name once (validationDetails)
    checks: [[(v) => isNumber(v) && Number.isInteger(v) && v >= 1 && v <= MAX_SEATS, SEATS_MESSAGE]],
  },
  trial: { optional: true, checks: [[(v) => typeof v === 'boolean', 'trial must be a boolean value']] },
  payment_method_id: { optional: true, checks: IDENTIFIER('payment_method_id') },
  metadata: {
    optional: true,
    checks: [
      [(v) => v !== null && typeof v === 'object' && !Array.isArray(v), 'metadata must be an object'],
      [(v) => eventObjectSizeProblem(v, 'metadata') === undefined, 'metadata must be at most 64 KiB as JSON'],
    ],
  },
};

/** The body's problems: unknown fields first, then each field's failed checks, in FIELDS' order. */
export function createSubscriptionProblems(body: Record<string, unknown>): ErrorDetail[] {
  return fieldTableProblems(FIELDS, body);
}

/**
 * POST /subscriptions: the body checked by the table above (400 naming each bad field). The global
 * pipe has already refused bodies that are not JSON objects or too deep (see AppValidationPipe):
 * the parameter's type is a mapped type, emitted as Object, so it validates nothing else.
 */
@Injectable()
export class CreateSubscriptionPipe implements PipeTransform<unknown, CreateSubscriptionBody> {
  transform(body: unknown): CreateSubscriptionBody {
    return checkBody(FIELDS, body) as CreateSubscriptionBody;
  }
}

/** The validated body: the DTO's fields, not its class (see CreateSubscriptionPipe). */
export type CreateSubscriptionBody = Pick<CreateSubscriptionDto, keyof CreateSubscriptionDto>;
