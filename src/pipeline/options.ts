/**
 * The scoring pipeline's options: their types, defaults and validation, in one place. Every entry point (the API's
 * `scoreCorpus`, the file-writing `runScoreJob`, the CLI) validates here first, so a bad value fails at once with a
 * message naming the option, what was expected and what was received, before any file is opened or model loaded.
 */
import type { Scorer, ScorerOptions } from '../engine/types.js';
import { WordFrequencyTable } from '../text/word-frequency.js';
import {
  expectBoolean,
  expectInteger,
  expectOneOf,
  expectPositiveInteger,
  expectString,
  invalidParameterError,
} from '../validate.js';
import type { ReadCorpusOptions } from './corpus.js';
import type { InputFormat } from './inputs.js';
import type { ParseOptions } from './parse.js';
import { parseShard, type ShardSpec } from './shard.js';

export const DEFAULT_TEXT_FIELD = 'text';
export const DEFAULT_ID_FIELD = 'id';
/** Documents above this size are reported and skipped: they would hold tens of MB in every stage at once. */
export const DEFAULT_MAX_DOCUMENT_BYTES = 32 * 1024 * 1024;

/** Where worker threads get their tokenizer: a module exporting `exportName(modelPath) => Tokenizer`. */
export interface TokenizerModule {
  /** The module's URL (file: URL string); default: infoprune's engine. */
  url: string;
  /** Default `openTokenizer`. */
  exportName?: string;
}

/** How the input is read: the same options `readCorpus` takes. */
export interface ReadingOptions {
  /** Field holding the text (JSONL, Parquet). Default `text`. */
  textField?: string;
  /** Field holding the id. Default `id` when present, else `<source>:<line>`. */
  idField?: string;
  /** Plain text files: one document per file (default) or one per line. */
  textMode?: 'file' | 'line';
  /** Force the input format instead of telling it from file names. Default `auto`. */
  format?: InputFormat | 'auto';
  /** Documents longer than this many bytes are skipped (and reported). Default 32 MiB. */
  maxDocumentBytes?: number;
}

export interface ScoreCorpusOptions extends ReadingOptions {
  /** Files, folders and globs. */
  inputs: readonly string[];
  /** The GGUF model. Required, also with `scorer` (worker threads load its vocabulary to tokenize). */
  model: string;
  /** An open scorer to use instead of opening one (then contextSize ... gpuLayers must be left out). Not closed. */
  scorer?: Scorer;
  /** Where worker threads get their tokenizer. Default: the engine's `openTokenizer`. */
  tokenizerModule?: TokenizerModule;
  contextSize?: number;
  stride?: number;
  batchSize?: number;
  threads?: number;
  gpuLayers?: number | 'max';
  /** llama.cpp flash attention (the engine's default: off on CPU, on with GPU layers). */
  flashAttention?: boolean;
  /** Worker threads that parse, tokenize and count words; 0 does it on the calling thread. Default: cores - 1, 1 to 8. */
  workers?: number;
  /** Score only this shard of the documents: `{ index, count }` or `'i/N'`. */
  shard?: ShardSpec | string;
  /** Buckets of the word-frequency table (a power of two). Default 2^22 (32 MiB). */
  wordBuckets?: number;
  /** Print llama.cpp's log lines. */
  verbose?: boolean;
  signal?: AbortSignal;
}

export interface ResolvedReading extends ParseOptions {
  textMode: 'file' | 'line';
  format: InputFormat | 'auto';
  maxDocumentBytes: number;
}

export interface ResolvedScoreOptions {
  inputs: readonly string[];
  model: string;
  reading: ResolvedReading;
  scorer?: Scorer;
  tokenizerModule: TokenizerModule;
  engine: Omit<ScorerOptions, 'model'> & { verbose: boolean };
  workers: number;
  shard?: ShardSpec;
  wordBuckets: number;
  signal?: AbortSignal;
}

/** Text and id fields, text mode: the reading options `readCorpus` and the pipeline share. */
export function resolveReadOptions(options: ReadCorpusOptions & ReadingOptions): ResolvedReading {
  const textField =
    options.textField === undefined
      ? DEFAULT_TEXT_FIELD
      : expectString('textField', options.textField, { nonEmpty: true });
  const idField =
    options.idField === undefined ? DEFAULT_ID_FIELD : expectString('idField', options.idField, { nonEmpty: true });
  return {
    textField,
    idField,
    idFieldExplicit: options.idField !== undefined,
    textMode:
      options.textMode === undefined ? 'file' : expectOneOf('textMode', options.textMode, ['file', 'line'] as const),
    format:
      options.format === undefined
        ? 'auto'
        : expectOneOf('format', options.format, ['auto', 'jsonl', 'parquet', 'text'] as const),
    maxDocumentBytes:
      options.maxDocumentBytes === undefined
        ? DEFAULT_MAX_DOCUMENT_BYTES
        : expectPositiveInteger('maxDocumentBytes', options.maxDocumentBytes),
  };
}

