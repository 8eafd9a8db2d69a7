/**
 * The rank order, in one place. Documents are ranked by ascending information (the least informative first), ties
 * broken by source (UTF-16 code-unit order of the path string) then line: a total order that depends on nothing but
 * the documents themselves, so the same corpus and scores give the same selection whatever the order of the files
 * on the command line or of the score shards.
 *
 * For exact cut values in bounded memory (src/select/cuts.ts) the order is encoded as a 128-bit key of four unsigned
 * 32-bit words compared as an unsigned big-endian integer:
 *   word 0-1: the value as an order-preserving image of its IEEE-754 bits (sign flipped for positives, all bits
 *             flipped for negatives, -0 folded onto +0), so unsigned comparison of the words is numeric comparison;
 *   word 2:   the source's rank among the distinct sources, sorted;
 *   word 3:   the line (0 ≤ line < 2^32).
 */

import { hash64, hashLow } from '../util/hash.js';

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // The float-to-words conversion below reads the Float64Array's memory as two Uint32 words, low word first.
  throw new Error('infoprune select needs a little-endian machine');
}

/** Number of Uint32 words in one order key. */
export const KEY_WORDS = 4;
/** Largest line a key can hold. */
export const MAX_KEY_LINE = 0xffffffff;

const scratchFloat = new Float64Array(1);
const scratchWords = new Uint32Array(scratchFloat.buffer);

/** Writes the order key of (value, sourceRank, line) into `out` at word `offset * 4`. `value` must not be NaN. */
export function writeKey(out: Uint32Array, offset: number, value: number, sourceRank: number, line: number): void {
  scratchFloat[0] = value === 0 ? 0 : value;
  let low = scratchWords[0];
  let high = scratchWords[1];
  if (high & 0x80000000) {
    high = ~high >>> 0;
    low = ~low >>> 0;
  } else {
    high = (high | 0x80000000) >>> 0;
  }
  const at = offset * KEY_WORDS;
  out[at] = high;
  out[at + 1] = low;
  out[at + 2] = sourceRank;
  out[at + 3] = line;
}

/** The value encoded in a key's first two words (the inverse of `writeKey`'s value part). */
export function keyValue(key: ArrayLike<number>, offset = 0): number {
  const at = offset * KEY_WORDS;
  let high = key[at];
  let low = key[at + 1];
  if (high & 0x80000000) {
    high = (high & 0x7fffffff) >>> 0;
  } else {
    high = ~high >>> 0;
    low = ~low >>> 0;
  }
  scratchWords[0] = low;
  scratchWords[1] = high;
  return scratchFloat[0];
}

/** Compares key `i` of `a` with key `j` of `b`: negative, zero or positive. */
export function compareKeys(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const ai = i * KEY_WORDS;
  const bj = j * KEY_WORDS;
  for (let w = 0; w < KEY_WORDS; w++) {
    const d = a[ai + w] - b[bj + w];
    if (d !== 0) return d;
  }
  return 0;
}

/** Source path order used for tie-breaking: code-unit order, as `<` compares strings. */
export function compareSources(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Each distinct source's rank in sorted order. */
export function rankSources(sources: Iterable<string>): Map<string, number> {
  const sorted = [...new Set(sources)].sort(compareSources);
  return new Map(sorted.map((source, rank) => [source, rank]));
}

/**
 * The `random` strategy's key: a uniform number in [0, 1) from the document id and the seed, so a document's place
 * in the random order depends only on its id and the seed (not on the input order or on the other documents).
 */
export function randomKey(id: string, seed: number): number {
  const high = hash64(id, seed);
  return ((high & 0x1fffff) * 4294967296 + hashLow()) / 9007199254740992;
}
