import { readFileSync } from 'node:fs';
import { InfopruneError, InvalidOptionError } from '../errors.js';
import { writeFileAtomic } from '../util/files.js';
import { fnv1a } from '../util/hash.js';
import { splitWords } from './words.js';

/**
 * Corpus word frequencies f for the paper's H(W,f), in bounded memory: words are hashed (FNV-1a, 32-bit) into a
 * fixed number of buckets, so the table is `buckets × 8` bytes (32 MiB by default) whatever the corpus size.
 * Distinct words that share a bucket share a count; with 2^22 buckets and a few million word types this inflates
 * only the rarest words' frequencies, and the error is documented in the README.
 *
 * File format (`<scores>.words.bin`): one JSON header line (`{"format":"infoprune-word-frequency","version":1,...}`)
 * then `buckets` little-endian float64 counts.
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

  toBuffer(): Buffer {
    const header = JSON.stringify({
      format: WordFrequencyTable.FORMAT,
      version: 1,
      hash: 'fnv1a32',
      buckets: this.buckets,
      total: this.total,
    });
    const headerBytes = Buffer.from(`${header}\n`, 'utf8');
    const body = Buffer.from(this.counts.buffer, this.counts.byteOffset, this.counts.byteLength);
    return Buffer.concat([headerBytes, body]);
  }

  /** Writes atomically (temporary file, then rename). */
  save(path: string): void {
    writeFileAtomic(path, this.toBuffer());
  }

  static fromBuffer(data: Buffer, sourceName = 'word-frequency table'): WordFrequencyTable {
    const newline = data.indexOf(0x0a);
    let header: { format?: unknown; version?: unknown; buckets?: unknown; total?: unknown };
    try {
      header = JSON.parse(data.subarray(0, newline).toString('utf8'));
    } catch {
      throw new InfopruneError('SCORES_INVALID', `${sourceName} is not an infoprune word-frequency table (bad header)`);
    }
    if (header.format !== WordFrequencyTable.FORMAT || header.version !== 1) {
      throw new InfopruneError(
        'SCORES_INVALID',
        `${sourceName} is not an infoprune word-frequency table (format ${String(header.format)})`,
      );
    }
    const table = new WordFrequencyTable(Number(header.buckets));
    const body = data.subarray(newline + 1);
    if (body.byteLength !== table.buckets * 8) {
      throw new InfopruneError(
        'SCORES_INVALID',
        `${sourceName} is truncated: expected ${table.buckets * 8} bytes of counts but found ${body.byteLength}`,
      );
    }
    // Copy into the aligned Float64Array (the body's offset in the file is not 8-byte aligned).
    new Uint8Array(table.counts.buffer).set(body);
    table.total = Number(header.total);
    return table;
  }

  static load(path: string): WordFrequencyTable {
    return WordFrequencyTable.fromBuffer(readFileSync(path), path);
  }
}