export function defaultWorkerCount(cores: number): number {
  return Math.max(1, Math.min(8, cores - 1));
}

/** The engine module's URL, beside this one in both the TypeScript sources and dist/. */
export const ENGINE_MODULE_URL = new URL('../engine/index.js', import.meta.url).href;

export function resolveScoreOptions(options: ScoreCorpusOptions, cores: number): ResolvedScoreOptions {
  if (typeof options !== 'object' || options === null) throw invalidParameterError('options', 'object', options);
  if (!Array.isArray(options.inputs) || options.inputs.length === 0) {
    throw invalidParameterError('inputs', 'non-empty array of file, folder or glob strings', options.inputs);
  }
  options.inputs.forEach((input, i) => {
    expectString(`inputs[${i}]`, input, { nonEmpty: true });
  });
  const model = expectString('model', options.model, { nonEmpty: true });
  const engine = {
    contextSize:
      options.contextSize === undefined ? undefined : expectPositiveInteger('contextSize', options.contextSize),
    stride: options.stride === undefined ? undefined : expectPositiveInteger('stride', options.stride),
    batchSize: options.batchSize === undefined ? undefined : expectPositiveInteger('batchSize', options.batchSize),
    threads: options.threads === undefined ? undefined : expectPositiveInteger('threads', options.threads, 1024),
    gpuLayers:
      options.gpuLayers === undefined || options.gpuLayers === 'max'
        ? options.gpuLayers
        : expectInteger('gpuLayers', options.gpuLayers, 0),
    flashAttention:
      options.flashAttention === undefined ? undefined : expectBoolean('flashAttention', options.flashAttention),
    verbose: options.verbose === undefined ? false : expectBoolean('verbose', options.verbose),
  };
  if (engine.contextSize !== undefined && engine.stride !== undefined && engine.stride > engine.contextSize) {
    throw invalidParameterError('stride', `integer between 1 and contextSize (${engine.contextSize})`, engine.stride);
  }
  if (options.scorer !== undefined) {
    if (
      typeof options.scorer !== 'object' ||
      options.scorer === null ||
      typeof options.scorer.scoreTokens !== 'function'
    ) {
      throw invalidParameterError('scorer', 'a Scorer (from openScorer)', options.scorer);
    }
    for (const name of ['contextSize', 'stride', 'batchSize', 'threads', 'gpuLayers', 'flashAttention'] as const) {
      if (options[name] !== undefined) {
        throw new TypeError(
          `Expected no ${name} with scorer: the scorer's own options apply (received ${String(options[name])})`,
        );
      }
    }
  }
  let tokenizerModule: TokenizerModule = { url: ENGINE_MODULE_URL, exportName: 'openTokenizer' };
  if (options.tokenizerModule !== undefined) {
    const url = expectString('tokenizerModule.url', options.tokenizerModule?.url, { nonEmpty: true });
    tokenizerModule = { url, exportName: options.tokenizerModule.exportName ?? 'openTokenizer' };
  }
  let shard: ShardSpec | undefined;
  if (options.shard !== undefined) {
    if (typeof options.shard === 'string') shard = parseShard(options.shard);
    else {
      const count = expectPositiveInteger('shard.count', options.shard?.count);
      shard = { index: expectInteger('shard.index', options.shard.index, 0, count - 1), count };
    }
  }
  const wordBuckets = options.wordBuckets === undefined ? WordFrequencyTable.DEFAULT_BUCKETS : options.wordBuckets;
  if (
    !Number.isInteger(wordBuckets) ||
    wordBuckets < 1 ||
    wordBuckets > 2 ** 30 ||
    (wordBuckets & (wordBuckets - 1)) !== 0
  ) {
    throw invalidParameterError('wordBuckets', 'power of two between 1 and 2^30', options.wordBuckets);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw invalidParameterError('signal', 'AbortSignal', options.signal);
  }
  return {
    inputs: options.inputs,
    model,
    reading: resolveReadOptions(options),
    scorer: options.scorer,
    tokenizerModule,
    engine,
    workers:
      options.workers === undefined ? defaultWorkerCount(cores) : expectInteger('workers', options.workers, 0, 256),
    shard,
    wordBuckets,
    signal: options.signal,
  };
}
