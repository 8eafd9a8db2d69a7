/**
 * Selection strategies and budgets: which documents of the ranked corpus are kept.
 *
 * Every strategy but `threshold` keeps one contiguous band of an order: the rank order (ascending information, ties
 * by source then line; src/select/keys.ts) or, for `random`, the order of a seeded hash of the id. The band is
 * measured either in documents (`keepRatio`, `pruneRatio`) or in tokens (`keepTokens`):
 *
 * - document budgets: K = ⌊n·keepRatio + ½⌋ documents are kept (round half up); `pruneRatio` r means keepRatio 1 − r
 *   exactly, computed as K = n − ⌈n·r − ½⌉ so that no floating-point error in 1 − r can move a half.
 * - token budgets: documents are taken in band order until the kept token total reaches N. The document that crosses
 *   N is kept, so kept tokens ≥ N and exceed N by less than that one document's tokens (for `middle`, by less than
 *   one document at each end). When the corpus holds N tokens or fewer, everything is kept.
 *
 * In the band's coordinates a document at position c (the weight of all documents before it in the order) with
 * weight w (1, or its tokens) occupies [c, c + w); band [A, B) keeps the documents from the first with c + w > A to
 * the last with c < B. Documents of zero tokens are kept when they fall inside that range.
 *
 * `band` LOW:HIGH keeps rank positions [⌊n·LOW/100 + ½⌋, ⌊n·HIGH/100 + ½⌋) of the information order. With
 * `perGroup`, a ratio or band budget applies to each group's documents (their own n, their own order) separately.
 */
import { InvalidOptionError } from '../errors.js';
import {
  expectBoolean,
  expectInteger,
  expectNumberInRange,
  expectOneOf,
  invalidParameterError,
} from '../util/validate.js';
import { METRIC_NAMES, type MetricName } from './metrics.js';

/** Every selection default (the CLI's help shows these). */
export const SELECTION_DEFAULTS = Object.freeze({
  metric: 'bits-per-token' as MetricName,
  strategy: 'lowest-first' as StrategyName,
  /** The `random` strategy's seed. */
  seed: 0,
});

