import { randomFillSync } from 'node:crypto';

/** Random bytes drawn in blocks (one getrandom call per 256 ids, not one per id). */
const POOL_IDS = 256;
const pool = Buffer.allocUnsafe(10 * POOL_IDS);
let next = POOL_IDS;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A UUID version 7 (RFC 9562): the first 48 bits are the Unix time in milliseconds, the rest random
 * (74 bits). Ids made one after the other sort by time, so a B-tree index on them grows at its
 * right edge like an index on a sequence: a random (version 4) id lands on any page of a large
 * index, which then has to be read and, after each checkpoint, written whole to the WAL again. Used
 * for the ids of high-volume rows (usage records). Still a uuid: the column and the API do not change.
 */
export function uuidv7(now: number = Date.now()): string {
  if (next === POOL_IDS) {
    randomFillSync(pool);
    next = 0;
  }
  const r = next++ * 10;
  const t = Math.floor(now);
  const high = Math.floor(t / 0x10000); // top 32 of the 48 time bits
  const low = t % 0x10000; // bottom 16
  const hex = (high >>> 0).toString(16).padStart(8, '0') + (low >>> 0).toString(16).padStart(4, '0');
  const h = (i: number) => HEX[pool[r + i]];
  // version 7 in the top nibble of byte 6, variant 10 in the top bits of byte 8
  const version = HEX[0x70 | (pool[r] & 0x0f)] + h(1);
  const variant = HEX[0x80 | (pool[r + 2] & 0x3f)] + h(3);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${version}-${variant}-${h(4)}${h(5)}${h(6)}${h(7)}${h(8)}${h(9)}`;
}
