/**
 * The scoring pipeline's options (`scoreCorpus`, and `runScoreJob` on top): their types, their defaults in one
 * literal, and one resolver that runs once per call, before any file is opened or model loaded. Reading options are
 * the corpus layer's (`resolveReadingOptions`) and engine options the engine's (`resolveScorerOptions`): each layer
 * checks its own, once.
 */
import { type ReadingOptions, type ResolvedReading, resolveReadingOptions } from '../corpus/options.js';
import { resolveShard, type ShardSpec } from '../corpus/shard.js';
import { resolveScorerOptions, type ScorerRequest } from '../engine/options.js';
import type { Scorer, ScorerOptions } from '../engine/types.js';
import { InvalidOptionError } from '../errors.js';
import { WordFrequencyTable } from '../text/word-frequency.js';
import { expectBoolean, expectInteger, expectSignal, expectString, invalidParameterError } from '../util/validate.js';

/** Every pipeline default (the CLI's help shows these). */
export const SCORE_DEFAULTS = Object.freeze({
  /** Buckets of the word-frequency table: 2^22 (32 MiB). */
  wordBuckets: WordFrequencyTable.DEFAULT_BUCKETS,
  /**
   * Tokenizer worker threads share the usable cores with the engine's decode threads (together never more than the
   * cores: llama.cpp's threads spin, so oversubscription is 10-40x slower): a quarter of the cores, 1 to 8, none on
   * a single core (then the calling thread tokenizes); the decode threads get the rest.
   */
  minWorkers: 1,
  maxWorkers: 8,
  progressIntervalMs: 1000,
  /**
   * Distinct texts the dedup index remembers (exact duplicates of them are not scored again): 2^21, about 170 MiB
   * at most; the index grows with the texts seen. 0 turns deduplication off.
   */
  dedupEntries: 1 << 21,
});

/**
 * Where worker threads get their tokenizer: a module exporting `exportName(modelPath) => Tokenizer` (the workers call
 * only its `tokenizeSync`).
 */
export interface TokenizerModule {
  /** The module's URL (file: URL string); default: infoprune's engine. */
  url: string;
  /** Default `openTokenizer`. */
  exportName?: string;
}

/** The engine's options a pipeline passes on (everything but the model, which the pipeline needs too). */
type EngineOptions = Omit<ScorerOptions, 'model' | 'maxSequences'>;

export interface ScoreCorpusOptions extends ReadingOptions, EngineOptions {
  /** Files, folders and globs. */
  inputs: readonly string[];
  /** The GGUF model. Required, also with `scorer` (worker threads load its vocabulary to tokenize). */
  model: string;
  /** An open scorer to use instead of opening one (then contextSize ... gpuLayers must be left out). Not closed. */
  scorer?: Scorer;
  /** Where worker threads get their tokenizer. Default: the engine's `openTokenizer`. */
  tokenizerModule?: TokenizerModule;
  /**
   * Worker threads that parse, tokenize and count words; 0 does it on the calling thread. Default: a quarter of the
   * usable cores (1 to 8; 0 on one core), and with `threads` given, no more than the cores it leaves.
   */
  workers?: number;
  /** Score only this shard of the documents: `{ index, count }` or `'i/N'`. */
  shard?: ShardSpec | string;
  /** Buckets of the word-frequency table (a power of two). Default 2^22 (32 MiB). */
  wordBuckets?: number;
  /** Distinct texts remembered for reusing exact duplicates' scores; 0: score every document. Default 2^21. */
  dedupEntries?: number;
  /**
   * A folder of scores remembered across runs, keyed by model sha256, context, stride and flash attention: texts
   * scored by an earlier run with the same setup are not scored again.
   */
  cache?: string;
  /** Also compute every scored token's log-probability (the `tokenLogprobs` sidecar, or `logprobs` on records). */
  tokenLogprobs?: boolean;
  signal?: AbortSignal;
}

export interface ResolvedScoreOptions {
  inputs: readonly string[];
  model: string;
  reading: ResolvedReading;
  /** The scorer to use, or the engine options to open one with. */
  scorer?: Scorer;
  engine?: ScorerRequest;
  tokenizerModule: TokenizerModule;
  workers: number;
  shard?: ShardSpec;
  wordBuckets: number;
  dedupEntries: number;
  cache?: string;
  tokenLogprobs: boolean;
  signal?: AbortSignal;
}

/** The engine's tokenizer module, beside this one in both the TypeScript sources and dist/. */
export const ENGINE_TOKENIZER_URL = new URL('../engine/tokenizer.js', import.meta.url).href;

const ENGINE_OPTION_NAMES = [
  'contextSize',
  'stride',
  'batchSize',
  'threads',
  'forceThreads',
  'gpuLayers',
  'flashAttention',
] as const;

