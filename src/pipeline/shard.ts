/**
 * Sharding: N processes (GPUs, machines) each score the documents of one shard, and together every document once.
 * A document's shard is a hash of its position (input key, line), so it is known before the record is even parsed
 * (a shard parses and tokenizes only its own documents) and it is the same on every machine.
 */
import { invalidParameterError } from '../validate.js';

export interface ShardSpec {
  /** 0-based shard index, below `count`. */
  index: number;
  count: number;
}

/** Parses `--shard i/N` (`0/3`, `2/3`). */
export function parseShard(value: unknown): ShardSpec {
  const match = typeof value === 'string' ? /^(\d+)\/(\d+)$/.exec(value.trim()) : null;
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || count < 1 || index >= count || !Number.isSafeInteger(count)) {
    throw invalidParameterError('shard', 'i/N with 0 <= i < N (for example 0/4)', value);
  }
  return { index, count };
}

export function formatShard(shard: ShardSpec): string {
  return `${shard.index}/${shard.count}`;
}

/** The shard (0..count-1) of the document at `line` of the input with this key. */
export function shardOf(key: string, line: number, count: number): number {
  if (count === 1) return 0;
  // FNV-1a over the key and the line, then murmur3's finaliser so that consecutive lines spread evenly mod N.
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= 0x0a;
  hash = Math.imul(hash, 0x01000193);
  let rest = line;
  for (let i = 0; i < 7; i++) {
    hash ^= rest & 0xff;
    hash = Math.imul(hash, 0x01000193);
    rest = Math.floor(rest / 256);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) % count;
}

/** Whether this process scores the document at (key, line). */
export function inShard(shard: ShardSpec | undefined, key: string, line: number): boolean {
  return shard === undefined || shard.count === 1 || shardOf(key, line, shard.count) === shard.index;
}
