import { badRequest } from '../errors/domain-error.js';

/**
 * A page of a keyset-paged list. The SPEC list shape is a JSON array plus, when more rows exist,
 * `Link: <...&cursor=X>; rel="next"` and `X-Next-Cursor: X` (`pageHeaders`, `sendPage`).
 */
export class Page<T> {
  constructor(
    readonly items: T[],
    readonly nextCursor: string | null,
  ) {}
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;

/** Encodes the keyset position after the last row as an opaque cursor. */
export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** A cursor's string: what positions hold (ids, timestamps, seqs), nothing PostgreSQL refuses as text. */
// eslint-disable-next-line no-control-regex -- refusing NUL (PostgreSQL text cannot hold it) is the point
const CURSOR_TEXT = /^(?:[^\u0000\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff]){0,510}$/;

/** Decodes a cursor made by `encodeCursor`, checking it has the expected shape; 400 otherwise. */
export function decodeCursor(cursor: string | undefined, shape: readonly ('string' | 'number')[]): (string | number)[] | undefined {
  if (cursor === undefined) return undefined;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // (strings the database can hold: no NUL, no unpaired surrogate, an id's length at most; finite numbers)
    if (
      Array.isArray(decoded) &&
      decoded.length === shape.length &&
      decoded.every((v, i) => typeof v === shape[i] && (typeof v === 'string' ? CURSOR_TEXT.test(v) : Number.isFinite(v)))
    ) {
      return decoded as (string | number)[];
    }
  } catch {
    // fall through
  }
  throw badRequest('Invalid cursor', [{ field: 'cursor', message: 'cursor is not one this service issued' }]);
}

/**
 * Builds a page from `limit + 1` fetched rows: the extra row only signals that more exist.
 */
export function pageOf<R, T>(rows: R[], limit: number, map: (row: R) => T, positionOf: (row: R) => (string | number)[]): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const next = more ? encodeCursor(positionOf(kept[kept.length - 1])) : null;
  return new Page(kept.map(map), next);
}

const MAX_BIGINT = 9_223_372_036_854_775_807n;

/**
 * Newest-first lists keyed by an identity column (`seq`, a bigint): the cursor holds the last seq
 * seen as a decimal string. Returns it validated, or undefined on the first page; 400 otherwise.
 */
export function decodeSeqCursor(cursor: string | undefined): string | undefined {
  const position = decodeCursor(cursor, ['string']);
  if (!position) return undefined;
  const seq = String(position[0]);
  // a bigint: 19 digits hold values past its largest (9223372036854775807), which PostgreSQL refuses
  if (!/^\d{1,19}$/.test(seq) || BigInt(seq) > MAX_BIGINT) {
    throw badRequest('Invalid cursor', [{ field: 'cursor', message: 'cursor is not one this service issued' }]);
  }
  return seq;
}

/** A page of a newest-first seq-keyed list from `limit + 1` rows. */
export function seqPageOf<R extends { seq: string }, T>(rows: R[], limit: number, map: (row: R) => T): Page<T> {
  return pageOf(rows, limit, map, (r) => [r.seq]);
}

/** The `Link` and `X-Next-Cursor` headers of a page, for the request URL it answers (none on the last page). */
export function pageHeaders(requestUrl: string, nextCursor: string | null): Record<string, string> {
  if (nextCursor === null) return {};
  const url = new URL(requestUrl, 'http://local');
  url.searchParams.set('cursor', nextCursor);
  return { Link: `<${url.pathname}${url.search}>; rel="next"`, 'X-Next-Cursor': nextCursor };
}