export const STRATEGY_NAMES = ['lowest-first', 'highest-first', 'middle', 'random', 'threshold', 'band'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export const STRATEGY_DESCRIPTIONS: Readonly<Record<StrategyName, string>> = {
  'lowest-first': 'Prune the least informative documents first and keep the most informative (the paper).',
  'highest-first': 'Prune the most informative documents first and keep the least informative (the ablation).',
  middle:
    'Keep a central band of the ranking: prune ⌊P/2⌋ documents (or half the pruned tokens) from the least informative end and the rest from the most informative end.',
  random: 'Keep a seeded random sample: documents ordered by a hash of (seed, id), the first ones kept (baseline).',
  threshold: 'Keep every document whose metric value v satisfies min ≤ v ≤ max (either bound may be left open).',
  band: 'Keep a percentile band of the ranking, LOW:HIGH with 0 the least and 100 the most informative (e.g. 20:90: prune the lowest 20 % and the top 10 %).',
};

/** How much to keep: one of the budgets for a ranking strategy, bounds for `threshold`, percentiles for `band`. */
export type Budget =
  | { kind: 'keep-ratio'; keepRatio: number }
  | { kind: 'prune-ratio'; pruneRatio: number }
  | { kind: 'keep-tokens'; keepTokens: number }
  | { kind: 'threshold'; min: number | null; max: number | null }
  | { kind: 'band'; low: number; high: number };

/** The options every selection takes, from the API or the command line. */
export interface SelectionOptions {
  /** Default `bits-per-token`. */
  metric?: MetricName;
  /** Default `lowest-first` (`band` when `band` is given). */
  strategy?: StrategyName;
  /** Fraction of documents to keep, in (0, 1). */
  keepRatio?: number;
  /** Fraction of documents to prune, in (0, 1); the same as keepRatio 1 − pruneRatio. */
  pruneRatio?: number;
  /** Tokens to keep (needs scores). */
  keepTokens?: number;
  /** `threshold`: keep documents whose value is at least this. */
  min?: number;
  /** `threshold`: keep documents whose value is at most this. */
  max?: number;
  /** `band`: the percentiles of the ranking to keep, `[low, high]` or `'low:high'`, 0 ≤ low < high ≤ 100. */
  band?: readonly [number, number] | string;
  /** Apply the budget within each group (source file, or `groupField`) instead of over the whole corpus. */
  perGroup?: boolean;
  /** `random`: the seed (unsigned 32-bit integer), default 0. */
  seed?: number;
}

/** Validated, normalised selection options. */
export interface SelectionSpec {
  metric: MetricName;
  strategy: StrategyName;
  budget: Budget;
  seed: number;
  perGroup: boolean;
}

/** Defaults applied and every selection option checked: the one place `select()` and `pruneCorpus()` resolve them. */
export function resolveSelectionSpec(options: SelectionOptions): SelectionSpec {
  if (typeof options !== 'object' || options === null) throw invalidParameterError('options', 'object', options);
  const metric = expectOneOf('metric', options.metric ?? SELECTION_DEFAULTS.metric, METRIC_NAMES);
  const strategy = expectOneOf(
    'strategy',
    options.strategy ?? (options.band !== undefined ? 'band' : SELECTION_DEFAULTS.strategy),
    STRATEGY_NAMES,
  );
  const seed =
    options.seed === undefined ? SELECTION_DEFAULTS.seed : expectInteger('seed', options.seed, 0, 0xffffffff);
  if (options.seed !== undefined && strategy !== 'random') {
    throw new InvalidOptionError(
      'seed',
      (name) => `${name('seed')} applies only to ${name('strategy')} "random", not "${strategy}"`,
    );
  }
  const budget =
    strategy === 'threshold'
      ? thresholdBudget(options)
      : strategy === 'band'
        ? bandBudget(options)
        : rankingBudget(options, strategy);
  const perGroup = options.perGroup === undefined ? false : expectBoolean('perGroup', options.perGroup);
  if (perGroup && (budget.kind === 'threshold' || budget.kind === 'keep-tokens')) {
    throw new InvalidOptionError(
      'perGroup',
      (name) =>
        `${name('perGroup')} takes a share of each group: ${name('keepRatio')}, ${name('pruneRatio')} or ${name('band')}, not ${budget.kind === 'threshold' ? `${name('min')}/${name('max')}` : name('keepTokens')}`,
    );
  }
  return { metric, strategy, budget, seed, perGroup };
}

const BUDGET_OPTIONS = ['keepRatio', 'pruneRatio', 'keepTokens'] as const;

function givenBudgets(options: SelectionOptions): string[] {
  return [...BUDGET_OPTIONS, 'band'].filter((name) => options[name as keyof SelectionOptions] !== undefined);
}

function thresholdBudget(options: SelectionOptions): Budget {
  const given = givenBudgets(options);
  if (given.length > 0) {
    throw new InvalidOptionError(
      given[0],
      (name) => `Strategy "threshold" takes ${name('min')} and/or ${name('max')}, not ${given.map(name).join(' or ')}`,
    );
  }
  const min = options.min === undefined ? null : expectFinite('min', options.min);
  const max = options.max === undefined ? null : expectFinite('max', options.max);
  if (min === null && max === null) {
    throw new InvalidOptionError('min', (name) => `Strategy "threshold" needs ${name('min')}, ${name('max')} or both`);
  }
  if (min !== null && max !== null && min > max) throw invalidParameterError('max', `number >= min (${min})`, max);
  return { kind: 'threshold', min, max };
}

function rejectBounds(options: SelectionOptions, strategy: StrategyName): void {
  if (options.min !== undefined || options.max !== undefined) {
    throw new InvalidOptionError(
      options.min !== undefined ? 'min' : 'max',
      (name) => `${name('min')} and ${name('max')} apply only to ${name('strategy')} "threshold", not "${strategy}"`,
    );
  }
}

function bandBudget(options: SelectionOptions): Budget {
  rejectBounds(options, 'band');
  const others = givenBudgets(options).filter((name) => name !== 'band');
  if (others.length > 0) {
    throw new InvalidOptionError(
      others[0],
      (name) => `Strategy "band" keeps the percentiles ${name('band')} gives, not ${others.map(name).join(' or ')}`,
    );
  }
  if (options.band === undefined) {
    throw new InvalidOptionError('band', (name) => `Strategy "band" needs ${name('band')} (LOW:HIGH percentiles)`);
  }
  const [low, high] = parseBand(options.band);
  return { kind: 'band', low, high };
}

/** `[low, high]` or `'low:high'` percentiles, 0 ≤ low < high ≤ 100. */
export function parseBand(value: unknown): [number, number] {
  const parts =
    typeof value === 'string'
      ? value.split(':').map((part) => (part.trim() === '' ? NaN : Number(part)))
      : Array.isArray(value)
        ? value
        : [];
  const [low, high] = parts as number[];
  const valid =
    parts.length === 2 &&
    typeof low === 'number' &&
    typeof high === 'number' &&
    Number.isFinite(low) &&
    Number.isFinite(high) &&
    low >= 0 &&
    low < high &&
    high <= 100;
  if (!valid) throw invalidParameterError('band', 'LOW:HIGH percentiles with 0 <= LOW < HIGH <= 100', value);
  return [low, high];
}

function rankingBudget(options: SelectionOptions, strategy: StrategyName): Budget {
  rejectBounds(options, strategy);
  if (options.band !== undefined) {
    throw new InvalidOptionError(
      'band',
      (name) => `${name('band')} selects with ${name('strategy')} "band", not "${strategy}"`,
    );
  }
  const given = givenBudgets(options);
  if (given.length !== 1) {
    const budgets = (name: (option: string) => string) =>
      `${name('keepRatio')}, ${name('pruneRatio')}, ${name('keepTokens')} or ${name('band')}`;
    throw new InvalidOptionError(
      given[0] ?? 'keepRatio',
      given.length === 0
        ? (name) => `Strategy "${strategy}" needs one of ${budgets(name)}`
        : (name) => `Expected one of ${budgets(name)} but received ${given.map(name).join(' and ')}`,
    );
  }
  const ratio = { minExclusive: true, maxExclusive: true };
  if (options.keepRatio !== undefined) {
    return { kind: 'keep-ratio', keepRatio: expectNumberInRange('keepRatio', options.keepRatio, 0, 1, ratio) };
  }
  if (options.pruneRatio !== undefined) {
    return { kind: 'prune-ratio', pruneRatio: expectNumberInRange('pruneRatio', options.pruneRatio, 0, 1, ratio) };
  }
  return { kind: 'keep-tokens', keepTokens: expectInteger('keepTokens', options.keepTokens, 1) };
}

function expectFinite(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidParameterError(name, 'finite number', value);
  return value;
}

/** Documents kept out of n under a ratio budget (the count rule in the module comment). */
export function keptDocuments(n: number, budget: Budget): number {
  if (budget.kind === 'keep-ratio') return Math.floor(n * budget.keepRatio + 0.5);
  if (budget.kind === 'prune-ratio') return n - Math.ceil(n * budget.pruneRatio - 0.5);
  throw new Error(`keptDocuments takes a ratio budget, not ${budget.kind}`);
}

/** A band [lower, upper) in document or token coordinates; null bounds are open. */
export interface Band {
  weighting: 'documents' | 'tokens';
  lower: number | null;
  upper: number | null;
  /** Order the band is taken in. */
  order: 'information' | 'random';
}

/**
 * The band a strategy keeps, given the corpus totals. `tokens` is null when no scores are known (then a token
 * budget is an error the caller reports earlier).
 */
export function bandFor(
  strategy: Exclude<StrategyName, 'threshold'>,
  budget: Budget,
  documents: number,
  tokens: number | null,
): Band {
  let weighting: Band['weighting'];
  let total: number;
  let keep: number;
  if (budget.kind === 'band') {
    // Ranks [⌊n·low/100 + ½⌋, ⌊n·high/100 + ½⌋) of the information order, round half up like the ratios.
    const lower = Math.floor((documents * budget.low) / 100 + 0.5);
    const upper = Math.floor((documents * budget.high) / 100 + 0.5);
    return {
      weighting: 'documents',
      order: 'information',
      lower: lower <= 0 ? null : lower,
      upper: upper >= documents ? null : upper,
    };
  }
  if (budget.kind === 'keep-tokens') {
    if (tokens === null) throw new Error('keepTokens needs token counts (a scores file)');
    weighting = 'tokens';
    total = tokens;
    keep = Math.min(budget.keepTokens, tokens);
  } else {
    weighting = 'documents';
    total = documents;
    keep = keptDocuments(documents, budget);
  }
  const prune = total - keep;
  const order = strategy === 'random' ? 'random' : 'information';
  const open = (lower: number, upper: number): Band => ({
    weighting,
    order,
    lower: lower <= 0 ? null : lower,
    upper: upper >= total ? null : upper,
  });
  if (keep >= total) return { weighting, order, lower: null, upper: null };
  switch (strategy) {
    case 'lowest-first':
    case 'band':
      return open(prune, total);
    case 'highest-first':
    case 'random':
      return open(0, keep);
    case 'middle': {
      const below = weighting === 'documents' ? Math.floor(prune / 2) : prune / 2;
      return open(below, below + keep);
    }
  }
}
