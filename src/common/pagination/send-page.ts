import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Page, pageHeaders } from './page.js';

/** Answers with a page: the items as the JSON array, the paging headers beside them. */
export function sendPage<T>(req: FastifyRequest, reply: FastifyReply, page: Page<T>): T[] {
  if (page.nextCursor !== null) void reply.headers(pageHeaders(req.url, page.nextCursor));
  return page.items;
}

/**
 * As sendPage, for a page whose items are JSON texts already (built by the database): the answer
 * is their array as JSON text, sent as it is.
 */
export function sendJsonPage(req: FastifyRequest, reply: FastifyReply, page: Page<string>): string {
  if (page.nextCursor !== null) void reply.headers(pageHeaders(req.url, page.nextCursor));
  void reply.type('application/json; charset=utf-8');
  return `[${page.items.join(',')}]`;
}
