/**
 * `trainProbe()`'s options: every default in one literal (the CLI's help shows them), the probe shapes as data, and
 * one resolver in better-sqlite3's order (defaults → checks → interpretation → checks of the interpreted values).
 */
import { availableParallelism } from 'node:os';
import type { ReadingOptions } from '../corpus/options.js';
import type { RandomModelShape } from '../gguf/random-model.js';
import {
  expectBoolean,
  expectFunction,
  expectInteger,
  expectNumberInRange,
  expectObject,
  expectOneOf,
  expectPositiveInteger,
  expectSignal,
  expectString,
  invalidParameterError,
} from '../util/validate.js';
import { VOCABULARY_LIMITS } from './vocabulary.js';

/**
 * Probe shapes: llama blocks, width, heads, feed-forward width and vocabulary. Wide and shallow on purpose: ggml's
 * training kernels run much faster per parameter on wide matrices, and a wide model holds more of the corpus's
 * bigram factorisation (its starting point: see native/spectral_init.hpp).
 */
export const PROBE_SHAPES = {
  tiny: { layers: 1, embedding: 128, heads: 2, kvHeads: 1, feedForward: 256, vocabularySize: 1024 },
  small: { layers: 1, embedding: 256, heads: 4, kvHeads: 2, feedForward: 512, vocabularySize: 2048 },
  base: { layers: 2, embedding: 384, heads: 6, kvHeads: 2, feedForward: 1024, vocabularySize: 4096 },
  large: { layers: 4, embedding: 512, heads: 8, kvHeads: 4, feedForward: 1536, vocabularySize: 8192 },
} as const;

export type ProbeShapeName = keyof typeof PROBE_SHAPES;
export const PROBE_SHAPE_NAMES = Object.keys(PROBE_SHAPES) as ProbeShapeName[];

/** Every training default, in one literal. */
export const TRAIN_DEFAULTS = Object.freeze({
  shape: 'small' as ProbeShapeName,
  /** Tokens trained on a CPU: a few minutes on a laptop-class CPU (docs/probe.md has the measurements). */
  budgetTokens: 1_500_000,
  /** With GPU layers: this share of the corpus's tokens, within the two bounds below. */
  gpuBudgetShare: 0.25,
  gpuBudgetTokens: { min: 5_000_000, max: 200_000_000 },
  /** No document is trained on more often than this on average: a small corpus gets a smaller budget. */
  maxEpochs: 4,
  /** Tokens per optimizer step (one window); llama.cpp pads training contexts to multiples of 256. */
  contextSize: 256,
  /** 1e-3 ended Brown's default run 0.24 bits/token below the fit; 1e-4 0.02 and 2e-3 0.36 (docs/probe.md). */
  learningRate: 1e-3,
  warmupSteps: 100,
  /**
   * Full-batch steps fitting the initial embeddings to the corpus's Kneser-Ney bigram (native/bigram_fit.hpp), at
   * most `bigramFitMultiplyAdds` of work in all (each step is three vocabulary² × width products).
   */
  bigramFitIterations: 100,
  bigramFitMultiplyAdds: 1e12,
  minLearningRateRatio: 0.1,
  beta1: 0.9,
  beta2: 0.999,
  weightDecay: 0,
  /** Documents held out to measure the probe: this share, at most `heldoutMaxBytes` of text. */
  heldoutShare: 0.05,
  heldoutMaxBytes: 512 * 1024,
  /** Less training text than this cannot make a vocabulary and a few training windows. */
  minTrainingBytes: 16 * 1024,
  /** The most text held in memory for training (beyond it, the budget makes more passes over the sample). */
  maxSampleBytes: 256 * 1024 * 1024,
  /** Text the vocabulary is learned from. */
  vocabularySampleBytes: 8 * 1024 * 1024,
  /** Held-out evaluations along the way (the curve in the training record). */
  curvePoints: 10,
  /**
   * Early stopping: the probe (which keeps its best held-out point) stops once this many curve points in a row have
   * not beaten that best (0: never stops early). Training from the bigram fit first makes Brown's held-out loss worse
   * (a bump to +0.12 bits/token at 10 % of the default CPU run) and crosses below the start at 50 %, ending 0.24
   * below it (docs/probe.md): patience counts from the best, so it cannot tell that recovery from a stall, and any
   * patience under 5 would stop the run at the fit. No run stops early unless asked, on a CPU or a GPU.
   */
  patience: 0,
  evaluationWindows: 32,
  seed: 0,
  gpuLayers: 0,
  verbose: false,
});

/** A probe's shape: the architecture fields of the GGUF writer's model shape (src/gguf/random-model.ts). */
export type ProbeShape = Pick<
  RandomModelShape,
  'layers' | 'embedding' | 'heads' | 'kvHeads' | 'feedForward' | 'vocabularySize'
>;

/** Where and why a run stopped before its budget (the training record's `training.stoppedEarly`). */
export interface EarlyStop {
  /** The curve point it stopped at (the probe has the best point's weights: `keptStep`). */
  step: number;
  /** 'patience': that many curve points in a row had not beaten the best held-out loss. */
  reason: 'patience';
  patience: number;
}

