import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const REQUEST_ID_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The caller's `X-Request-Id` when it is a sane token, else a new UUID. Stored on the raw request. */
export function requestIdFor(req: IncomingMessage & { id?: unknown }): string {
  if (typeof req.id === 'string') return req.id;
  const header = req.headers['x-request-id'];
  const given = Array.isArray(header) ? header[0] : header;
  const id = given && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  req.id = id;
  return id;
}
