/**
 * Strategy × prune ratio → the pool documents kept, by `select()`: the metric, order and cut code `infoprune prune`
 * uses, so the experiment measures exactly the pruning a user would run (by default with a token budget, `keepTokens`,
 * so that every strategy keeps the same amount of text). The pool carries its probe scores; the
 * word frequencies f of H(W,f) are counted over the pool, as `score` counts them over its corpus.
 */
import type { ScoreResult } from '../engine/types.js';
import { METRICS } from '../select/metrics.js';
import { select } from '../select/select.js';
import { WordFrequencyTable } from '../text/word-frequency.js';
import { splitWords } from '../text/words.js';
import type { PoolDocument } from './data.js';
import { EXPERIMENT_STRATEGIES, type ExperimentStrategyName, type PruneUnit } from './options.js';

/** The probe's scores of one pool document, the columns `select()` reads. */
export type PoolScores = Pick<ScoreResult, 'tokens' | 'nll' | 'bytes' | 'bitsPerToken' | 'bitsPerByte'>;

export interface Subset {
  /** Indices of the kept pool documents, in pool order. */
  kept: number[];
  /** Target tokens the kept documents hold (as trained: each with its BOS separator), and their share of the pool's. */
  keptTokens: number;
  keptTokenShare: number;
  keptDocumentShare: number;
}

/** One cut of the pool: a strategy at a prune ratio, counted in tokens or documents, and the seed (random's). */
export interface Cut {
  strategy: ExperimentStrategyName;
  pruneRatio: number;
  pruneBy: PruneUnit;
  seed: number;
}

/** The word frequencies of the pool (small tables: the pool is at most a few megabytes). */
export function poolWordFrequencies(pool: readonly PoolDocument[]): WordFrequencyTable {
  const table = new WordFrequencyTable(1 << 20);
  for (const document of pool) table.addWords(splitWords(document.text));
  return table;
}

/**
 * The subset a strategy keeps at a prune ratio. `tokens[i]` is what pool document i puts in a target's training
 * stream; select() gets it as the documents' token count (no experiment metric reads that count: they read bits
 * per token, text or H(W,f)), so a token budget is a budget of the text the targets train on. Only `random` depends
 * on the seed: each seed draws its own random subset, so that the baseline's spread includes the luck of the draw.
 */
export function subsetFor(
  pool: readonly PoolDocument[],
  scores: readonly PoolScores[],
  tokens: readonly number[],
  cut: Cut,
  wordFrequencies: WordFrequencyTable,
): Subset {
  const { metric, strategy: order } = EXPERIMENT_STRATEGIES[cut.strategy];
  const documents = pool.map((document, i) => ({ ...document, ...scores[i], tokens: tokens[i] }));
  const totalTokens = tokens.reduce((sum, count) => sum + count, 0);
  // Kept tokens as select() counts kept documents for a prune ratio: the pruned share rounded, the rest kept.
  const budget =
    cut.pruneBy === 'tokens'
      ? { keepTokens: Math.max(1, totalTokens - Math.round(totalTokens * cut.pruneRatio)) }
      : { pruneRatio: cut.pruneRatio };
  const selection = select(documents, {
    metric,
    strategy: order,
    ...budget,
    ...(order === 'random' ? { seed: cut.seed } : {}),
    wordFrequencies: METRICS[metric].needsWordFrequencies ? wordFrequencies : undefined,
  });
  const keptTokens = selection.tokens?.after ?? 0;
  return {
    kept: selection.keptIndices,
    keptTokens,
    keptTokenShare: keptTokens / totalTokens,
    keptDocumentShare: selection.counts.kept / selection.counts.documents,
  };
}

/** Every subset the plan needs, keyed by `subsetKey` (the seed only for random). */
export function buildSubsets(
  pool: readonly PoolDocument[],
  scores: readonly PoolScores[],
  tokens: readonly number[],
  plan: { strategies: ExperimentStrategyName[]; pruneRatios: number[]; pruneBy: PruneUnit; seeds: number[] },
): Map<string, Subset> {
  const wordFrequencies = poolWordFrequencies(pool);
  const subsets = new Map<string, Subset>();
  for (const strategy of plan.strategies) {
    for (const ratio of plan.pruneRatios) {
      for (const seed of strategy === 'random' ? plan.seeds : [0]) {
        const cut = { strategy, pruneRatio: ratio, pruneBy: plan.pruneBy, seed };
        subsets.set(subsetKey(strategy, ratio, seed), subsetFor(pool, scores, tokens, cut, wordFrequencies));
      }
    }
  }
  return subsets;
}

export function subsetKey(strategy: ExperimentStrategyName, ratio: number, seed: number): string {
  return `${strategy}@${ratio}@${strategy === 'random' ? seed : 0}`;
}
