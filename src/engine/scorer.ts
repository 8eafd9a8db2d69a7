/**
 * openScorer(): the engine's public entry. Resolves the options once (src/engine/options.ts: so llama.cpp never sees
 * a bad value), loads the model off the main thread, and serialises calls on one native context (concurrent calls
 * queue; each runs on libuv's thread pool, so the event loop stays free while documents are scored).
 */
import { InfopruneError } from '../errors.js';
import { describeModel } from '../gguf/reader.js';
import { validateGgufFile } from '../gguf/validate.js';
import {
  expectBoolean,
  expectInteger,
  expectObject,
  expectSignal,
  expectString,
  invalidParameterError,
} from '../util/validate.js';
import { type NativeContext, type NativeModel, type NativeScoreOutput, nativeBinding } from './native.js';
import { fitToModel, type ModelBounds, resolveScorerOptions, type ScorerRequest } from './options.js';
import { scoreResult } from './results.js';
import type { ModelInfo, ScoreOptions, ScoreResult, Scorer, ScorerOptions, TokenizedDocument } from './types.js';

type ResolvedOptions = Scorer['options'];

export async function openScorer(options: ScorerOptions): Promise<Scorer> {
  return openResolvedScorer(resolveScorerOptions(options));
}

/** `openScorer` for options already resolved (the pipeline resolves them with its own, before anything opens). */
export async function openResolvedScorer(request: ScorerRequest): Promise<Scorer> {
  // 1. The file: a GGUF llama.cpp will accept (MODEL_NOT_FOUND, MODEL_INVALID), and the bounds its header sets.
  const header = describeModel(validateGgufFile(request.model));
  // 2. The options against those bounds, before the (possibly slow) load.
  if (header.contextLength !== undefined && header.vocabularySize !== undefined) {
    fitToModel(request, { trainingContextSize: header.contextLength, vocabularySize: header.vocabularySize });
  }
  // 3. The load, off the main thread.
  const binding = nativeBinding();
  if (request.verbose) binding.setVerbose(true);
  const model = await loadModel(request);
  try {
    // 4. The options against what llama.cpp reports (the same numbers, from the horse's mouth), then the context.
    const info = model.info();
    const fitted = fitToModel(request, info satisfies ModelBounds);
    const context = new binding.NativeContext(model, fitted);
    const { gpuLayers, verbose } = request;
    return new LlamaScorer(
      model,
      context,
      { path: request.model, ...info },
      { model: request.model, ...fitted, gpuLayers, verbose },
    );
  } catch (error) {
    model.dispose();
    throw error;
  }
}

async function loadModel(request: ScorerRequest): Promise<NativeModel> {
  try {
    return await nativeBinding().loadModel(request.model, { gpuLayers: request.gpuLayers, vocabOnly: false });
  } catch (error) {
    throw new InfopruneError('MODEL_LOAD_FAILED', error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }
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
  return { logprobs, signal: expectSignal('signal', options.signal) };
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
