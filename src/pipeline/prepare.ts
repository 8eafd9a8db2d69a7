/**
 * Step 2: a chunk of units (consecutive documents of one input) to parsed, tokenized documents with their word
 * buckets. Runs in the worker threads (prepare-worker.ts), or on the calling thread with `workers: 0`. The results are
 * packed into a few flat typed arrays so that a chunk crosses threads as a handful of transferred buffers.
 */

import { createHash } from 'node:crypto';
import { type ParseOptions, type ParseOutcome, parseCells, parseJsonLine, parseText } from '../corpus/parse.js';
import { type WordFrequencyTable, wordBucket } from '../text/word-frequency.js';
import { splitWords } from '../text/words.js';
import { HASH_WORDS } from './dedup.js';

export interface PrepareTask {
  /** How to parse the units: JSONL lines, text (lines or files), or Parquet cells. */
  format: 'jsonl' | 'text' | 'cells';
  count: number;
  /** jsonl, text: the units' bytes, concatenated; `ends[i]` is where unit i ends. */
  data?: Uint8Array;
  ends?: Uint32Array;
  /** cells: each unit's text and id cell. */
  texts?: unknown[];
  ids?: unknown[];
  parse: ParseOptions;
  /** Buckets of the word-frequency table the words are counted into. */
  wordBuckets: number;
}

export interface PreparedChunk {
  count: number;
  /** Why unit i is not a document, or null. */
  reasons: (string | null)[];
  /** Unit i's id field value, or null (then its id is `<source>:<line>`). */
  ids: (string | null)[];
  /** UTF-8 bytes of each text. */
  bytes: Float64Array;
  /** Document i's tokens are `tokens[tokenEnds[i-1] .. tokenEnds[i]]` (with tokenEnds[-1] = 0). */
  tokenEnds: Uint32Array;
  tokens: Int32Array;
  /** Document i's word buckets are `wordBuckets[wordEnds[i-1] .. wordEnds[i]]`; their number is its word count. */
  wordEnds: Uint32Array;
  wordBuckets: Uint32Array;
  /** Document i's content hash (the first 128 bits of its text's sha256) is `hashes[4i .. 4i + 4]`: what finds duplicates. */
  hashes: Uint32Array;
}

/** A growable typed array: amortised appends without a JS array of numbers in between. */
class Growable<T extends Int32Array | Uint32Array> {
  length = 0;
  constructor(
    private array: T,
    private readonly make: (size: number) => T,
  ) {}
  reserve(extra: number): T {
    if (this.length + extra > this.array.length) {
      const bigger = this.make(Math.max(this.array.length * 2, this.length + extra));
      bigger.set(this.array.subarray(0, this.length));
      this.array = bigger;
    }
    return this.array;
  }
  append(values: ArrayLike<number>): void {
    this.reserve(values.length).set(values, this.length);
    this.length += values.length;
  }
  /** The contents in an exactly sized buffer of their own (transferable without dragging spare capacity along). */
  take(): T {
    return this.array.length === this.length ? this.array : (this.array.slice(0, this.length) as T);
  }
}

/** The word-frequency buckets of a text's words, as `WordFrequencyTable.addWords` would count them. */
export function wordBucketsOf(text: string, buckets: number): Uint32Array {
  const words = splitWords(text);
  const out = new Uint32Array(words.length);
  for (let i = 0; i < words.length; i++) out[i] = wordBucket(words[i], buckets);
  return out;
}

/** Adds a document's word buckets (from `wordBucketsOf`) to the table. */
export function countWordBuckets(table: WordFrequencyTable, buckets: Uint32Array): void {
  const { counts } = table;
  for (let i = 0; i < buckets.length; i++) counts[buckets[i]]++;
  table.total += buckets.length;
}

export function prepareChunk(task: PrepareTask, tokenize: (text: string) => Int32Array): PreparedChunk {
  const { count } = task;
  const reasons: (string | null)[] = new Array(count).fill(null);
  const ids: (string | null)[] = new Array(count).fill(null);
  const bytes = new Float64Array(count);
  const tokenEnds = new Uint32Array(count);
  const wordEnds = new Uint32Array(count);
  const tokens = new Growable(new Int32Array(1024), (n) => new Int32Array(n));
  const words = new Growable(new Uint32Array(1024), (n) => new Uint32Array(n));
  const hashes = new Uint32Array(count * HASH_WORDS);
  for (let i = 0; i < count; i++) {
    let parsed: ParseOutcome;
    if (task.format === 'cells') parsed = parseCells(task.texts![i], task.ids![i], task.parse);
    else {
      const data = task.data!.subarray(i === 0 ? 0 : task.ends![i - 1], task.ends![i]);
      parsed = task.format === 'jsonl' ? parseJsonLine(data, task.parse) : parseText(data);
    }
    if ('reason' in parsed) reasons[i] = parsed.reason;
    else {
      ids[i] = parsed.id ?? null;
      bytes[i] = Buffer.byteLength(parsed.text, 'utf8');
      contentHash(parsed.text, hashes, i * HASH_WORDS);
      try {
        tokens.append(tokenize(parsed.text));
        words.append(wordBucketsOf(parsed.text, task.wordBuckets));
      } catch (error) {
        reasons[i] = `cannot tokenize: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    tokenEnds[i] = tokens.length;
    wordEnds[i] = words.length;
  }
  return { count, reasons, ids, bytes, tokenEnds, tokens: tokens.take(), wordEnds, wordBuckets: words.take(), hashes };
}

/** The first 128 bits of the text's sha256, as four little-endian words at `at` of `out`. */
export function contentHash(text: string, out: Uint32Array, at: number): void {
  const digest = createHash('sha256').update(text, 'utf8').digest();
  for (let w = 0; w < HASH_WORDS; w++) out[at + w] = digest.readUInt32LE(w * 4);
}
