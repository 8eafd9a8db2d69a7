/**
 * Sharding: N processes (GPUs, machines) each score the documents of one shard, and together every document once.
 * A document's shard is a hash of its position (input key, line), so it is known before the record is even parsed
 * (a shard parses and tokenizes only its own documents) and it is the same on every machine.
 */
import { fmix32, fnv1a, fnv1aByte } from '../util/hash.js';
import { expectInteger, expectPositiveInteger, invalidParameterError } from '../util/validate.js';

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

/** A shard given as `'i/N'` or `{ index, count }`, checked. */
export function resolveShard(value: ShardSpec | string): ShardSpec {
  if (typeof value === 'string') return parseShard(value);
  const count = expectPositiveInteger('shard.count', value?.count);
  return { index: expectInteger('shard.index', value.index, 0, count - 1), count };
}

export function formatShard(shard: ShardSpec): string {
  return `${shard.index}/${shard.count}`;
}

/** The shard (0..count-1) of the document at `line` of the input with this key. */
export function shardOf(key: string, line: number, count: number): number {
  if (count === 1) return 0;
  // FNV-1a over the key, a newline and the line's 7 low bytes, then murmur3's finaliser so that consecutive lines
  // spread evenly mod N.
  let hash = fnv1aByte(fnv1a(key), 0x0a);
  let rest = line;
  for (let i = 0; i < 7; i++) {
    hash = fnv1aByte(hash, rest & 0xff);
    rest = Math.floor(rest / 256);
  }
  return fmix32(hash) % count;
}

/** Whether this process scores the document at (key, line). */
export function inShard(shard: ShardSpec | undefined, key: string, line: number): boolean {
  return shard === undefined || shard.count === 1 || shardOf(key, line, shard.count) === shard.index;
}
