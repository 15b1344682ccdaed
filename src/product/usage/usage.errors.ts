import { conflict, DomainError, notFound } from '../../common/errors/domain-error.js';

export const UsageErrorCode = {
  USAGE_RECORD_NOT_FOUND: 'USAGE_RECORD_NOT_FOUND',
  NOTHING_TO_VOID: 'NOTHING_TO_VOID',
  PERIOD_CLOSED: 'PERIOD_CLOSED',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
} as const;

/** The usage errors (SPEC section 8), by what went wrong. */
export const UsageErrors = {
  recordNotFound: (usageRecordId: string): DomainError =>
    notFound(UsageErrorCode.USAGE_RECORD_NOT_FOUND, `Usage record ${usageRecordId} not found`),
  nothingToVoid: (requested: string, remaining: string): DomainError =>
    conflict(
      UsageErrorCode.NOTHING_TO_VOID,
      remaining === '0' ? 'The record is voided already' : `Cannot void ${requested} units: only ${remaining} remain`,
    ),
  periodClosed: (periodEnd: Date): DomainError =>
    conflict(UsageErrorCode.PERIOD_CLOSED, `The record's billing period ended at ${periodEnd.toISOString()}; it can no longer be voided`),
  /** 429 with `Retry-After` until the window resets; one detail `{field: key, limit, used, remaining}` */
  quotaExceeded: (
    fact: { key: string; kind: string; limit: number | string; used: number | string; remaining: number | string },
    retryAfterSeconds: number,
  ): DomainError =>
    new DomainError(
      UsageErrorCode.QUOTA_EXCEEDED,
      'rate_limited',
      `Recording this usage would pass the plan's ${fact.kind} limit for ${fact.key}`,
      [
        {
          field: fact.key,
          message: `${fact.kind} limit ${String(fact.limit)}: ${String(fact.used)} used, ${String(fact.remaining)} remaining`,
          kind: fact.kind,
          limit: fact.limit,
          used: fact.used,
          remaining: fact.remaining,
        },
      ],
      Math.max(1, retryAfterSeconds),
    ),
};
