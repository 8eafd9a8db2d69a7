/**
 * Strategy × prune ratio → the pool documents kept, by `select()`: the metric, order and cut code `infoprune prune`
 * uses, so the experiment measures exactly the pruning a user would run. The pool carries its probe scores; the
 * word frequencies f of H(W,f) are counted over the pool, as `score` counts them over its corpus.
 */
import type { ScoreResult } from '../engine/types.js';
import { METRICS } from '../select/metrics.js';
import { select } from '../select/select.js';
import { WordFrequencyTable } from '../text/word-frequency.js';
import { splitWords } from '../text/words.js';
import type { PoolDocument } from './data.js';
import { EXPERIMENT_STRATEGIES, type ExperimentStrategyName } from './options.js';

/** The probe's scores of one pool document, the columns `select()` reads. */
export type PoolScores = Pick<ScoreResult, 'tokens' | 'nll' | 'bytes' | 'bitsPerToken' | 'bitsPerByte'>;

export interface Subset {
  /** Indices of the kept pool documents, in pool order. */
  kept: number[];
  /** Kept share of the pool's documents and of its probe tokens. */
  keptDocumentShare: number;
  keptTokenShare: number;
}

/** The word frequencies of the pool (small tables: the pool is at most a few megabytes). */
export function poolWordFrequencies(pool: readonly PoolDocument[]): WordFrequencyTable {
  const table = new WordFrequencyTable(1 << 20);
  for (const document of pool) table.addWords(splitWords(document.text));
  return table;
}

/**
 * The subset a strategy keeps at a prune ratio. Only `random` depends on the seed: each seed draws its own random
 * subset, so that the baseline's spread includes the luck of the draw.
 */
export function subsetFor(
  pool: readonly PoolDocument[],
  scores: readonly PoolScores[],
  strategy: ExperimentStrategyName,
  pruneRatio: number,
  seed: number,
  wordFrequencies: WordFrequencyTable,
): Subset {
  const { metric, strategy: order } = EXPERIMENT_STRATEGIES[strategy];
  const documents = pool.map((document, i) => ({ ...document, ...scores[i] }));
  const selection = select(documents, {
    metric,
    strategy: order,
    pruneRatio,
    ...(order === 'random' ? { seed } : {}),
    wordFrequencies: METRICS[metric].needsWordFrequencies ? wordFrequencies : undefined,
  });
  const tokens = selection.tokens ?? { before: 1, after: 1 };
  return {
    kept: selection.keptIndices,
    keptDocumentShare: selection.counts.kept / selection.counts.documents,
    keptTokenShare: tokens.after / tokens.before,
  };
}

/** Every subset the plan needs, keyed by `subsetKey` (the seed only for random). */
export function buildSubsets(
  pool: readonly PoolDocument[],
  scores: readonly PoolScores[],
  plan: { strategies: ExperimentStrategyName[]; pruneRatios: number[]; seeds: number[] },
): Map<string, Subset> {
  const wordFrequencies = poolWordFrequencies(pool);
  const subsets = new Map<string, Subset>();
  for (const strategy of plan.strategies) {
    for (const ratio of plan.pruneRatios) {
      for (const seed of strategy === 'random' ? plan.seeds : [0]) {
        subsets.set(subsetKey(strategy, ratio, seed), subsetFor(pool, scores, strategy, ratio, seed, wordFrequencies));
      }
    }
  }
  return subsets;
}

export function subsetKey(strategy: ExperimentStrategyName, ratio: number, seed: number): string {
  return `${strategy}@${ratio}@${strategy === 'random' ? seed : 0}`;
}
