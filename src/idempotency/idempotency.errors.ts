import { conflict, type DomainError } from '../common/errors/domain-error.js';

export const IdempotencyErrorCode = {
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  IDEMPOTENCY_KEY_IN_PROGRESS: 'IDEMPOTENCY_KEY_IN_PROGRESS',
} as const;

export const IdempotencyErrors = {
  reused: (): DomainError =>
    conflict(IdempotencyErrorCode.IDEMPOTENCY_KEY_REUSED, 'This Idempotency-Key was already used with a different request'),
  inProgress: (): DomainError =>
    conflict(
      IdempotencyErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS,
      'A request with this Idempotency-Key is still being processed; retry shortly',
      1,
    ),
};
