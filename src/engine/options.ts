/**
 * The scorer's options, resolved once in better-sqlite3's order: apply defaults and check what needs no model
 * (`resolveScorerOptions`), interpret (`'max'` GPU layers), then check the values against the bounds the model sets
 * (`fitToModel`: its training context and vocabulary), first from the GGUF header, before llama.cpp loads anything,
 * then from what llama.cpp reports. Only fitted values reach the native layer.
 */
import { InvalidOptionError } from '../errors.js';
import { usableCores } from '../util/cores.js';
import {
  describeValue,
  expectBoolean,
  expectInteger,
  expectKnownOptions,
  expectObject,
  expectPositiveInteger,
  expectString,
  invalidParameterError,
} from '../util/validate.js';
import type { NativeContextOptions } from './native.js';
import type { ScorerOptions } from './types.js';

/** llama.cpp's most sequences per context (LLAMA_MAX_SEQ). */
export const MAX_SEQUENCES = 256;

/** Every scorer default, in one literal (the CLI's help shows these). */
export const SCORER_DEFAULTS = Object.freeze({
  /** Tokens per evaluation window; at most the model's training context. */
  contextSize: 512,
  /** Tokens per decode on a CPU, and with GPU layers (at least contextSize; see `defaultBatchSize`). */
  cpuBatchSize: 512,
  gpuBatchSize: 2048,
  /** Cap on the logits llama.cpp holds (2 × batchSize × vocabulary × 4 bytes) when choosing the batch size. */
  logitsBudgetBytes: 512 * 1024 * 1024,
  /** Tokens of batch per window when choosing maxSequences (see `defaultMaxSequences`) ... */
  tokensPerSequence: 64,
  /** ... and the most KV cells the default lets the cache hold, in batches (each window a stream of contextSize). */
  cacheBatches: 8,
  /** Decode threads: the cores this process may use (affinity and cgroup quota); more only with forceThreads. */
  maxThreads: 1024,
  gpuLayers: 0,
  verbose: false,
  /** Largest batch accepted. */
  maxBatchSize: 1 << 20,
});

/** Every option `openScorer` takes: any other is refused by name. */
export const SCORER_OPTION_NAMES = [
  'model',
  'contextSize',
  'stride',
  'batchSize',
  'maxSequences',
  'threads',
  'forceThreads',
  'gpuLayers',
  'flashAttention',
  'verbose',
] as const satisfies readonly (keyof ScorerOptions)[];

/** The options checked without the model: defaults applied where they need none. */
export interface ScorerRequest {
  model: string;
  contextSize?: number;
  stride?: number;
  batchSize?: number;
  maxSequences?: number;
  threads: number;
  /** Layers offloaded to the GPU; -1 for all (`'max'`). */
  gpuLayers: number;
  flashAttention?: boolean;
  verbose: boolean;
}

/** What bounds the options: the model's training context and vocabulary. */
export interface ModelBounds {
  trainingContextSize: number;
  vocabularySize: number;
}

/** Defaults that need no model, and every check that needs no model: a bad value fails before anything is read. */
export function resolveScorerOptions(options: ScorerOptions): ScorerRequest {
  expectObject('options', options);
  expectKnownOptions(options, SCORER_OPTION_NAMES, 'openScorer');
  const model = expectString('model', options.model, { nonEmpty: true });
  const contextSize =
    options.contextSize === undefined ? undefined : expectInteger('contextSize', options.contextSize, 2);
  const stride =
    options.stride === undefined
      ? undefined
      : contextSize === undefined
        ? expectPositiveInteger('stride', options.stride)
        : expectInteger('stride', options.stride, 1, contextSize - 1);
  const batchSize =
    options.batchSize === undefined
      ? undefined
      : contextSize === undefined
        ? expectPositiveInteger('batchSize', options.batchSize)
        : expectInteger('batchSize', options.batchSize, contextSize, SCORER_DEFAULTS.maxBatchSize);
  const maxSequences =
    options.maxSequences === undefined
      ? undefined
      : expectInteger('maxSequences', options.maxSequences, 1, Math.min(MAX_SEQUENCES, batchSize ?? MAX_SEQUENCES));
  return {
    model,
    contextSize,
    stride,
    batchSize,
    maxSequences,
    threads: resolveThreads(options.threads, options.forceThreads),
    gpuLayers: resolveGpuLayers(options.gpuLayers),
    flashAttention:
      options.flashAttention === undefined ? undefined : expectBoolean('flashAttention', options.flashAttention),
    verbose: options.verbose === undefined ? SCORER_DEFAULTS.verbose : expectBoolean('verbose', options.verbose),
  };
}

/**
 * Decode threads: by default the cores this process may use; more only when forced, because llama.cpp's threads
 * spin while they wait for each other and a run with more threads than cores is 10-40x slower.
 */
