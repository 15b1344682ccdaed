import { createHash } from 'node:crypto';

/**
 * A JSON answer serialized once and reused: the body text, its strong ETag (a hash of exactly these
 * bytes) and the headers that belong to it (a page's `Link`). Built from read-mostly data (the
 * in-memory catalog) and kept until that data changes.
 */
export interface JsonView {
  readonly json: string;
  readonly etag: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export function jsonView(value: unknown, headers?: Record<string, string>): JsonView {
  const json = JSON.stringify(value);
  const etag = `"${createHash('sha1').update(json).digest('base64url')}"`;
  return headers && Object.keys(headers).length > 0 ? { json, etag, headers } : { json, etag };
}

/**
 * Does an `If-None-Match` header match `etag`? (RFC 9110 §13.1.2: `*`, or any listed tag, compared
 * weakly: a `W/` prefix is ignored.)
 */
export function ifNoneMatchHits(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value.trim() === '*') return true;
  return value.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
