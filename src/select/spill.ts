/**
 * Disk-backed per-document state for `infoprune prune`, so that memory stays bounded whatever the corpus size.
 *
 * - `SpillFile`: one fixed-size record of float64 fields per document, in corpus order (64 bytes a document: 6.4 GB
 *   of temporary disk for 100 million documents, in the output's temporary folder, deleted before the rename).
 *   Every later pass (cut search, output) reads it sequentially in chunks.
 * - `DuplicateIdFinder`: finds ids that occur twice without holding the ids. It keeps a 64-bit hash per id, in
 *   memory up to 2^20 ids and then in 64 partition files by the hash's top bits; at the end each partition is sorted
 *   and equal neighbours are candidate duplicates, which the caller confirms against the real ids (a 64-bit hash
 *   collision among 100 million ids has probability about 3·10⁻⁴, so confirmation is almost never needed for
 *   correct input). Memory: 8 MiB, then one partition (n/64 × 8 bytes: 12.5 MB at 100 million ids).
 */
import { closeSync, fstatSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { hash64, hashLow } from '../util/hash.js';

export const SPILL_FIELDS = {
  term0: 0,
  term1: 1,
  tokens: 2,
  bytes: 3,
  sourceIndex: 4,
  line: 5,
  randomKey: 6,
  /** The group's index (JoinResult.groups): a source, or a `groupField` value. */
  group: 7,
} as const;
export const SPILL_WIDTH = 8;
/** Records per read or write chunk. */
export const CHUNK_RECORDS = 1 << 13;

export class SpillFile {
  private fd: number;
  private buffer = new Float64Array(CHUNK_RECORDS * SPILL_WIDTH);
  private buffered = 0;
  count = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w+');
  }

  /** Starts over (the join restarted in another mode). */
  reset(): void {
    closeSync(this.fd);
    this.fd = openSync(this.path, 'w+');
    this.buffered = 0;
    this.count = 0;
  }

  append(
    term0: number,
    term1: number,
    tokens: number,
    bytes: number,
    sourceIndex: number,
    line: number,
    randomKey: number,
    group: number,
  ): void {
    const at = this.buffered * SPILL_WIDTH;
    const b = this.buffer;
    b[at] = term0;
    b[at + 1] = term1;
    b[at + 2] = tokens;
    b[at + 3] = bytes;
    b[at + 4] = sourceIndex;
    b[at + 5] = line;
    b[at + 6] = randomKey;
    b[at + 7] = group;
    this.count++;
    if (++this.buffered === CHUNK_RECORDS) this.flush();
  }

  flush(): void {
    if (this.buffered === 0) return;
    const bytes = new Uint8Array(this.buffer.buffer, 0, this.buffered * SPILL_WIDTH * 8);
    let written = 0;
    while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written, null);
    this.buffered = 0;
  }

  /** Calls `visit` with consecutive chunks of records (`count` records of SPILL_WIDTH fields), in corpus order. */
  scan(visit: (records: Float64Array, count: number, first: number) => void): void {
    this.flush();
    const reader = new SpillReader(this);
    let first = 0;
    for (;;) {
      const count = reader.next();
      if (count === 0) break;
      visit(reader.records, count, first);
      first += count;
    }
  }

  /** The file descriptor, for `SpillReader`. */
  get descriptor(): number {
    return this.fd;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
    rmSync(this.path, { force: true });
  }
}

/** Sequential chunked reading of a spill file, for passes that interleave it with another stream. */
export class SpillReader {
  readonly records = new Float64Array(CHUNK_RECORDS * SPILL_WIDTH);
  private position = 0;

  constructor(private readonly spill: SpillFile) {
    spill.flush();
  }

  /** Reads the next chunk into `records`; returns the number of records read (0 at the end). */
  next(): number {
    const bytes = new Uint8Array(this.records.buffer);
    let filled = 0;
    while (filled < bytes.length) {
      const read = readSync(this.spill.descriptor, bytes, filled, bytes.length - filled, this.position + filled);
      if (read === 0) break;
      filled += read;
    }
    this.position += filled;
    return Math.floor(filled / (SPILL_WIDTH * 8));
  }
}

