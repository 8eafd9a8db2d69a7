/**
 * The native addon's surface, loaded once per thread. It is internal: src/engine/scorer.ts and tokenizer.ts validate
 * every argument before calling it. Which addon file and which llama.cpp libraries: src/engine/addon.ts.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { findNativeAddon, loadNativeAddon, type NativeBuildInfo } from './addon.js';
import type { ModelInfo } from './types.js';

/** What the addon reports about a loaded model: the public ModelInfo less the path, which JS knows. */
export type NativeModelInfo = Omit<ModelInfo, 'path'>;

export interface NativeModel {
  info(): NativeModelInfo;
  /** On the calling thread (the pipeline's worker threads). */
  tokenize(text: string): Int32Array;
  /** On libuv's thread pool; may run while the model decodes. */
  tokenizeTexts(texts: string[]): Promise<Int32Array[]>;
  dispose(): void;
}

export interface NativeScoreOutput {
  tokens: Uint32Array;
  nll: Float64Array;
  logprobs?: Float32Array[];
}

export interface NativeContextOptions {
  contextSize: number;
  stride: number;
  batchSize: number;
  maxSequences: number;
  threads: number;
  flashAttention: boolean;
}

export interface NativeContext {
  scoreTokens(documents: Int32Array[], wantLogprobs: boolean): Promise<NativeScoreOutput>;
  /** The benchmark ceiling: the same decodes with logits for every position and no log-softmax; tokens evaluated. */
  decodeOnly(documents: Int32Array[]): Promise<number>;
  abort(): void;
  dispose(): void;
}

/** The trainer's options as the addon takes them (src/train/options.ts resolves and checks them). */
export interface NativeTrainerOptions {
  contextSize: number;
  threads: number;
  gpuLayers: number;
  seed: number;
  learningRate: number;
  minLearningRateRatio: number;
  beta1: number;
  beta2: number;
  weightDecay: number;
  warmupSteps: number;
  totalSteps: number;
}

/** A model being trained (native/trainer.hpp). One call at a time; src/train/native-trainer.ts serialises them. */
export interface NativeTrainer {
  setTrainingTokens(tokens: Int32Array): void;
  /** The largest singular value of the bigram factorisation; `fitIterations` steps of the bigram fit (0: none). */
  initialiseFromBigrams(fitIterations: number): Promise<number>;
  /** Mean training loss of the steps, in nats per token. */
  train(steps: number): Promise<number>;
  /** Where the learning-rate schedule ends (a time budget re-plans it as the speed becomes known). */
  setTotalSteps(steps: number): void;
  /** Mean loss on consecutive windows of `tokens`, in nats per token. */
  evaluate(tokens: Int32Array, maxWindows: number): Promise<number>;
  save(path: string): Promise<void>;
  /** A host copy of every weight, and back: a run that keeps its best held-out point (between calls only). */
  rememberWeights(): void;
  restoreWeights(): void;
  embeddingChange(): number;
  info(): { vocabularySize: number; parameterCount: number; bosToken: number; stepsDone: number };
  abort(): void;
  dispose(): void;
}

export interface NativeBinding {
  /** cpuBackend: a CPU backend library to load instead of the prebuilt variants, or '' (native/engine.cpp). */
  initialize(backendDirectory: string, verbose: boolean, cpuBackend: string): void;
  setVerbose(verbose: boolean): void;
  loadModel(path: string, options: { gpuLayers: number; vocabOnly: boolean }): Promise<NativeModel>;
  loadModelSync(path: string, options: { gpuLayers: number; vocabOnly: boolean }): NativeModel;
  systemInfo(): string;
  /** An exclusive advisory lock on an open file (flock): false when another open file holds it (native/platform.cpp). */
  lockFile(fd: number): boolean;
  /** The GPU devices of llama.cpp's loaded backends: empty on a CPU-only machine. */
  gpuDevices(): string[];
  /** The file of the CPU backend llama.cpp loaded ('' where that cannot be told). */
  cpuBackend(): string;
  createTrainer(initialModelPath: string, options: NativeTrainerOptions): Promise<NativeTrainer>;
  NativeContext: new (model: NativeModel, options: NativeContextOptions) => NativeContext;
}

let addon: NativeBinding | undefined;
let binding: NativeBinding | undefined;

/** The addon (src/engine/addon.ts finds it, with its llama.cpp libraries), without the backends: enough for `lockFile`. */
export function nativeAddon(): NativeBinding {
  if (addon) return addon;
  addon = loadNativeAddon<NativeBinding>(findNativeAddon());
  return addon;
}

/** The addon, loaded once per thread, with llama.cpp's backends initialised: what models and contexts need. */
export function nativeBinding(): NativeBinding {
  if (binding) return binding;
  const files = findNativeAddon();
  const loaded = nativeAddon();
  // Backends (the CPU variants, CUDA, ...) are plugins in the libraries' folder; a source build has them compiled in.
  loaded.initialize(files.libraries ?? dirname(files.path), false, files.cpuBackend ?? '');
  binding = loaded;
  if (files.cpuBackend !== null && cpuBackendInfo()?.kind !== 'native') {
    process.emitWarning(
      `infoprune: the CPU backend compiled for this machine (${files.cpuBackend}) did not load; llama.cpp runs on ` +
        `the slower prebuilt ${basename(loaded.cpuBackend())} (rebuild it with \`npm run build:native\`)`,
    );
  }
  return loaded;
}

/** Which CPU backend llama.cpp runs on in this process, and its file (null where that cannot be told). */
export interface CpuBackendInfo {
  /** native: compiled for this machine by the build; prebuilt: node-llama-cpp's variant for this CPU; compiled in: a
   * source build. */
  kind: 'native' | 'prebuilt' | 'compiled in';
  file: string | null;
}

/** The CPU backend of this process, or null before llama.cpp's backends are loaded (nothing was scored yet). */
export function cpuBackendInfo(): CpuBackendInfo | null {
  if (binding === undefined) return null;
  const files = findNativeAddon();
  const file = binding.cpuBackend() || null;
  if (files.libraries === null) return { kind: 'compiled in', file };
  const native = files.cpuBackend !== null && file !== null && realpathSync(file) === realpathSync(files.cpuBackend);
  return { kind: native ? 'native' : 'prebuilt', file };
}

/** The build of the addon this process uses (which llama.cpp, how linked, for which platform), or null if none. */
export function nativeBuildInfo(): NativeBuildInfo | null {
  try {
    return findNativeAddon().build;
  } catch {
    return null;
  }
}