export function resolveThreads(value: unknown, force: unknown, cores = usableCores()): number {
  const forced = force === undefined ? false : expectBoolean('forceThreads', force);
  if (value === undefined) return cores;
  const threads = expectInteger('threads', value, 1, SCORER_DEFAULTS.maxThreads);
  if (threads > cores && !forced) {
    const expected = `integer between 1 and ${cores}`;
    throw new InvalidOptionError(
      'threads',
      (name) =>
        `Expected ${expected} for ${name('threads')} but received ${describeValue(value)}: this process may use ` +
        `${cores} CPU core${cores === 1 ? '' : 's'} (affinity and cgroup quota), and more threads than cores make ` +
        `llama.cpp many times slower (set ${name('forceThreads')} to use them anyway)`,
      { expected, received: value },
    );
  }
  return threads;
}

function resolveGpuLayers(value: unknown): number {
  if (value === undefined) return SCORER_DEFAULTS.gpuLayers;
  if (value === 'max') return -1; // llama.cpp: negative = every layer
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidParameterError('gpuLayers', "non-negative integer or 'max'", value);
  }
  return value;
}

/**
 * Vocabulary-sized float rows llama.cpp holds per token of batch: its output buffer, and the graph's logits tensor in
 * its compute buffer (reserved for a full batch of outputs); docs/benchmarks.md, "Logits on the backend", measured
 * both.
 */
const LOGITS_COPIES = 2;

/**
 * Tokens per decode. A token attends over its own window's KV stream only, so its cost does not grow with the
 * batch; on a CPU a larger batch measured no faster (docs/benchmarks.md) and holds more logits, so 512 stays. GPUs
 * want larger batches to fill the device. Either way the logits (`LOGITS_COPIES` × batch × vocabulary × 4 bytes)
 * stay under 512 MiB, and a window must fit.
 */
export function defaultBatchSize(contextSize: number, vocabularySize: number, gpuLayers: number): number {
  const preferred = gpuLayers !== 0 ? SCORER_DEFAULTS.gpuBatchSize : SCORER_DEFAULTS.cpuBatchSize;
  const logitsRows = Math.floor(SCORER_DEFAULTS.logitsBudgetBytes / (LOGITS_COPIES * 4 * vocabularySize));
  return Math.max(contextSize, Math.min(preferred, logitsRows));
}

/** llama.cpp rounds each KV stream up to a multiple of this many cells (llama_context: n_ctx_seq). */
const KV_STREAM_PAD = 256;

/**
 * Windows per decode. Each window has a KV stream of its own (contextSize cells, rounded up to llama.cpp's 256), so
 * attention costs the same per token at any batch size, and the cache holds maxSequences streams: batchSize / 64
 * fills a decode with windows of 64 tokens or more, and the cache never holds more than 8 batches of cells (long
 * contexts get fewer streams).
 */
export function defaultMaxSequences(batchSize: number, contextSize: number): number {
  const streamCells = Math.ceil(contextSize / KV_STREAM_PAD) * KV_STREAM_PAD;
  const byTokens = Math.floor(batchSize / SCORER_DEFAULTS.tokensPerSequence);
  const byMemory = Math.floor((SCORER_DEFAULTS.cacheBatches * batchSize) / streamCells);
  return Math.max(1, Math.min(MAX_SEQUENCES, byTokens, byMemory));
}

/** The remaining defaults and the checks the model's bounds allow: what the native context is created with. */
export function fitToModel(request: ScorerRequest, bounds: ModelBounds): NativeContextOptions {
  const maxContext = Math.max(2, bounds.trainingContextSize);
  const contextSize =
    request.contextSize === undefined
      ? Math.min(SCORER_DEFAULTS.contextSize, maxContext)
      : expectInteger('contextSize', request.contextSize, 2, maxContext);
  const stride =
    request.stride === undefined
      ? Math.floor(contextSize / 2)
      : expectInteger('stride', request.stride, 1, contextSize - 1);
  const batchSize =
    request.batchSize === undefined
      ? defaultBatchSize(contextSize, bounds.vocabularySize, request.gpuLayers)
      : expectInteger('batchSize', request.batchSize, contextSize, SCORER_DEFAULTS.maxBatchSize);
  // llama.cpp asserts (aborting the process) unless sequences <= batchSize, so the bound includes it.
  const maxSequences =
    request.maxSequences === undefined
      ? defaultMaxSequences(batchSize, contextSize)
      : expectInteger('maxSequences', request.maxSequences, 1, Math.min(MAX_SEQUENCES, batchSize));
  // Off on CPU (packing invariance to rounding, see types.ts); on with GPU layers, where it saves memory and time.
  const flashAttention = request.flashAttention ?? request.gpuLayers !== 0;
  return { contextSize, stride, batchSize, maxSequences, threads: request.threads, flashAttention };
}