const IN_MEMORY_IDS = 1 << 20;
const PARTITIONS = 64;
const PARTITION_BUFFER = 1 << 12;
const ID_HASH_SEED = 0x9e3779b9;

export class DuplicateIdFinder {
  private memory: Uint32Array | null;
  private inMemory = 0;
  private partitions: { fd: number; buffer: Uint32Array; used: number; path: string }[] | null = null;

  constructor(
    private readonly folder: string,
    /** Hashes held in memory before spilling to partition files (tests lower it). */
    private readonly memoryLimit = IN_MEMORY_IDS,
  ) {
    this.memory = new Uint32Array(memoryLimit * 2);
  }

  /** Whether the hashes went to partition files. */
  get spilled(): boolean {
    return this.partitions !== null;
  }

  /** The id's 64-bit hash as a bigint (for confirming candidates). */
  static hashOf(id: string): bigint {
    const high = hash64(id, ID_HASH_SEED);
    return (BigInt(high) << 32n) | BigInt(hashLow());
  }

  add(id: string): void {
    const high = hash64(id, ID_HASH_SEED);
    const low = hashLow();
    if (this.memory !== null) {
      if (this.inMemory < this.memoryLimit) {
        // Little-endian (checked in keys.ts): low word first reads back as (high << 32 | low) in a BigUint64Array.
        this.memory[this.inMemory * 2] = low;
        this.memory[this.inMemory * 2 + 1] = high;
        this.inMemory++;
        return;
      }
      this.spillToPartitions();
    }
    this.addToPartition(high, low);
  }

  private spillToPartitions(): void {
    this.partitions = Array.from({ length: PARTITIONS }, (_, i) => {
      const path = join(this.folder, `.ids-${i}.bin`);
      return { fd: openSync(path, 'w+'), buffer: new Uint32Array(PARTITION_BUFFER * 2), used: 0, path };
    });
    const memory = this.memory!;
    this.memory = null;
    for (let i = 0; i < this.inMemory; i++) this.addToPartition(memory[i * 2 + 1], memory[i * 2]);
  }

  private addToPartition(high: number, low: number): void {
    const partition = this.partitions![high >>> 26];
    partition.buffer[partition.used * 2] = low;
    partition.buffer[partition.used * 2 + 1] = high;
    if (++partition.used === PARTITION_BUFFER) this.flushPartition(partition);
  }

  private flushPartition(partition: { fd: number; buffer: Uint32Array; used: number }): void {
    const bytes = new Uint8Array(partition.buffer.buffer, 0, partition.used * 8);
    let written = 0;
    while (written < bytes.length) written += writeSync(partition.fd, bytes, written, bytes.length - written, null);
    partition.used = 0;
  }

  /** Hashes seen more than once: every duplicate id's hash, plus (rarely) colliding distinct ids. */
  candidates(): Set<bigint> {
    const found = new Set<bigint>();
    const scanSorted = (hashes: BigUint64Array): void => {
      hashes.sort();
      for (let i = 1; i < hashes.length; i++) if (hashes[i] === hashes[i - 1]) found.add(hashes[i]);
    };
    if (this.memory !== null) {
      scanSorted(new BigUint64Array(this.memory.buffer, 0, this.inMemory));
      return found;
    }
    for (const partition of this.partitions!) {
      this.flushPartition(partition);
      const size = fstatSync(partition.fd).size;
      const bytes = new Uint8Array(size);
      let filled = 0;
      while (filled < size) filled += readSync(partition.fd, bytes, filled, size - filled, filled);
      scanSorted(new BigUint64Array(bytes.buffer, 0, size / 8));
    }
    return found;
  }

  close(): void {
    for (const partition of this.partitions ?? []) {
      closeSync(partition.fd);
      rmSync(partition.path, { force: true });
    }
    this.partitions = null;
    this.memory = null;
  }
}
