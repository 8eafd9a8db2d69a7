/**
 * `runExperiment()`'s options: every default in one literal (the CLI's help shows them), the experiment's strategies
 * as data (each one a metric and a `select()` strategy, so the experiment prunes exactly as `prune` does), and one
 * resolver in better-sqlite3's order (defaults → checks → interpretation → checks of the interpreted values).
 */
import { availableParallelism } from 'node:os';
import { type ReadingOptions, resolveReadingOptions } from '../corpus/options.js';
import type { MetricName } from '../select/metrics.js';
import type { StrategyName } from '../select/strategies.js';
import { PROBE_SHAPE_NAMES, type ProbeShape, type ProbeShapeName, resolveShape } from '../train/options.js';
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

/** The pruning strategies an experiment compares: a metric and the `select()` strategy that cuts on it. */
export const EXPERIMENT_STRATEGIES = {
  'lowest-first': { metric: 'bits-per-token', strategy: 'lowest-first', about: 'prune the lowest H(W,q) (the paper)' },
  combined: { metric: 'combined', strategy: 'lowest-first', about: 'prune the lowest H(W,q) + H(W,f)' },
  'highest-first': { metric: 'bits-per-token', strategy: 'highest-first', about: 'prune the highest H(W,q)' },
  middle: { metric: 'bits-per-token', strategy: 'middle', about: 'keep the middle band of H(W,q)' },
  random: { metric: 'bits-per-token', strategy: 'random', about: 'a seeded random subset (the baseline)' },
  'zlib-ratio': { metric: 'zlib-ratio', strategy: 'lowest-first', about: 'prune the most zlib-compressible' },
} as const satisfies Record<string, { metric: MetricName; strategy: StrategyName; about: string }>;

export type ExperimentStrategyName = keyof typeof EXPERIMENT_STRATEGIES;
export const EXPERIMENT_STRATEGY_NAMES = Object.keys(EXPERIMENT_STRATEGIES) as ExperimentStrategyName[];

/** Equal compute: every target trains the same tokens; equal epochs: that budget times the kept share. */
export const REGIMES = ['equal-compute', 'equal-epochs'] as const;
export type Regime = (typeof REGIMES)[number];

/**
 * What a prune ratio counts. `tokens`: every strategy keeps the same share of the pool's target tokens (within a
 * document at each end of its band), so no strategy wins by keeping more text; `documents`: the share of documents,
 * as `prune --prune-ratio` counts (then a strategy that drops short documents keeps more tokens).
 */
export const PRUNE_UNITS = ['tokens', 'documents'] as const;
export type PruneUnit = (typeof PRUNE_UNITS)[number];

/** The shape `--quick` trains (probe and targets): seconds per model on one core. */
const QUICK_SHAPE: ProbeShape = {
  layers: 1,
  embedding: 64,
  heads: 2,
  kvHeads: 1,
  feedForward: 128,
  vocabularySize: 512,
};

/** Every experiment default, in one literal; `quick` replaces some of them for a smoke run of a few minutes. */
export const EXPERIMENT_DEFAULTS = Object.freeze({
  strategies: EXPERIMENT_STRATEGY_NAMES,
  pruneRatios: [0.1, 0.3, 0.5] as readonly number[],
  regimes: REGIMES as readonly Regime[],
  pruneBy: 'tokens' as PruneUnit,
  seeds: 3,
  /** The targets' shape: small enough that the whole default experiment runs in about an hour on two cores. */
  shape: 'tiny' as ProbeShapeName | ProbeShape,
  /** Tokens each equal-compute target (and the full pool) trains on. */
  budgetTokens: 250_000,
  /** The training pool: at most this much text, a seeded sample spread over the corpus. */
  poolBytes: 2 * 1024 * 1024,
  /** Held-out text each target is evaluated on (a seeded slice of the inputs, or `heldout`). */
  heldoutBytes: 256 * 1024,
  /** The probe (when no `model` is given): trained on the pool, never on the held-out slice. */
  probeShape: 'small' as ProbeShapeName | ProbeShape,
  probeBudgetTokens: 1_000_000,
  keepModels: false,
  quick: Object.freeze({
    strategies: ['lowest-first', 'middle', 'random'] as ExperimentStrategyName[],
    pruneRatios: [0.5],
    seeds: 2,
    shape: QUICK_SHAPE,
    budgetTokens: 12_000,
    poolBytes: 160 * 1024,
    heldoutBytes: 24 * 1024,
    probeShape: QUICK_SHAPE,
    probeBudgetTokens: 12_000,
  }),
});

