/**
 * openScorer(): the engine's public entry. Resolves the options once (src/engine/options.ts: so llama.cpp never sees
 * a bad value), loads the model off the main thread, and runs calls on one native context through the coalescing
 * queue (src/engine/coalescer.ts). Tokenizing and scoring run on libuv's thread pool, so the event loop stays free.
 */
import { type Stats, statSync } from 'node:fs';
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
import { closedError, InFlight } from './abort.js';
import { ScoreCoalescer } from './coalescer.js';
import { type NativeBinding, type NativeContext, type NativeModel, nativeBinding } from './native.js';
import { fitToModel, type ModelBounds, resolveScorerOptions, type ScorerRequest } from './options.js';
import type {
  ModelInfo,
  ScoreOptions,
  ScoreResult,
  Scorer,
  ScorerOptions,
  ScorerStats,
  TokenizedDocument,
} from './types.js';

type ResolvedOptions = Scorer['options'];

export async function openScorer(options: ScorerOptions): Promise<Scorer> {
  return openResolvedScorer(resolveScorerOptions(options));
}

/** `openScorer` for options already resolved (the pipeline resolves them with its own, before anything opens). */
export async function openResolvedScorer(asked: ScorerRequest): Promise<Scorer> {
  // 1. The file: a GGUF llama.cpp will accept (MODEL_NOT_FOUND, MODEL_INVALID), and the bounds its header sets.
  const header = describeModel(validateGgufFile(asked.model));
  // 2. GPU layers only where llama.cpp has a GPU; then the options against the header's bounds, before the load.
  const binding = nativeBinding();
  const request = withoutMissingGpu(asked, binding);
  if (header.contextLength !== undefined && header.vocabularySize !== undefined) {
    fitToModel(request, { trainingContextSize: header.contextLength, vocabularySize: header.vocabularySize });
  }
  // 3. The load, off the main thread; the file's identity as loaded, to notice it changing under the mapping.
  if (request.verbose) binding.setVerbose(true);
  const loadedFile = statSync(request.model);
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
      loadedFile,
    );
  } catch (error) {
    model.dispose();
    throw error;
  }
}

let warnedNoGpu = false;

/**
 * GPU layers asked for where llama.cpp found no GPU: llama.cpp would run on the CPU anyway, so the request becomes a
 * CPU one (its defaults too: flash attention stays off unless asked for, since it changes values), said once.
 */
function withoutMissingGpu(request: ScorerRequest, binding: NativeBinding): ScorerRequest {
  if (request.gpuLayers === 0 || binding.gpuDevices().length > 0) return request;
  if (!warnedNoGpu) {
    warnedNoGpu = true;
    const flash = request.flashAttention ? 'flash attention on, as asked' : 'flash attention off, as on any CPU run';
    process.emitWarning(
      `GPU layers were asked for (gpuLayers ${request.gpuLayers < 0 ? "'max'" : request.gpuLayers}) but llama.cpp ` +
        `found no GPU: scoring on the CPU with CPU settings (${flash})`,
      { code: 'INFOPRUNE_NO_GPU' },
    );
  }
  return { ...request, gpuLayers: 0 };
}

/**
 * Throws MODEL_CHANGED once the model file is not the one loaded (replaced, truncated, rewritten): its weights are
 * read through a memory map, and reading past a truncated file's end kills the process with SIGBUS. The scorer
 * checks before every native call (each is one decode batch, or a few for one large call).
 */
function assertModelUnchanged(path: string, loaded: Stats): void {
  let now: Stats | undefined;
  try {
    now = statSync(path);
  } catch {
    now = undefined;
  }
  if (now && now.size === loaded.size && now.mtimeMs === loaded.mtimeMs && now.ino === loaded.ino) return;
  const change = now
    ? `${loaded.size} bytes when loaded, ${now.size} bytes modified ${now.mtime.toISOString()} now`
    : 'it is gone';
  throw new InfopruneError(
    'MODEL_CHANGED',
    `The model file ${path} changed while it was in use (${change}): nothing more is scored with it (open a new scorer once the file is whole)`,
  );
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

function resolveScoreOptions(options: ScoreOptions | undefined): { logprobs: boolean; signal?: AbortSignal } {
  if (options === undefined) return { logprobs: false };
  expectObject('options', options);
  const logprobs = options.logprobs === undefined ? false : expectBoolean('logprobs', options.logprobs);
  return { logprobs, signal: expectSignal('signal', options.signal) };
}

class LlamaScorer implements Scorer {
  #nativeModel: NativeModel;
  #context: NativeContext;
  #closing: Promise<void> | undefined;
  #calls: ScoreCoalescer;
  #tokenizing = new InFlight();

  constructor(
    nativeModel: NativeModel,
    context: NativeContext,
    readonly model: ModelInfo,
    readonly options: ResolvedOptions,
    loadedFile: Stats,
  ) {
    this.#nativeModel = nativeModel;
    this.#context = context;
    this.#calls = new ScoreCoalescer(context, { ...options, addsBos: model.addsBos }, () =>
      assertModelUnchanged(model.path, loadedFile),
    );
  }

  get stats(): Readonly<ScorerStats> {
    return { ...this.#calls.stats };
  }

  #assertOpen(method: string): void {
    if (this.#closing) throw new Error(`Cannot call ${method}() on a closed scorer`);
  }

  async score(texts: readonly string[], options?: ScoreOptions): Promise<ScoreResult[]> {
    this.#assertOpen('score');
    if (!Array.isArray(texts)) throw invalidParameterError('texts', 'array of strings', texts);
    for (let i = 0; i < texts.length; i++) {
      if (typeof texts[i] !== 'string') throw invalidParameterError(`texts[${i}]`, 'string', texts[i]);
    }
    const { logprobs, signal } = resolveScoreOptions(options);
    const bytes = texts.map((text) => Buffer.byteLength(text, 'utf8'));
    const documents = await this.#tokenizing.track(this.#nativeModel.tokenizeTexts([...texts]), signal);
    return this.#calls.submit({ documents, bytes, logprobs, signal });
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
      checkTokenIds(document.tokens, this.model.vocabularySize, i);
      tokenArrays[i] = document.tokens;
    }
    const { logprobs, signal } = resolveScoreOptions(options);
    return this.#calls.submit({ documents: tokenArrays, bytes, logprobs, signal });
  }

  async tokenize(text: string, options?: { signal?: AbortSignal }): Promise<Int32Array> {
    this.#assertOpen('tokenize');
    expectString('text', text);
    const signal = options === undefined ? undefined : expectSignal('signal', expectObject('options', options).signal);
    const [tokens] = await this.#tokenizing.track(this.#nativeModel.tokenizeTexts([text]), signal);
    return tokens;
  }

  tokenizeSync(text: string): Int32Array {
    this.#assertOpen('tokenizeSync');
    return this.#nativeModel.tokenize(expectString('text', text));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#tokenizing.closeAll(() => closedError('scorer'));
      await this.#calls.close();
      this.#context.dispose();
      this.#nativeModel.dispose();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Token ids outside the vocabulary make llama.cpp abort the process. The addon checks them too, but a coalesced
 * native call holds other callers' documents: a bad call must fail alone, here, before it joins one.
 */
function checkTokenIds(tokens: Int32Array, vocabularySize: number, document: number): void {
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i];
    if (id < 0 || id >= vocabularySize) {
      throw new RangeError(
        `Expected token ids in [0, ${vocabularySize}) for documents[${document}].tokens but received ${id} at index ${i}`,
      );
    }
  }
}
