/**
 * Remembered scores on disk: the run's own log of first occurrences (`<out>.dedup.partial`, so a resume knows what
 * was scored before it) and the cross-run cache (`--cache DIR`). Both hold fixed 48-byte entries:
 *
 *   0  content hash (16 bytes: the text's sha256, first 128 bits)   16 u32 UTF-8 bytes of the text
 *   20 u32 scored tokens   24 f64 nll (nats)   32 f64 sidecar offset (-1: none)   40 u32 0   44 u32 CRC-32 of 0–43
 *
 * little-endian. A cache folder holds one subfolder per scoring setup (model sha256, context, stride, flash
 * attention: what decides a text's values), named by its hash, with `key.json` saying what it is and one append-only
 * segment per writing process, so that concurrent runs (shards) never write the same file. A torn or corrupt entry
 * (a crash mid-write, a flipped bit) fails its CRC and is skipped.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { InfopruneError } from '../errors.js';
import { writeFileAtomic } from '../util/files.js';
import { AppendLog } from './append-log.js';
import { type DedupEntry, type DedupIndex, HASH_WORDS } from './dedup.js';
import type { ScoreSession } from './session.js';

export const ENTRY_BYTES = 48;
const CACHE_FORMAT = 'infoprune-score-cache';

/** Everything a text's score depends on besides the text. */
export interface CacheKey {
  modelSha256: string;
  contextSize: number;
  stride: number;
  flashAttention: boolean;
}

/** One entry's bytes. */
export function encodeEntry(hash: Uint32Array, at: number, bytes: number, entry: DedupEntry): Buffer {
  const data = Buffer.alloc(ENTRY_BYTES);
  for (let w = 0; w < HASH_WORDS; w++) data.writeUInt32LE(hash[at + w], w * 4);
  data.writeUInt32LE(bytes, 16);
  data.writeUInt32LE(entry.tokens, 20);
  data.writeDoubleLE(entry.nll, 24);
  data.writeDoubleLE(entry.sidecarOffset, 32);
  data.writeUInt32LE(crc32(data.subarray(0, 44)), 44);
  return data;
}

/**
 * Reads the entries of a log or segment into the index, in file order, streaming; returns how many were read and
 * how many skipped (corrupt, or a torn last entry). `limit` bytes at most (a log's checkpointed length).
 */
export function loadEntries(
  path: string,
  index: DedupIndex,
  limit = Number.POSITIVE_INFINITY,
): { read: number; skipped: number } {
  const fd = openSync(path, 'r');
  const chunk = Buffer.alloc(ENTRY_BYTES * 8192);
  const hash = new Uint32Array(HASH_WORDS);
  let position = 0;
  let read = 0;
  let skipped = 0;
  try {
    for (;;) {
      const want = Math.min(chunk.length, limit - position);
      if (want < ENTRY_BYTES) break;
      const got = readSync(fd, chunk, 0, want - (want % ENTRY_BYTES), position);
      if (got < ENTRY_BYTES) {
        if (got > 0) skipped++;
        break;
      }
      for (let at = 0; at + ENTRY_BYTES <= got; at += ENTRY_BYTES) {
        const entry = chunk.subarray(at, at + ENTRY_BYTES);
        if (entry.readUInt32LE(44) !== crc32(entry.subarray(0, 44))) {
          skipped++;
          continue;
        }
        for (let w = 0; w < HASH_WORDS; w++) hash[w] = entry.readUInt32LE(w * 4);
        index.restore(hash, 0, entry.readUInt32LE(16), {
          tokens: entry.readUInt32LE(20),
          nll: entry.readDoubleLE(24),
          sidecarOffset: entry.readDoubleLE(32),
        });
        read++;
      }
      if (got % ENTRY_BYTES !== 0) skipped++;
      position += got - (got % ENTRY_BYTES);
      if (got < want - (want % ENTRY_BYTES)) break;
    }
  } finally {
    closeSync(fd);
  }
  return { read, skipped };
}

/** The cache folder of one scoring setup: its entries read into an index, new ones appended to this run's segment. */
export class ScoreCache {
  private segment: AppendLog | undefined;

  private constructor(readonly folder: string) {}

  /** Opens (creating) the setup's folder under `root`. */
  static open(root: string, key: CacheKey): ScoreCache {
    const id = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
    const folder = join(root, id);
    try {
      mkdirSync(folder, { recursive: true });
    } catch (error) {
      throw new InfopruneError(
        'OUTPUT_NOT_WRITABLE',
        (name) => `Cannot use the cache ${root} (${name('cache')}): ${(error as Error).message}`,
      );
    }
    const keyPath = join(folder, 'key.json');
    if (!existsSync(keyPath)) {
      writeFileAtomic(keyPath, `${JSON.stringify({ format: CACHE_FORMAT, version: 1, ...key }, null, 2)}\n`);
    }
    return new ScoreCache(folder);
  }

  /** Every segment's entries into the index; returns the entries read and those skipped as corrupt. */
  load(index: DedupIndex): { read: number; skipped: number } {
    const total = { read: 0, skipped: 0 };
    for (const name of readdirSync(this.folder).sort()) {
      if (!name.endsWith('.bin')) continue;
      const { read, skipped } = loadEntries(join(this.folder, name), index);
      total.read += read;
      total.skipped += skipped;
    }
    return total;
  }

  /** Remembers a newly scored text (in this process's own segment, created on first use). */
  append(entry: Buffer): void {
    this.segment ??= AppendLog.create(
      join(this.folder, `${hostname().replace(/[^\w.-]/g, '_')}-${process.pid}-${Date.now()}.bin`),
    );
    this.segment.append(entry);
  }

  /** Makes what was appended durable (at a run's checkpoints and end). */
  sync(): void {
    this.segment?.sync();
  }

  close(): void {
    this.segment?.close();
  }
}

/**
 * The cache of scores from earlier runs with this session's setup (model, context, stride, flash attention), read
 * into its dedup index so that texts they scored are not scored again; the session's new texts are added to it.
 * Cached scores carry no token log-probabilities: a session that wants them only adds to the cache.
 */
export function openScoreCache(
  session: Pick<ScoreSession, 'options' | 'dedup' | 'scorer'>,
  modelSha256: string,
  notice: (message: string) => void,
): ScoreCache | undefined {
  const root = session.options.cache;
  if (root === undefined) return undefined;
  if (session.dedup === undefined) {
    notice(`The cache ${root} is not used: deduplication is off (dedupEntries 0)`);
    return undefined;
  }
  const { contextSize, stride, flashAttention } = session.scorer.options;
  const cache = ScoreCache.open(root, { modelSha256, contextSize, stride, flashAttention });
  if (session.options.tokenLogprobs) {
    notice(`Cache ${cache.folder}: not read (cached scores have no token log-probabilities), only added to`);
    return cache;
  }
  const { read, skipped } = cache.load(session.dedup);
  notice(
    `Cache ${cache.folder}: ${read} scored texts read${skipped > 0 ? `, ${skipped} corrupt entries skipped` : ''}`,
  );
  return cache;
}