/** Tokenizer workers by default on `cores` usable cores (see SCORE_DEFAULTS). */
export function defaultWorkerCount(cores: number): number {
  if (cores <= 1) return 0;
  return Math.max(SCORE_DEFAULTS.minWorkers, Math.min(SCORE_DEFAULTS.maxWorkers, Math.floor(cores / 4)));
}

/**
 * Decode threads and tokenizer workers, each as given or by default, so that together they fit the usable cores:
 * the workers' default leaves the given threads their cores, the threads' default leaves the workers theirs.
 */
export function splitCores(
  cores: number,
  threads: number | undefined,
  workers: number | undefined,
): { threads?: number; workers: number } {
  if (workers === undefined) {
    const fitting = threads === undefined ? defaultWorkerCount(cores) : Math.max(0, cores - threads);
    workers = Math.min(defaultWorkerCount(cores), fitting);
  }
  return { threads: threads ?? Math.max(1, cores - workers), workers };
}

/** Defaults applied and every option checked, in the order a caller reads them. */
export function resolveScoreOptions(options: ScoreCorpusOptions, cores: number): ResolvedScoreOptions {
  if (typeof options !== 'object' || options === null) throw invalidParameterError('options', 'object', options);
  const inputs = resolveInputs(options.inputs);
  const model = expectString('model', options.model, { nonEmpty: true });
  const reading = resolveReadingOptions(options);
  const workersGiven = options.workers === undefined ? undefined : expectInteger('workers', options.workers, 0, 256);
  // With a scorer given, its threads are its own: the workers default as if it used the cores left.
  const threadsGiven = options.scorer === undefined ? options.threads : options.scorer?.options?.threads;
  const split = splitCores(cores, typeof threadsGiven === 'number' ? threadsGiven : undefined, workersGiven);
  const { scorer, engine } = resolveEngine(
    options.scorer === undefined && options.threads === undefined ? { ...options, threads: split.threads } : options,
  );
  return {
    inputs,
    model,
    reading,
    scorer,
    engine,
    tokenizerModule: resolveTokenizerModule(options.tokenizerModule),
    workers: split.workers,
    shard: options.shard === undefined ? undefined : resolveShard(options.shard),
    wordBuckets: resolveWordBuckets(options.wordBuckets),
    dedupEntries:
      options.dedupEntries === undefined
        ? SCORE_DEFAULTS.dedupEntries
        : expectInteger('dedupEntries', options.dedupEntries, 0, 2 ** 28),
    cache: options.cache === undefined ? undefined : expectString('cache', options.cache, { nonEmpty: true }),
    tokenLogprobs: options.tokenLogprobs === undefined ? false : expectBoolean('tokenLogprobs', options.tokenLogprobs),
    signal: expectSignal('signal', options.signal),
  };
}

function resolveInputs(inputs: unknown): readonly string[] {
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw invalidParameterError('inputs', 'non-empty array of file, folder or glob strings', inputs);
  }
  for (let i = 0; i < inputs.length; i++) expectString(`inputs[${i}]`, inputs[i], { nonEmpty: true });
  return inputs;
}

/** A given scorer (then no engine option), or the engine's own resolution of the engine options. */
function resolveEngine(options: ScoreCorpusOptions): { scorer?: Scorer; engine?: ScorerRequest } {
  if (options.scorer === undefined) {
    const { model, contextSize, stride, batchSize, threads, forceThreads, gpuLayers, flashAttention, verbose } =
      options;
    return {
      engine: resolveScorerOptions({
        model,
        contextSize,
        stride,
        batchSize,
        threads,
        forceThreads,
        gpuLayers,
        flashAttention,
        verbose,
      }),
    };
  }
  if (
    typeof options.scorer !== 'object' ||
    options.scorer === null ||
    typeof options.scorer.scoreTokens !== 'function'
  ) {
    throw invalidParameterError('scorer', 'a Scorer (from openScorer)', options.scorer);
  }
  for (const option of ENGINE_OPTION_NAMES) {
    if (options[option] !== undefined) {
      throw new InvalidOptionError(
        option,
        (name) =>
          `Expected no ${name(option)} with ${name('scorer')}: the scorer's own options apply (received ${String(options[option])})`,
      );
    }
  }
  return { scorer: options.scorer };
}

function resolveTokenizerModule(module: TokenizerModule | undefined): TokenizerModule {
  if (module === undefined) return { url: ENGINE_TOKENIZER_URL, exportName: 'openTokenizer' };
  const url = expectString('tokenizerModule.url', module?.url, { nonEmpty: true });
  return { url, exportName: module.exportName ?? 'openTokenizer' };
}

function resolveWordBuckets(value: number | undefined): number {
  const buckets = value ?? SCORE_DEFAULTS.wordBuckets;
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > 2 ** 30 || (buckets & (buckets - 1)) !== 0) {
    throw invalidParameterError('wordBuckets', 'power of two between 1 and 2^30', value);
  }
  return buckets;
}
