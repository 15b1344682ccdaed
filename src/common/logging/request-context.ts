import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The request being served, for the logger: every log line written while serving a request gets
 * its `request_id` (pino's `mixin`, see logger.options.ts) without building a child logger per
 * request. Entered by the request hooks (request-logging.ts).
 */
export const requestContext = new AsyncLocalStorage<string>();

/** `{request_id}` of the request being served, or nothing outside a request. */
export function requestIdBinding(): { request_id?: string } {
  const requestId = requestContext.getStore();
  return requestId === undefined ? {} : { request_id: requestId };
}
