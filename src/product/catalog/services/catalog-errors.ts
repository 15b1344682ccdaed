import { DomainError, ErrorCode, type ErrorDetail } from '../../../common/errors/domain-error.js';

/** 400 INVALID_TIERS naming each bad tier field. */
export const invalidTiers = (details: ErrorDetail[]): DomainError =>
  new DomainError(ErrorCode.INVALID_TIERS, 'The tier table is invalid: tiers must be contiguous from 0 and ordered', 400, details);

/** Escapes LIKE wildcards so user text matches literally (used with ESCAPE '\'). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
