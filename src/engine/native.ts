/**
 * Loads the native addon (build/Release/infoprune.node) once per thread and initialises llama.cpp's backends from
 * the addon's folder. The addon's surface is internal: src/engine/scorer.ts and tokenizer.ts validate every
 * argument before calling it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../util/version.js';
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
  /** The largest singular value of the bigram factorisation. */
  initialiseFromBigrams(): Promise<number>;
  /** Mean training loss of the steps, in nats per token. */
  train(steps: number): Promise<number>;
  /** Where the learning-rate schedule ends (a time budget re-plans it as the speed becomes known). */
  setTotalSteps(steps: number): void;
  /** Mean loss on consecutive windows of `tokens`, in nats per token. */
  evaluate(tokens: Int32Array, maxWindows: number): Promise<number>;
  save(path: string): Promise<void>;
  embeddingChange(): number;
  info(): { vocabularySize: number; parameterCount: number; bosToken: number; stepsDone: number };
  abort(): void;
  dispose(): void;
}

export interface NativeBinding {
  initialize(backendDirectory: string, verbose: boolean): void;
  setVerbose(verbose: boolean): void;
  loadModel(path: string, options: { gpuLayers: number; vocabOnly: boolean }): Promise<NativeModel>;
  loadModelSync(path: string, options: { gpuLayers: number; vocabOnly: boolean }): NativeModel;
  systemInfo(): string;
  /** An exclusive advisory lock on an open file (flock): false when another open file holds it (native/platform.cpp). */
  lockFile(fd: number): boolean;
  /** The GPU devices of llama.cpp's loaded backends: empty on a CPU-only machine. */
  gpuDevices(): string[];
  createTrainer(initialModelPath: string, options: NativeTrainerOptions): Promise<NativeTrainer>;
  NativeContext: new (model: NativeModel, options: NativeContextOptions) => NativeContext;
}

/** Where the built addon and the llama.cpp libraries beside it live. */
export function nativeBuildDirectory(): string {
  return join(packageRoot(), 'build', 'Release');
}

let addon: NativeBinding | undefined;
let binding: NativeBinding | undefined;

/** The addon, loaded but without llama.cpp's backends (enough for `lockFile`). */
export function nativeAddon(): NativeBinding {
  if (addon) return addon;
  const addonPath = join(nativeBuildDirectory(), 'infoprune.node');
  if (!existsSync(addonPath)) {
    throw new Error(
      `The infoprune native addon is not built (${addonPath} is missing): run \`npm run build:native\` in ${packageRoot()}`,
    );
  }
  addon = createRequire(import.meta.url)(addonPath) as NativeBinding;
  return addon;
}

/** The addon with llama.cpp's backends loaded: what models and contexts need. */
export function nativeBinding(): NativeBinding {
  if (binding) return binding;
  const loaded = nativeAddon();
  loaded.initialize(nativeBuildDirectory(), false);
  binding = loaded;
  return loaded;
}

/** Information about the build: which llama.cpp, which route (prebuilt or source), which backend. */
export function nativeBuildInfo(): { mode: string; gpu: string; llamaCppTag: string; platform: string } | null {
  const path = join(nativeBuildDirectory(), 'build-info.json');
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : null;
}
