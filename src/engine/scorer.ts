/**
 * openScorer(): the engine's public entry. Validates every option (so llama.cpp never sees bad input), loads the
 * model off the main thread, and serialises calls on one native context (concurrent calls queue; each runs on
 * libuv's thread pool, so the event loop stays free while documents are scored).
 */
import { availableParallelism } from 'node:os';
import { validateGgufFile } from '../gguf/reader.js';
import {
  expectBoolean,
  expectInteger,
  expectObject,
  expectPositiveInteger,
  expectString,
  invalidParameterError,
} from '../validate.js';
import { type NativeContext, type NativeModel, type NativeScoreOutput, nativeBinding } from './native.js';
import { scoreResult } from './results.js';
import type { ModelInfo, ScoreOptions, ScoreResult, Scorer, ScorerOptions, TokenizedDocument } from './types.js';

/** llama.cpp's most sequences per context (LLAMA_MAX_SEQ). */
export const MAX_SEQUENCES = 256;
/** Default cap on the logits buffer (batchSize × vocabulary × 4 bytes) when choosing a default batch size. */
const DEFAULT_LOGITS_BUDGET_BYTES = 512 * 1024 * 1024;

type ResolvedOptions = Scorer['options'];

export async function openScorer(options: ScorerOptions): Promise<Scorer> {
  expectObject('options', options);
  const modelPath = expectString('model', options.model, { nonEmpty: true });
  validateGgufFile(modelPath);
  const verbose = options.verbose === undefined ? false : expectBoolean('verbose', options.verbose);
  const gpuLayers = resolveGpuLayers(options.gpuLayers);
  // Options that do not depend on the model are checked before the (possibly slow) load.
  if (options.contextSize !== undefined) expectInteger('contextSize', options.contextSize, 2);
  const threads =
    options.threads === undefined ? availableParallelism() : expectPositiveInteger('threads', options.threads, 1024);

  const binding = nativeBinding();
  if (verbose) binding.setVerbose(true);
  const model = await binding.loadModel(modelPath, { gpuLayers, vocabOnly: false });
  try {
    const info = model.info();
    const resolved = resolveContextOptions(options, info.vocabularySize, info.trainingContextSize, threads, gpuLayers);
    const context = new binding.NativeContext(model, resolved);
    return new LlamaScorer(
      model,
      context,
      { path: modelPath, ...info },
      { model: modelPath, ...resolved, gpuLayers, verbose },
    );
  } catch (error) {
    model.dispose();
    throw error;
  }
}

function resolveGpuLayers(value: unknown): number {
  if (value === undefined) return 0;
  if (value === 'max') return -1; // llama.cpp: negative = every layer
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidParameterError('gpuLayers', "non-negative integer or 'max'", value);
  }
  return value;
}

/**
 * Tokens per decode. Every token of a decode attends over the whole batch's KV cache (masked to its own
 * document), so attention work per token grows with the batch: on a CPU a 2048-token batch spends most of its time
 * there for small models, and 512 keeps it near a tenth of the matmul work. GPUs want larger batches to fill the
 * device. Either way the logits buffer (batch × vocabulary × 4 bytes) stays under 512 MiB, and a window must fit.
 */
export function defaultBatchSize(contextSize: number, vocabularySize: number, gpuLayers: number): number {
  const preferred = gpuLayers !== 0 ? 2048 : 512;
  const logitsRows = Math.floor(DEFAULT_LOGITS_BUDGET_BYTES / (4 * vocabularySize));
  return Math.max(contextSize, Math.min(preferred, logitsRows));
}

function resolveContextOptions(
  options: ScorerOptions,
  vocabularySize: number,
  trainingContextSize: number,
  threads: number,
  gpuLayers: number,
): Omit<ResolvedOptions, 'gpuLayers' | 'verbose' | 'model'> {
  const maxContext = Math.max(2, trainingContextSize);
  const contextSize =
    options.contextSize === undefined
      ? Math.min(512, maxContext)
      : expectInteger('contextSize', options.contextSize, 2, maxContext);
  const stride =
    options.stride === undefined
      ? Math.floor(contextSize / 2)
      : expectInteger('stride', options.stride, 1, contextSize - 1);
  const batchSize =
    options.batchSize === undefined
      ? defaultBatchSize(contextSize, vocabularySize, gpuLayers)
      : expectInteger('batchSize', options.batchSize, contextSize, 1 << 20);
  // llama.cpp asserts (aborting the process) unless sequences <= batchSize, so the bound includes it.
  const maxSequences =
    options.maxSequences === undefined
      ? Math.min(MAX_SEQUENCES, batchSize)
      : expectInteger('maxSequences', options.maxSequences, 1, Math.min(MAX_SEQUENCES, batchSize));
  // Off on CPU (exact packing invariance, see types.ts); on with GPU layers, where it saves memory and time.
  const flashAttention =
    options.flashAttention === undefined ? gpuLayers !== 0 : expectBoolean('flashAttention', options.flashAttention);
  return { contextSize, stride, batchSize, maxSequences, threads, flashAttention };
}

