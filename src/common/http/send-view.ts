import type { FastifyReply, FastifyRequest } from 'fastify';
import { ifNoneMatchHits, type JsonView } from './json-view.js';

/**
 * Answers a GET with a prepared JSON view: `ETag`, `Cache-Control`, the view's own headers, and
 * `304 Not Modified` (no body) when the caller's `If-None-Match` already has it. Returns what the
 * controller returns (the body text, or nothing for a 304).
 */
export function sendView(req: FastifyRequest, reply: FastifyReply, view: JsonView, cacheControl: string): string | undefined {
  void reply.header('ETag', view.etag).header('Cache-Control', cacheControl);
  if (view.headers) void reply.headers(view.headers);
  if (ifNoneMatchHits(req.headers['if-none-match'], view.etag)) {
    void reply.status(304);
    return undefined;
  }
  void reply.type('application/json; charset=utf-8');
  return view.json;
}
