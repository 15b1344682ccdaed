/**
 * Who is calling. `internal`: a platform service with the internal-service headers;
 * `user`: an authenticated end user; `anonymous`: no credentials while user auth is disabled
 * (development only), trusted to act for any user but not internal.
 */
export type Principal =
  | { kind: 'internal' }
  | { kind: 'user'; userId: string }
  | {
      kind: 'anonymous';
      /**
       * on a public route, a bearer token came that cannot be checked now (no key set fetched yet):
       * the seconds to retry after. A part of the route that needs the user answers 503, not 401.
       */
      tokenUncheckedRetryAfter?: number;
    };

/** What a service method needs to know about the call that caused it. */
export interface CallContext {
  requestId: string;
  /** id of the consumed event that caused this work, when there is one */
  correlationId?: string;
  principal: Principal;
}

export const isInternal = (p: Principal): boolean => p.kind === 'internal';

/** May this caller read or write data belonging to `userId`? */
export const canActFor = (p: Principal, userId: string): boolean =>
  p.kind === 'internal' || p.kind === 'anonymous' || (p.kind === 'user' && p.userId === userId);

/** The context of work the service starts on its own (sweeper, relays). */
export const systemContext = (requestId: string, correlationId?: string): CallContext => ({
  requestId,
  correlationId,
  principal: { kind: 'internal' },
});