function abortError(): Error {
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}

function resolveScoreOptions(options: ScoreOptions | undefined): { logprobs: boolean; signal?: AbortSignal } {
  if (options === undefined) return { logprobs: false };
  expectObject('options', options);
  const logprobs = options.logprobs === undefined ? false : expectBoolean('logprobs', options.logprobs);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw invalidParameterError('signal', 'AbortSignal', options.signal);
  }
  return { logprobs, signal: options.signal };
}

class LlamaScorer implements Scorer {
  #nativeModel: NativeModel;
  #context: NativeContext;
  #closed = false;
  /** Calls run one at a time on the native context; this is the tail of that queue. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    nativeModel: NativeModel,
    context: NativeContext,
    readonly model: ModelInfo,
    readonly options: ResolvedOptions,
  ) {
    this.#nativeModel = nativeModel;
    this.#context = context;
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new Error(`Cannot call ${method}() on a closed scorer`);
  }

  async score(texts: readonly string[], options?: ScoreOptions): Promise<ScoreResult[]> {
    this.#assertOpen('score');
    if (!Array.isArray(texts)) throw invalidParameterError('texts', 'array of strings', texts);
    for (let i = 0; i < texts.length; i++) {
      if (typeof texts[i] !== 'string') throw invalidParameterError(`texts[${i}]`, 'string', texts[i]);
    }
    const { logprobs, signal } = resolveScoreOptions(options);
    const output = await this.#run(signal, () => this.#context.scoreTexts([...texts], logprobs));
    return toResults(output, output.bytes!);
  }

  async scoreTokens(documents: readonly TokenizedDocument[], options?: ScoreOptions): Promise<ScoreResult[]> {
    this.#assertOpen('scoreTokens');
    if (!Array.isArray(documents)) throw invalidParameterError('documents', 'array of { tokens, bytes }', documents);
    const tokenArrays: Int32Array[] = new Array(documents.length);
    const bytes = new Float64Array(documents.length);
    for (let i = 0; i < documents.length; i++) {
      const document = documents[i];
      if (typeof document !== 'object' || document === null || !(document.tokens instanceof Int32Array)) {
        throw invalidParameterError(
          `documents[${i}].tokens`,
          'Int32Array',
          (document as TokenizedDocument | null)?.tokens ?? document,
        );
      }
      bytes[i] = expectInteger(`documents[${i}].bytes`, document.bytes, 0);
      tokenArrays[i] = document.tokens; // ids are range-checked natively while copied, before any decode
    }
    const { logprobs, signal } = resolveScoreOptions(options);
    const output = await this.#run(signal, () => this.#context.scoreTokens(tokenArrays, logprobs));
    return toResults(output, bytes);
  }

  tokenize(text: string): Int32Array {
    this.#assertOpen('tokenize');
    return this.#nativeModel.tokenize(expectString('text', text));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.catch(() => undefined);
    this.#context.dispose();
    this.#nativeModel.dispose();
  }

  /** Queues one native call; an abort before it starts skips it, an abort while it runs stops llama.cpp. */
  #run(signal: AbortSignal | undefined, call: () => Promise<NativeScoreOutput>): Promise<NativeScoreOutput> {
    const result = this.#queue
      .catch(() => undefined)
      .then(async () => {
        if (signal?.aborted) throw abortError();
        const onAbort = () => this.#context.abort();
        signal?.addEventListener('abort', onAbort, { once: true });
        try {
          return await call();
        } finally {
          signal?.removeEventListener('abort', onAbort);
        }
      });
    this.#queue = result;
    return result;
  }
}

function toResults(output: NativeScoreOutput, bytes: ArrayLike<number>): ScoreResult[] {
  const results: ScoreResult[] = new Array(output.tokens.length);
  for (let i = 0; i < results.length; i++) {
    results[i] = scoreResult(output.tokens[i], output.nll[i], bytes[i], output.logprobs?.[i]);
  }
  return results;
}
