/**
 * The runs an experiment trains, in the order it trains them, and their keys (the names of their result files).
 * Seed by seed, so that a stopped experiment already holds complete paired comparisons for its first seeds. The full
 * pool runs once per seed and serves both regimes (its kept share is 1: equal compute and equal epochs agree).
 */
import type { ExperimentStrategyName, Regime, ResolvedExperimentOptions } from './options.js';

/** The strategy name of the runs on the whole pool. */
export const FULL = 'full';

export interface PlannedRun {
  key: string;
  strategy: ExperimentStrategyName | typeof FULL;
  /** Share of the pool pruned (of its tokens or documents: `pruneBy`): 0 for the full pool. */
  ratio: number;
  regime: Regime | 'both';
  seed: number;
}

export function runKey(run: Omit<PlannedRun, 'key'>): string {
  if (run.strategy === FULL) return `full-seed${run.seed}`;
  return `${run.strategy}-prune${Math.round(run.ratio * 1000) / 10}-${run.regime}-seed${run.seed}`;
}

export function planRuns(
  options: Pick<ResolvedExperimentOptions, 'strategies' | 'pruneRatios' | 'regimes' | 'seeds'>,
): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const add = (run: Omit<PlannedRun, 'key'>) => runs.push({ key: runKey(run), ...run });
  for (const seed of options.seeds) {
    add({ strategy: FULL, ratio: 0, regime: 'both', seed });
    for (const ratio of options.pruneRatios) {
      for (const strategy of options.strategies) {
        for (const regime of options.regimes) add({ strategy, ratio, regime, seed });
      }
    }
  }
  return runs;
}

/** Tokens a run trains: the budget under equal compute (and for the full pool), the kept share of it otherwise. */
export function tokensFor(run: Pick<PlannedRun, 'regime'>, budgetTokens: number, keptTokenShare: number): number {
  return run.regime === 'equal-epochs' ? Math.max(1, Math.round(budgetTokens * keptTokenShare)) : budgetTokens;
}

/** One finished run, with the field names. */
export interface RunResult {
  key: string;
  strategy: string;
  /** Share of the pool pruned (0: the full pool). */
  ratio: number;
  regime: string;
  seed: number;
  tokens_trained: number;
  heldout_bits_per_byte: number;
  heldout_bits_per_token: number;
  seconds: number;
  /** Kept share of the pool's target tokens, the kept target tokens (with BOS separators) and documents kept. */
  kept_fraction: number;
  kept_tokens: number;
  kept_documents: number;
  steps: number;
}
