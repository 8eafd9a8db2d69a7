/**
 * The main thread's side of step 2: groups units into chunks, hands them to the worker pool (or prepares them in
 * place with `workers: 0`) with a bounded number in flight, and gives back the documents in input order.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { InputFile } from '../corpus/inputs.js';
import type { ParseOptions } from '../corpus/parse.js';
import { positionId } from '../corpus/parse.js';
import type { ReadPosition, Unit } from '../corpus/units.js';
import { HASH_WORDS } from './dedup.js';
import type { TokenizerModule } from './options.js';
import { flatten, mapOrdered } from './ordered.js';
import { type PreparedChunk, type PrepareTask, prepareChunk } from './prepare.js';
import type { PrepareMessage } from './prepare-worker.js';

/** A document ready to score, or a position that is not one (with the reason). */
export interface PreparedDocument {
  input: number;
  source: string;
  line: number;
  next: ReadPosition;
  /** Bytes of its input file read up to it (for progress by input bytes). */
  inputBytes: number;
  id: string;
  /** Set when this position is not scored: why, and whether it was a document (else a file's fault). */
  failure?: { reason: string; document: boolean };
  tokens: Int32Array;
  bytes: number;
  /** The word-frequency buckets of its words (their number is its word count). */
  wordBuckets: Uint32Array;
  /** Its text's content hash (HASH_WORDS words; empty for positions that are not documents). */
  hash: Uint32Array;
  /** The position's bytes as read (JSONL and text; with `keepRaw`): for writing the record back out annotated. */
  raw?: Uint8Array;
}

export interface PreparerOptions {
  inputs: readonly InputFile[];
  parse: ParseOptions;
  wordBuckets: number;
  /** Worker threads; 0 prepares on the calling thread with `tokenize`. */
  workers: number;
  tokenizerModule: TokenizerModule;
  model: string;
  /** The calling thread's tokenizer, for `workers: 0`. */
  tokenize: (text: string) => Int32Array;
  /** Keep each unit's bytes on its document (`raw`). */
  keepRaw?: boolean;
  signal?: AbortSignal;
}

/** A chunk closes at this many bytes or units (or at the end of its input): big enough to amortise a message. */
const CHUNK_BYTES = 1 << 20;
const CHUNK_UNITS = 512;

const EMPTY_TOKENS = new Int32Array(0);
const EMPTY_BUCKETS = new Uint32Array(0);
const EMPTY_HASH = new Uint32Array(0);

interface UnitChunk {
  input: number;
  units: Unit[];
}

/** The compiled worker: beside this module in dist/, or (when the TypeScript sources run, as in tests) in dist/. */
export function resolveWorkerFile(): string {
  const beside = fileURLToPath(new URL('./prepare-worker.js', import.meta.url));
  if (existsSync(beside)) return beside;
  const compiled = fileURLToPath(new URL('../../dist/src/pipeline/prepare-worker.js', import.meta.url));
  if (existsSync(compiled)) return compiled;
  throw new Error(
    `The pipeline's worker is not compiled (looked for ${beside} and ${compiled}): run npx tsc -p tsconfig.json`,
  );
}

export class DocumentPreparer {
  private readonly pool: Piscina | undefined;

  constructor(private readonly options: PreparerOptions) {
    if (options.workers > 0) {
      this.pool = new Piscina({
        filename: resolveWorkerFile(),
        minThreads: options.workers,
        maxThreads: options.workers,
        // Threads stay for the whole run: each holds a loaded vocabulary.
        idleTimeout: 60_000,
      });
    }
  }

  /** Prepared documents in input order, with at most (workers × 2) chunks in flight. */
  prepare(units: AsyncIterable<Unit>): AsyncGenerator<PreparedDocument> {
    const inFlight = Math.max(2, this.options.workers * 2);
    return flatten(mapOrdered(chunkUnits(units), inFlight, (chunk) => this.prepareChunk(chunk)));
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }

  private async prepareChunk(chunk: UnitChunk): Promise<PreparedDocument[]> {
    const input = this.options.inputs[chunk.input];
    const task = buildTask(chunk, input, this.options);
    let prepared: PreparedChunk | undefined;
    if (task.count > 0) {
      if (this.pool) {
        const transferList = task.data ? [task.data.buffer as ArrayBuffer, task.ends!.buffer as ArrayBuffer] : [];
        const message: PrepareMessage = { task, tokenizer: this.options.tokenizerModule, model: this.options.model };
        prepared = (await this.pool.run(message, { transferList, signal: this.options.signal })) as PreparedChunk;
      } else {
        prepared = prepareChunk(task, this.options.tokenize);
      }
    }
    return zip(chunk, input.source, prepared, this.options.keepRaw === true);
  }
}

