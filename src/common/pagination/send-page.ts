import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Page, pageHeaders } from './page.js';

/** Answers with a page: the items as the JSON array, the paging headers beside them. */
export function sendPage<T>(req: FastifyRequest, reply: FastifyReply, page: Page<T>): T[] {
  if (page.nextCursor !== null) void reply.headers(pageHeaders(req.url, page.nextCursor));
  return page.items;
}
