/**
 * One target model: trained from its seed's initial model on a subset's token stream with the probe's own trainer
 * (`trainModel`), for exactly the run's tokens (windows are drawn at random from the stream, so a subset smaller than
 * the budget is simply seen more often: no epoch cap here), then scored on the held-out texts as `score` scores.
 */
import { rmSync } from 'node:fs';
import { heldoutBits } from '../train/measure.js';
import { TRAIN_DEFAULTS, type TrainProgress } from '../train/options.js';
import { type TrainingPlan, tokensPerStep } from '../train/schedule.js';
import { trainModel } from '../train/train-model.js';

export interface TargetRequest {
  initialModel: string;
  /** Where the trained model goes (deleted after evaluation unless `keep`). */
  out: string;
  keep: boolean;
  training: Int32Array;
  /** The held-out stream (the training curve) and texts (the evaluation). */
  heldoutStream: Int32Array;
  heldoutTexts: string[];
  tokens: number;
  seed: number;
  threads: number;
  signal?: AbortSignal;
  onProgress?: (progress: Partial<TrainProgress>) => void;
}

export interface TargetResult {
  tokensTrained: number;
  steps: number;
  heldoutBitsPerByte: number;
  heldoutBitsPerToken: number;
  /** Seconds of training and evaluation. */
  seconds: number;
}

export async function trainAndEvaluateTarget(request: TargetRequest): Promise<TargetResult> {
  const started = performance.now();
  const plan = targetPlan(request.tokens);
  try {
    const trained = await trainModel({
      initialModel: request.initialModel,
      out: request.out,
      training: request.training,
      heldout: request.heldoutStream,
      plan,
      seed: request.seed,
      threads: request.threads,
      gpuLayers: 0,
      bigramFitIterations: 0,
      keepBest: false,
      patience: 0,
      // A short run warms up for a tenth of its steps, not for more steps than it has.
      warmupSteps: Math.max(1, Math.min(TRAIN_DEFAULTS.warmupSteps, Math.ceil(plan.totalSteps / 10))),
      signal: request.signal,
      onProgress: request.onProgress,
    });
    const bits = await heldoutBits(request.out, request.heldoutTexts, request.threads);
    return {
      tokensTrained: trained.loop.tokensSeen,
      steps: trained.loop.steps,
      heldoutBitsPerByte: bits.bitsPerByte,
      heldoutBitsPerToken: bits.bitsPerToken,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    if (!request.keep) rmSync(request.out, { force: true });
  }
}

/** Whole windows: the run trains ⌈tokens / window⌉ steps of one window each. */
export function targetPlan(tokens: number): TrainingPlan {
  const totalSteps = Math.max(1, Math.ceil(tokens / tokensPerStep()));
  return { budgetTokens: totalSteps * tokensPerStep(), totalSteps, budgetSeconds: undefined, cappedByEpochs: false };
}