export interface ExperimentProgress {
  phase: 'reading' | 'probe' | 'scoring' | 'vocabulary' | 'tokenizing' | 'training' | 'done';
  /** Runs finished (this session or an earlier one) and planned. */
  runsDone: number;
  runsTotal: number;
  /** Runs found finished from an earlier session. */
  runsResumed: number;
  /** The run in progress: its key, and its steps so far. */
  run?: string;
  steps?: number;
  totalSteps?: number;
  /** Training tokens per second over this session, and the seconds left at that speed. */
  tokensPerSecond?: number;
  etaSeconds?: number;
  elapsedSeconds: number;
}

export interface ExperimentOptions extends ReadingOptions {
  inputs: string[];
  /** The experiment's folder: results.json, report.html, runs/ (one file per finished run), the probe. */
  out: string;
  /** Documents to evaluate on instead of a held-out slice of the inputs. */
  heldout?: string[];
  /** The probe to score with, instead of training one on the pool. */
  model?: string;
  strategies?: ExperimentStrategyName[];
  /** Shares of the pool to prune, each in (0, 1). */
  pruneRatios?: number[];
  /** What a ratio counts: the pool's target tokens (default; every strategy keeps the same text) or documents. */
  pruneBy?: PruneUnit;
  regimes?: Regime[];
  /** How many seeds (1, 2, …) or which. Every strategy trains at the same seeds (a paired comparison). */
  seeds?: number | number[];
  shape?: ProbeShapeName | ProbeShape;
  budgetTokens?: number;
  poolBytes?: number;
  heldoutBytes?: number;
  probeShape?: ProbeShapeName | ProbeShape;
  probeBudgetTokens?: number;
  /** Smaller defaults for a smoke run of a few minutes (explicit options still win). */
  quick?: boolean;
  /** Keep each target's GGUF under models/ (default: deleted once evaluated). */
  keepModels?: boolean;
  /** Start over in a folder that holds another experiment. */
  overwrite?: boolean;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (progress: ExperimentProgress) => void;
}

export interface ResolvedExperimentOptions {
  inputs: string[];
  out: string;
  reading: ReadingOptions;
  heldout: string[] | undefined;
  model: string | undefined;
  strategies: ExperimentStrategyName[];
  pruneRatios: number[];
  pruneBy: PruneUnit;
  regimes: Regime[];
  seeds: number[];
  shape: ProbeShape;
  budgetTokens: number;
  poolBytes: number;
  heldoutBytes: number;
  probeShape: ProbeShape;
  probeBudgetTokens: number;
  keepModels: boolean;
  overwrite: boolean;
  threads: number;
  signal: AbortSignal | undefined;
  onProgress: ((progress: ExperimentProgress) => void) | undefined;
}

const KNOWN_OPTIONS = new Set([
  ...['inputs', 'out', 'heldout', 'model', 'strategies', 'pruneRatios', 'pruneBy', 'regimes', 'seeds', 'shape'],
  ...['budgetTokens', 'poolBytes', 'heldoutBytes', 'probeShape', 'probeBudgetTokens', 'quick', 'keepModels'],
  ...['overwrite', 'threads', 'signal', 'onProgress', 'textField', 'idField', 'textMode', 'format'],
  'maxDocumentBytes',
]);

