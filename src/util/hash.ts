/**
 * The hashes infoprune uses, in one place. None is cryptographic except sha256, which identifies a model file.
 *
 * - FNV-1a (32-bit): word-frequency buckets and shard assignment: fixed forever, because tables and shards written
 *   by one version are read and merged by another. `fmix32` (MurmurHash3's finaliser) spreads its low bits.
 * - cyrb53-style 64-bit (two 32-bit lanes): the seeded random order and the duplicate-id finder of `prune`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over a string's UTF-16 code units, continuing from `hash`. Unsigned. */
export function fnv1a(text: string, hash: number = FNV_OFFSET_BASIS): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** One more byte into an FNV-1a hash. Unsigned. */
export function fnv1aByte(hash: number, byte: number): number {
  return Math.imul(hash ^ byte, FNV_PRIME) >>> 0;
}

/** MurmurHash3's 32-bit finaliser: every input bit affects every output bit. Unsigned. */
export function fmix32(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

let lastLow = 0;

/**
 * cyrb53-style 64-bit string hash (two 32-bit lanes, MurmurHash3-like mixing): fast in JS, good avalanche.
 * Returns the high lane; the low lane is left in `hashLow`.
 */
export function hash64(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  lastLow = h1 >>> 0;
  return h2 >>> 0;
}

/** The low 32 bits of the last `hash64` result. */
export function hashLow(): number {
  return lastLow;
}

/** sha256 of a file, streamed (hex). `signal` stops the read at once (a failed run must not wait for the hash). */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20, signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
