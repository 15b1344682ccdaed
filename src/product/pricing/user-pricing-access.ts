import { canActFor, type CallContext } from '../../common/auth/principal.js';
import { CommonErrorCode, forbidden, unauthorized, unavailable } from '../../common/errors/domain-error.js';

/**
 * The public pricing routes (effective pricing, quotes) answer for one user only to that user or
 * to internal callers: a user's usage this period is that user's data. Anonymous callers are
 * refused while user auth is configured (401), or 503 when they sent a token that cannot be checked
 * now (no key set fetched yet: the token may well be good); another user's id is 403.
 */
export function assertMayPriceFor(ctx: CallContext, userId: string, userAuthDisabled: boolean, what: string): void {
  if (ctx.principal.kind === 'anonymous' && !userAuthDisabled) {
    const retryAfter = ctx.principal.tokenUncheckedRetryAfter;
    if (retryAfter !== undefined) throw unavailable(CommonErrorCode.SERVICE_UNAVAILABLE, 'User tokens cannot be checked now', retryAfter);
    throw unauthorized(`Credentials required for ${what}`);
  }
  if (!canActFor(ctx.principal, userId)) throw forbidden(`Users may only ask for their own ${what}`);
}
