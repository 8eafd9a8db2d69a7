import { readFileSync } from 'node:fs';
import { InfopruneError, InvalidOptionError } from '../errors.js';
import { writeFileAtomic } from '../util/files.js';
import { fnv1a } from '../util/hash.js';
import { splitWords, WORD_BREAKER_ICU, WORD_DEFINITION_VERSION } from './words.js';

/**
 * Corpus word frequencies f for the paper's H(W,f), in bounded memory: words are hashed (FNV-1a, 32-bit) into a
 * fixed number of buckets, so the table is `buckets × 8` bytes (32 MiB by default) whatever the corpus size.
 * Distinct words that share a bucket share a count; with 2^22 buckets and a few million word types this inflates
 * only the rarest words' frequencies, and the error is documented in the README.
 *
 * File format (`<scores>.words.bin`): see `toBuffer`.
 */
/** A word's bucket in a table of `buckets` (a power of two): FNV-1a over its UTF-16 code units. */
export function wordBucket(word: string, buckets: number): number {
  return fnv1a(word) & (buckets - 1);
}

export class WordFrequencyTable {
  static readonly DEFAULT_BUCKETS = 1 << 22;
  static readonly FORMAT = 'infoprune-word-frequency';

  readonly counts: Float64Array;
  /** Total words counted (the sum of all counts). */
  total = 0;
  /** The word definition the words were split with (src/text/words.ts); 1 for tables from before the word breaker. */
  wordDefinition = WORD_DEFINITION_VERSION;
  /** The ICU version of the word breaker that split them (null: unknown). */
  icu: string | null = WORD_BREAKER_ICU;

  constructor(readonly buckets: number = WordFrequencyTable.DEFAULT_BUCKETS) {
    if (!Number.isInteger(buckets) || buckets < 1 || (buckets & (buckets - 1)) !== 0) {
      throw new InvalidOptionError(
        'buckets',
        (name) => `Expected power of two for ${name('buckets')} but received ${String(buckets)}`,
      );
    }
    this.counts = new Float64Array(buckets);
  }

  bucketOf(word: string): number {
    return wordBucket(word, this.buckets);
  }

  addWords(words: readonly string[]): void {
    for (const word of words) this.counts[this.bucketOf(word)]++;
    this.total += words.length;
  }

  /** Adds another table's counts (shards of one corpus, or a resumed run's earlier part). */
  merge(other: WordFrequencyTable): void {
    if (other.buckets !== this.buckets) {
      throw new Error(`Cannot merge word-frequency tables of ${other.buckets} and ${this.buckets} buckets`);
    }
    if (other.wordDefinition !== this.wordDefinition) {
      throw new InfopruneError(
        'SCORES_MISMATCH',
        `Cannot merge word-frequency tables counted with word definitions ${other.wordDefinition} and ${this.wordDefinition}: score them with one infoprune version`,
      );
    }
    for (let i = 0; i < this.buckets; i++) this.counts[i] += other.counts[i];
    this.total += other.total;
  }

  /**
   * ln f(word) = ln(c(word) / N), the word's relative frequency in the counted corpus. A word never counted (possible
   * only when ranking a corpus other than the one counted) is taken as half a count, so it gets a finite, very low
   * frequency instead of -Infinity. No smoothing mass is spread over the buckets: with 2^22 buckets that would
   * swamp the counts of any corpus under a few million words.
   */
  logFrequency(word: string): number {
    const count = this.counts[this.bucketOf(word)];
    return Math.log((count > 0 ? count : 0.5) / Math.max(this.total, 1));
  }

  /**
   * H(W,f) = -(1/n) Σ log2 f(w_i) in bits per word over the text's n words; 0 for a text without words.
   */
  wordEntropyBits(text: string): number {
    const words = splitWords(text);
    if (words.length === 0) return 0;
    let sum = 0;
    for (const word of words) sum += this.logFrequency(word);
    return -sum / words.length / Math.LN2;
  }

  /** Buckets holding a count. */
  occupiedBuckets(): number {
    let occupied = 0;
    for (let i = 0; i < this.buckets; i++) if (this.counts[i] !== 0) occupied++;
    return occupied;
  }