export interface TrainProgress {
  phase: 'reading' | 'vocabulary' | 'tokenizing' | 'initialising' | 'training' | 'measuring';
  /** Training: steps and tokens so far, of the planned total. */
  steps: number;
  totalSteps: number;
  tokens: number;
  totalTokens: number;
  /** Mean training loss (nats per token) of the last call, and the latest held-out loss. */
  trainLoss?: number;
  heldoutLoss?: number;
  tokensPerSecond: number;
  elapsedSeconds: number;
  /** Seconds left at the current speed, when known. */
  etaSeconds?: number;
  /** Set on the last training report when the run stopped before its budget. */
  stoppedEarly?: EarlyStop;
  /** Reading: documents and bytes of text collected so far. */
  documents?: number;
  bytes?: number;
}

export interface TrainProbeOptions extends ReadingOptions {
  /** Files, folders and globs, read like `infoprune score` reads them. */
  inputs: string[];
  /** The probe's GGUF file; the training record goes beside it (`<out>.training.json`). */
  out: string;
  /** A preset name or a shape. Default `small`. */
  shape?: ProbeShapeName | ProbeShape;
  /** Tokens to train on (default 1.5 M on a CPU; on a GPU a share of the corpus). */
  budgetTokens?: number;
  /** Or a time budget: stop after this many seconds (the schedule is planned from the measured speed). */
  budgetSeconds?: number;
  /** Share of the documents to read for training (0, 1]. Default: what the budget needs, spread over the corpus. */
  sample?: number;
  /** Documents to measure the probe on instead of a held-out slice of the inputs. */
  heldout?: string[];
  seed?: number;
  threads?: number;
  gpuLayers?: number | 'max';
  overwrite?: boolean;
  verbose?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: TrainProgress) => void;
  /**
   * Stop once this many held-out curve points in a row have not beaten the best (the probe keeps the best point's
   * weights); 0 never stops early. Default `TRAIN_DEFAULTS.patience`: 0 (never).
   */
  patience?: number;
  /** Advanced: optimizer settings (defaults in TRAIN_DEFAULTS). */
  learningRate?: number;
  warmupSteps?: number;
  /**
   * Advanced: full-batch steps fitting the initial embeddings to the corpus's bigram before training (0: the
   * spectral factorisation alone). Default `TRAIN_DEFAULTS.bigramFitIterations`, fewer for large vocabularies.
   */
  bigramFitIterations?: number;
}

export interface ResolvedTrainOptions {
  inputs: string[];
  out: string;
  reading: ReadingOptions;
  shapeName: string;
  shape: ProbeShape;
  budgetTokens: number | undefined;
  budgetSeconds: number | undefined;
  sample: number | undefined;
  heldout: string[] | undefined;
  seed: number;
  threads: number;
  gpuLayers: number;
  overwrite: boolean;
  verbose: boolean;
  signal: AbortSignal | undefined;
  onProgress: ((progress: TrainProgress) => void) | undefined;
  patience: number;
  learningRate: number;
  warmupSteps: number;
  bigramFitIterations: number;
}

const KNOWN_OPTIONS = new Set([
  'inputs',
  'out',
  'shape',
  'budgetTokens',
  'budgetSeconds',
  'sample',
  'heldout',
  'seed',
  'threads',
  'gpuLayers',
  'overwrite',
  'verbose',
  'signal',
  'onProgress',
  'patience',
  'learningRate',
  'warmupSteps',
  'bigramFitIterations',
  'textField',
  'idField',
  'textMode',
  'format',
  'maxDocumentBytes',
]);