export function resolveExperimentOptions(options: ExperimentOptions): ResolvedExperimentOptions {
  // 1. Defaults: the quick ones under the explicit ones.
  expectObject('options', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw invalidParameterError(key, 'a known option of runExperiment', key);
  }
  const quick = expectBoolean('quick', options.quick ?? false);
  const d = { ...EXPERIMENT_DEFAULTS, ...(quick ? EXPERIMENT_DEFAULTS.quick : {}) };
  // 2. Checks, and the interpreted values.
  return {
    inputs: paths('inputs', options.inputs),
    out: expectString('out', options.out, { nonEmpty: true }),
    reading: {
      textField: options.textField,
      idField: options.idField,
      textMode: options.textMode,
      format: options.format,
      maxDocumentBytes: options.maxDocumentBytes,
    },
    heldout: options.heldout === undefined ? undefined : paths('heldout', options.heldout),
    model: options.model === undefined ? undefined : expectString('model', options.model, { nonEmpty: true }),
    strategies: strategies(options.strategies ?? [...d.strategies]),
    pruneRatios: pruneRatios(options.pruneRatios ?? [...d.pruneRatios]),
    pruneBy: expectOneOf('pruneBy', options.pruneBy ?? d.pruneBy, PRUNE_UNITS),
    regimes: distinct('regimes', options.regimes ?? [...d.regimes], (name, value) => expectOneOf(name, value, REGIMES)),
    seeds: seeds(options.seeds ?? d.seeds),
    shape: shape('shape', options.shape ?? d.shape),
    budgetTokens: expectPositiveInteger('budgetTokens', options.budgetTokens ?? d.budgetTokens),
    poolBytes: expectInteger('poolBytes', options.poolBytes ?? d.poolBytes, 16 * 1024),
    heldoutBytes: expectInteger('heldoutBytes', options.heldoutBytes ?? d.heldoutBytes, 1024),
    probeShape: shape('probeShape', options.probeShape ?? d.probeShape),
    probeBudgetTokens: expectPositiveInteger('probeBudgetTokens', options.probeBudgetTokens ?? d.probeBudgetTokens),
    keepModels: expectBoolean('keepModels', options.keepModels ?? d.keepModels),
    overwrite: expectBoolean('overwrite', options.overwrite ?? false),
    threads: expectInteger('threads', options.threads ?? availableParallelism(), 1, availableParallelism()),
    signal: expectSignal('signal', options.signal),
    onProgress: expectFunction('onProgress', options.onProgress),
  };
}

function paths(name: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidParameterError(name, 'non-empty array of paths', value);
  return value.map((path, i) => expectString(`${name}[${i}]`, path, { nonEmpty: true }));
}

function distinct<T>(name: string, value: unknown, check: (name: string, value: unknown) => T): T[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidParameterError(name, 'non-empty array', value);
  const checked = value.map((item, i) => check(`${name}[${i}]`, item));
  if (new Set(checked).size !== checked.length) throw invalidParameterError(name, 'array without repeats', value);
  return checked;
}

/** Random is always run: every other strategy is compared with it. */
function strategies(value: unknown): ExperimentStrategyName[] {
  const names = distinct('strategies', value, (name, item) => expectOneOf(name, item, EXPERIMENT_STRATEGY_NAMES));
  return names.includes('random') ? names : [...names, 'random'];
}

function pruneRatios(value: unknown): number[] {
  const ratios = distinct('pruneRatios', value, (name, item) =>
    expectNumberInRange(name, item, 0, 1, { minExclusive: true, maxExclusive: true }),
  );
  return ratios.sort((a, b) => a - b);
}

function seeds(value: unknown): number[] {
  if (typeof value === 'number') {
    const count = expectInteger('seeds', value, 1, 1000);
    return Array.from({ length: count }, (_, i) => i + 1);
  }
  return distinct('seeds', value, (name, item) => expectInteger(name, item, 0, 0xffffffff));
}

function shape(name: string, value: unknown): ProbeShape {
  if (typeof value === 'string') expectOneOf(name, value, PROBE_SHAPE_NAMES);
  return resolveShape(value).shape;
}

/**
 * What decides the results (so a resumed experiment continues only the same one): not threads, callbacks or out,
 * nor the strategies, ratios and seeds (a run's key names those, so more of them can be added to a folder).
 */
export function experimentKey(run: ResolvedExperimentOptions): Record<string, unknown> {
  const { inputs, heldout, model, shape, budgetTokens, poolBytes, heldoutBytes, pruneBy } = run;
  const { idFieldExplicit: _explicit, ...reading } = resolveReadingOptions(run.reading);
  const probe = model === undefined ? { shape: run.probeShape, budgetTokens: run.probeBudgetTokens } : { model };
  const key = { inputs, reading, heldout, probe, shape, budgetTokens, poolBytes, heldoutBytes, pruneBy };
  return JSON.parse(JSON.stringify(key));
}
