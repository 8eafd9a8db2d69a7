/**
 * How long a probe trains: a token budget (deterministic for a seed on one thread) or a time budget (planned from
 * the measured speed), capped so that no document is seen more than `maxEpochs` times on average.
 */
import { InfopruneError } from '../errors.js';
import { TRAIN_DEFAULTS } from './options.js';

export interface TrainingPlan {
  /** Tokens to train on (for a time budget: the current estimate). */
  budgetTokens: number;
  totalSteps: number;
  /** The time budget, when there is one. */
  budgetSeconds: number | undefined;
  /** Whether the epoch cap shortened the asked budget. */
  cappedByEpochs: boolean;
}

/** Tokens one optimizer step trains on. */
export const tokensPerStep = () => TRAIN_DEFAULTS.contextSize;

/** A first guess of the speed, before any step ran (tokens per second), to size the sample for a time budget. */
const GUESSED_TOKENS_PER_SECOND = { cpu: 10_000, gpu: 200_000 };

/** The token budget when none is given: fixed on a CPU; on a GPU a share of the corpus, within bounds. */
export function defaultBudgetTokens(gpuLayers: number, estimatedCorpusTokens: number): number {
  if (gpuLayers === 0) return TRAIN_DEFAULTS.budgetTokens;
  const { min, max } = TRAIN_DEFAULTS.gpuBudgetTokens;
  return Math.round(Math.min(max, Math.max(min, TRAIN_DEFAULTS.gpuBudgetShare * estimatedCorpusTokens)));
}

/** Tokens the sample should hold for a budget: one pass over fresh text, when the corpus has it. */
export function sampleTokensFor(
  budgetTokens: number | undefined,
  budgetSeconds: number | undefined,
  gpuLayers: number,
): number {
  if (budgetTokens !== undefined) return budgetTokens;
  const speed = gpuLayers === 0 ? GUESSED_TOKENS_PER_SECOND.cpu : GUESSED_TOKENS_PER_SECOND.gpu;
  return Math.round((budgetSeconds ?? 0) * speed);
}

export function planTraining(
  budgetTokens: number,
  budgetSeconds: number | undefined,
  trainingTokens: number,
): TrainingPlan {
  if (trainingTokens < 2 * tokensPerStep() + 1) {
    throw new InfopruneError(
      'CORPUS_TOO_SMALL',
      `The training documents hold ${trainingTokens} tokens: a probe needs at least ${2 * tokensPerStep() + 1} (two windows of ${tokensPerStep()})`,
    );
  }
  const cap = TRAIN_DEFAULTS.maxEpochs * trainingTokens;
  const tokens = Math.min(budgetTokens, cap);
  return {
    budgetTokens: tokens,
    totalSteps: Math.max(1, Math.ceil(tokens / tokensPerStep())),
    budgetSeconds,
    cappedByEpochs: budgetTokens > cap,
  };
}