  /**
   * The file's bytes (version 2): a JSON header line, then the counts, sparse (the occupied buckets' indexes as
   * little-endian uint32, then their counts as float64) when that is smaller than dense (every bucket's float64
   * count), so the file is sized to the corpus: a few KiB for a small one, `buckets × 8` at most.
   */
  toBuffer(): Buffer {
    const occupied = this.occupiedBuckets();
    const sparse = occupied * 12 < this.buckets * 8;
    const header = JSON.stringify({
      format: WordFrequencyTable.FORMAT,
      version: 2,
      hash: 'fnv1a32',
      buckets: this.buckets,
      total: this.total,
      words: { definition: this.wordDefinition, icu: this.icu },
      encoding: sparse ? 'sparse' : 'dense',
      entries: sparse ? occupied : this.buckets,
    });
    const headerBytes = Buffer.from(`${header}\n`, 'utf8');
    if (!sparse) return Buffer.concat([headerBytes, bytesOf(this.counts)]);
    const indexes = new Uint32Array(occupied);
    const counts = new Float64Array(occupied);
    for (let i = 0, k = 0; i < this.buckets; i++) {
      if (this.counts[i] === 0) continue;
      indexes[k] = i;
      counts[k++] = this.counts[i];
    }
    return Buffer.concat([headerBytes, bytesOf(indexes), bytesOf(counts)]);
  }

  /** Writes atomically (temporary file, then rename). */
  save(path: string): void {
    writeFileAtomic(path, this.toBuffer());
  }

  /** Reads a table file: version 2 (sparse or dense), or version 1 (dense, written before the word breaker). */
  static fromBuffer(data: Buffer, sourceName = 'word-frequency table'): WordFrequencyTable {
    const newline = data.indexOf(0x0a);
    let header: TableHeader;
    try {
      header = JSON.parse(data.subarray(0, newline).toString('utf8'));
    } catch {
      throw new InfopruneError('SCORES_INVALID', `${sourceName} is not an infoprune word-frequency table (bad header)`);
    }
    if (header.format !== WordFrequencyTable.FORMAT || (header.version !== 1 && header.version !== 2)) {
      throw new InfopruneError(
        'SCORES_INVALID',
        `${sourceName} is not an infoprune word-frequency table (format ${String(header.format)}, version ${String(header.version)})`,
      );
    }
    const table = new WordFrequencyTable(Number(header.buckets));
    table.wordDefinition = header.version === 1 ? 1 : Number(header.words?.definition);
    table.icu = header.version === 1 ? null : (header.words?.icu ?? null);
    const body = data.subarray(newline + 1);
    const sparse = header.version === 2 && header.encoding === 'sparse';
    const entries = sparse ? Number(header.entries) : table.buckets;
    const expected = entries * (sparse ? 12 : 8);
    if (!Number.isInteger(entries) || entries < 0 || entries > table.buckets || body.byteLength !== expected) {
      throw new InfopruneError(
        'SCORES_INVALID',
        `${sourceName} is truncated or corrupt: expected ${expected} bytes of counts but found ${body.byteLength}`,
      );
    }
    // Copied into aligned typed arrays (the body's offset in the file is not aligned).
    if (!sparse) new Uint8Array(table.counts.buffer).set(body);
    else {
      const indexes = new Uint32Array(entries);
      const counts = new Float64Array(entries);
      new Uint8Array(indexes.buffer).set(body.subarray(0, entries * 4));
      new Uint8Array(counts.buffer).set(body.subarray(entries * 4));
      for (let k = 0; k < entries; k++) {
        if (indexes[k] >= table.buckets) {
          throw new InfopruneError('SCORES_INVALID', `${sourceName} is corrupt: bucket ${indexes[k]} out of range`);
        }
        table.counts[indexes[k]] = counts[k];
      }
    }
    table.total = Number(header.total);
    return table;
  }

  static load(path: string): WordFrequencyTable {
    return WordFrequencyTable.fromBuffer(readFileSync(path), path);
  }
}

interface TableHeader {
  format?: unknown;
  version?: unknown;
  buckets?: unknown;
  total?: unknown;
  words?: { definition?: unknown; icu?: string | null };
  encoding?: unknown;
  entries?: unknown;
}

function bytesOf(array: Uint32Array | Float64Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}