/** Consecutive units of one input, up to CHUNK_BYTES or CHUNK_UNITS. */
async function* chunkUnits(units: AsyncIterable<Unit>): AsyncGenerator<UnitChunk> {
  let chunk: UnitChunk | undefined;
  let bytes = 0;
  for await (const unit of units) {
    if (chunk && chunk.input !== unit.input) {
      yield chunk;
      chunk = undefined;
    }
    if (!chunk) {
      chunk = { input: unit.input, units: [] };
      bytes = 0;
    }
    chunk.units.push(unit);
    bytes +=
      unit.kind === 'bytes'
        ? unit.data.length
        : unit.kind === 'cells' && typeof unit.text === 'string'
          ? unit.text.length
          : 0;
    if (bytes >= CHUNK_BYTES || chunk.units.length >= CHUNK_UNITS) {
      yield chunk;
      chunk = undefined;
    }
  }
  if (chunk) yield chunk;
}

/**
 * The worker's task for a chunk's readable units. Their bytes are copied into one buffer of their own: it is
 * transferred, not cloned (a cloned view would copy the whole 1 MiB read buffer it points into).
 */
function buildTask(chunk: UnitChunk, input: InputFile, options: PreparerOptions): PrepareTask {
  const readable = chunk.units.filter((unit) => unit.kind !== 'failed');
  const base = { count: readable.length, parse: options.parse, wordBuckets: options.wordBuckets };
  if (input.format === 'parquet') {
    return {
      ...base,
      format: 'cells',
      texts: readable.map((unit) => (unit.kind === 'cells' ? unit.text : undefined)),
      ids: readable.map((unit) => (unit.kind === 'cells' ? unit.id : undefined)),
    };
  }
  let total = 0;
  for (const unit of readable) if (unit.kind === 'bytes') total += unit.data.length;
  const data = new Uint8Array(total);
  const ends = new Uint32Array(readable.length);
  let at = 0;
  readable.forEach((unit, i) => {
    if (unit.kind === 'bytes') {
      data.set(unit.data, at);
      at += unit.data.length;
    }
    ends[i] = at;
  });
  return { ...base, format: input.format === 'jsonl' ? 'jsonl' : 'text', data, ends };
}

/** The chunk's units with their prepared results, failed units in their places. */
function zip(
  chunk: UnitChunk,
  source: string,
  prepared: PreparedChunk | undefined,
  keepRaw: boolean,
): PreparedDocument[] {
  const documents: PreparedDocument[] = [];
  let k = 0; // index among the readable units (the prepared results)
  for (const unit of chunk.units) {
    const base = {
      input: unit.input,
      source,
      line: unit.line,
      next: unit.next,
      inputBytes: unit.inputBytes,
      id: positionId(source, unit.line),
      ...(keepRaw && unit.kind === 'bytes' ? { raw: unit.data } : {}),
    };
    if (unit.kind === 'failed') {
      documents.push({
        ...base,
        failure: { reason: unit.reason, document: unit.document },
        tokens: EMPTY_TOKENS,
        bytes: 0,
        wordBuckets: EMPTY_BUCKETS,
        hash: EMPTY_HASH,
      });
      continue;
    }
    const p = prepared!;
    const reason = p.reasons[k];
    const id = p.ids[k] ?? base.id;
    if (reason !== null) {
      documents.push({
        ...base,
        id,
        failure: { reason, document: true },
        tokens: EMPTY_TOKENS,
        bytes: 0,
        wordBuckets: EMPTY_BUCKETS,
        hash: EMPTY_HASH,
      });
    } else {
      documents.push({
        ...base,
        id,
        tokens: p.tokens.subarray(k === 0 ? 0 : p.tokenEnds[k - 1], p.tokenEnds[k]),
        bytes: p.bytes[k],
        wordBuckets: p.wordBuckets.subarray(k === 0 ? 0 : p.wordEnds[k - 1], p.wordEnds[k]),
        hash: p.hashes.subarray(k * HASH_WORDS, (k + 1) * HASH_WORDS),
      });
    }
    k++;
  }
  return documents;
}