/** Defaults applied and every value checked: a bad option fails before any file is read. */
export function resolveTrainOptions(options: TrainProbeOptions): ResolvedTrainOptions {
  expectObject('options', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw invalidParameterError(key, 'a known option of trainProbe', key);
  }
  const d = TRAIN_DEFAULTS;
  if (!Array.isArray(options.inputs) || options.inputs.length === 0) {
    throw invalidParameterError('inputs', 'non-empty array of paths', options.inputs);
  }
  for (const [i, input] of options.inputs.entries()) expectString(`inputs[${i}]`, input, { nonEmpty: true });
  if (options.budgetTokens !== undefined && options.budgetSeconds !== undefined) {
    throw invalidParameterError(
      'budgetSeconds',
      'undefined when budgetTokens is set (one budget)',
      options.budgetSeconds,
    );
  }
  const { shapeName, shape } = resolveShape(options.shape ?? d.shape);
  const gpuLayers =
    options.gpuLayers === 'max' ? -1 : expectInteger('gpuLayers', options.gpuLayers ?? d.gpuLayers, 0, 100_000);
  return {
    inputs: options.inputs,
    out: expectString('out', options.out, { nonEmpty: true }),
    reading: {
      textField: options.textField,
      idField: options.idField,
      textMode: options.textMode,
      format: options.format,
      maxDocumentBytes: options.maxDocumentBytes,
    },
    shapeName,
    shape,
    budgetTokens:
      options.budgetTokens === undefined ? undefined : expectPositiveInteger('budgetTokens', options.budgetTokens),
    budgetSeconds:
      options.budgetSeconds === undefined
        ? undefined
        : expectNumberInRange('budgetSeconds', options.budgetSeconds, 0, 1e7, { minExclusive: true }),
    sample:
      options.sample === undefined
        ? undefined
        : expectNumberInRange('sample', options.sample, 0, 1, { minExclusive: true }),
    heldout: options.heldout === undefined ? undefined : resolvePaths('heldout', options.heldout),
    seed: expectInteger('seed', options.seed ?? d.seed, 0, 0xffffffff),
    threads: expectInteger('threads', options.threads ?? defaultThreads(), 1, availableParallelism()),
    gpuLayers,
    overwrite: expectBoolean('overwrite', options.overwrite ?? false),
    verbose: expectBoolean('verbose', options.verbose ?? d.verbose),
    signal: expectSignal('signal', options.signal),
    onProgress: expectFunction('onProgress', options.onProgress),
    patience: expectInteger('patience', options.patience ?? d.patience, 0),
    learningRate: expectNumberInRange('learningRate', options.learningRate ?? d.learningRate, 0, 1, {
      minExclusive: true,
    }),
    warmupSteps: expectInteger('warmupSteps', options.warmupSteps ?? d.warmupSteps, 1, 1e9),
    bigramFitIterations: expectInteger(
      'bigramFitIterations',
      options.bigramFitIterations ?? defaultBigramFitIterations(shape),
      0,
      10_000,
    ),
  };
}

/** TRAIN_DEFAULTS.bigramFitIterations, fewer where the vocabulary makes each step costly. */
export function defaultBigramFitIterations(shape: ProbeShape): number {
  const perStep = 3 * shape.vocabularySize * shape.vocabularySize * shape.embedding;
  return Math.min(TRAIN_DEFAULTS.bigramFitIterations, Math.floor(TRAIN_DEFAULTS.bigramFitMultiplyAdds / perStep));
}

/** Training runs on the decode threads alone: all the cores the process may use. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

function resolvePaths(name: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidParameterError(name, 'non-empty array of paths', value);
  for (const [i, path] of value.entries()) expectString(`${name}[${i}]`, path, { nonEmpty: true });
  return value as string[];
}

/** A preset name or a custom shape, checked (also the experiment's target shapes). */
export function resolveShape(value: unknown): { shapeName: string; shape: ProbeShape } {
  if (typeof value === 'string') {
    const name = expectOneOf('shape', value, PROBE_SHAPE_NAMES);
    return { shapeName: name, shape: { ...PROBE_SHAPES[name] } };
  }
  const raw = expectObject('shape', value);
  const shape: ProbeShape = {
    layers: expectInteger('shape.layers', raw.layers, 1, 64),
    embedding: expectInteger('shape.embedding', raw.embedding, 8, 8192),
    heads: expectPositiveInteger('shape.heads', raw.heads),
    kvHeads: expectPositiveInteger('shape.kvHeads', raw.kvHeads),
    feedForward: expectInteger('shape.feedForward', raw.feedForward, 1, 65_536),
    vocabularySize: expectInteger(
      'shape.vocabularySize',
      raw.vocabularySize,
      VOCABULARY_LIMITS.min,
      VOCABULARY_LIMITS.max,
    ),
  };
  const headWidth = shape.embedding / shape.heads;
  if (!Number.isInteger(headWidth) || headWidth % 2 !== 0) {
    throw invalidParameterError(
      'shape.heads',
      `divisor of embedding (${shape.embedding}) leaving an even head width`,
      shape.heads,
    );
  }
  if (shape.heads % shape.kvHeads !== 0)
    throw invalidParameterError('shape.kvHeads', `divisor of heads (${shape.heads})`, shape.kvHeads);
  if (shape.embedding > shape.vocabularySize) {
    throw invalidParameterError('shape.embedding', `at most vocabularySize (${shape.vocabularySize})`, shape.embedding);
  }
  return { shapeName: 'custom', shape };
}

/**
 * The native trainer's revision: raise it when the same options train a different probe (2: each step's gradients
 * are reset, native/trainer.cpp), so that `score` trains again instead of reusing an older probe.
 */
const TRAINER_REVISION = 2;

/**
 * What decides a probe: the options that change its training (not callbacks, threads or where it is written), the
 * defaults that filled in the rest, and the trainer's revision (a probe from other defaults or an older trainer is
 * not the one this request would train).
 */
export function trainingRequestKey(options: TrainProbeOptions): Record<string, unknown> {
  const { signal: _s, onProgress: _p, overwrite: _o, threads: _t, verbose: _v, out: _out, ...key } = options;
  return JSON.parse(JSON.stringify({ ...key, defaults: TRAIN_DEFAULTS, trainerRevision: TRAINER_REVISION }));
}
