import { canActFor, type CallContext } from '../../common/auth/principal.js';
import { forbidden, unauthorized } from '../../common/errors/domain-error.js';

/**
 * The public pricing routes (effective pricing, quotes) answer for one user only to that user or
 * to internal callers: a user's usage this period is that user's data. Anonymous callers are
 * refused while user auth is configured (401); another user's id is 403.
 */
export function assertMayPriceFor(ctx: CallContext, userId: string, userAuthDisabled: boolean, what: string): void {
  if (ctx.principal.kind === 'anonymous' && !userAuthDisabled) throw unauthorized(`Credentials required for ${what}`);
  if (!canActFor(ctx.principal, userId)) throw forbidden(`Users may only ask for their own ${what}`);
}
