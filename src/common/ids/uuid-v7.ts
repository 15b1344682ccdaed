import { randomFillSync } from 'node:crypto';

/** Random bytes drawn in blocks (one getrandom call per 256 ids, not one per id). */
const POOL_IDS = 256;
const pool = Buffer.allocUnsafe(10 * POOL_IDS);
// not `next`: a name at the bundle's top level makes esbuild rename every nested function of that
// name (Fastify's hook runner's `next`), and a renamed function keeps a name-setting call per use
// (scripts/inferred-names.mjs)
let nextInPool = POOL_IDS;

/** the ASCII codes of "0"-"9a"-"f", and the 36 characters of an id written into one reused buffer */
const HEX_CODES = Buffer.from('0123456789abcdef', 'latin1');
const text = Buffer.alloc(36, 0x2d); // '-' at 8, 13, 18 and 23 stay
/** where each of the 16 bytes' two hex digits go in the text */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

function writeByte(i: number, byte: number): void {
  text[AT[i]] = HEX_CODES[byte >>> 4];
  text[AT[i] + 1] = HEX_CODES[byte & 0x0f];
}

/**
 * A UUID version 7 (RFC 9562): the first 48 bits are the Unix time in milliseconds, the rest random
 * (74 bits). Ids made one after the other sort by time, so a B-tree index on them grows at its
 * right edge like an index on a sequence: a random (version 4) id lands on any page of a large
 * index, which then has to be read and, after each checkpoint, written whole to the WAL again. Used
 * for the ids of high-volume rows (usage records). Still a uuid: the column and the API do not change.
 * The text is written into one reused buffer and read out as one flat string (no concatenations:
 * an id per usage record, a thousand per batch).
 */
export function uuidv7(now: number = Date.now()): string {
  if (nextInPool === POOL_IDS) {
    randomFillSync(pool);
    nextInPool = 0;
  }
  const r = nextInPool++ * 10;
  const t = Math.floor(now);
  const high = Math.floor(t / 0x10000); // top 32 of the 48 time bits
  const low = t % 0x10000; // bottom 16
  writeByte(0, (high >>> 24) & 0xff);
  writeByte(1, (high >>> 16) & 0xff);
  writeByte(2, (high >>> 8) & 0xff);
  writeByte(3, high & 0xff);
  writeByte(4, (low >>> 8) & 0xff);
  writeByte(5, low & 0xff);
  // version 7 in the top nibble of byte 6, variant 10 in the top bits of byte 8
  writeByte(6, 0x70 | (pool[r] & 0x0f));
  writeByte(7, pool[r + 1]);
  writeByte(8, 0x80 | (pool[r + 2] & 0x3f));
  for (let i = 3; i < 10; i++) writeByte(i + 6, pool[r + i]);
  return text.toString('latin1');
}
