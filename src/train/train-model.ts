/**
 * One model trained on a token stream with llama.cpp's training API: the steps `trainProbe` and the experiment's
 * target models share. The model starts from its initial GGUF (vocabulary and seeded random weights, see
 * initial-model.ts), takes its embeddings from the stream's bigram statistics, trains to the plan, and is written
 * atomically and checked.
 */
import { type NativeTrainer, nativeBinding } from '../engine/native.js';
import { validateGgufFile } from '../gguf/validate.js';
import { replaceAtomically } from '../util/files.js';
import { type LoopResult, runTraining } from './loop.js';
import { TRAIN_DEFAULTS, type TrainProgress } from './options.js';
import type { TrainingPlan } from './schedule.js';

export interface TrainModelRequest {
  /** The model before training (writeInitialProbe). */
  initialModel: string;
  /** Where the trained GGUF goes. */
  out: string;
  /** `[BOS] doc [BOS] doc ...` to draw training windows from, and a held-out stream for the loss curve. */
  training: Int32Array;
  heldout: Int32Array;
  plan: TrainingPlan;
  seed: number;
  threads: number;
  gpuLayers: number;
  learningRate?: number;
  warmupSteps?: number;
  /**
   * Steps of the full-batch fit of the initial embeddings to the stream's bigram (0: the spectral factorisation
   * alone). The probe fits (bigramFitIterations); the experiment's targets keep the factorisation, as their recorded
   * runs did.
   */
  bigramFitIterations: number;
  /** End with the weights of the best held-out curve point (the probe) rather than the last (the targets). */
  keepBest: boolean;
  /** With keepBest: stop once this many curve points in a row have not beaten the best (0: never stop early). */
  patience: number;
  signal?: AbortSignal;
  onProgress?: (progress: Partial<TrainProgress>) => void;
}

export interface TrainedModel {
  loop: LoopResult;
  /** Mean absolute change of the token embeddings during training. */
  embeddingChange: number;
}

export async function trainModel(request: TrainModelRequest): Promise<TrainedModel> {
  const report = request.onProgress ?? (() => undefined);
  const trainer = await nativeBinding().createTrainer(request.initialModel, {
    contextSize: TRAIN_DEFAULTS.contextSize,
    threads: request.threads,
    gpuLayers: request.gpuLayers,
    seed: request.seed,
    learningRate: request.learningRate ?? TRAIN_DEFAULTS.learningRate,
    minLearningRateRatio: TRAIN_DEFAULTS.minLearningRateRatio,
    beta1: TRAIN_DEFAULTS.beta1,
    beta2: TRAIN_DEFAULTS.beta2,
    weightDecay: TRAIN_DEFAULTS.weightDecay,
    warmupSteps: request.warmupSteps ?? TRAIN_DEFAULTS.warmupSteps,
    totalSteps: request.plan.totalSteps,
  });
  try {
    report({ phase: 'initialising' });
    trainer.setTrainingTokens(request.training);
    await trainer.initialiseFromBigrams(request.bigramFitIterations);
    const { keepBest, patience, signal } = request;
    const loop = await runTraining(trainer, request.plan, request.heldout, report, { keepBest, patience, signal });
    const embeddingChange = trainer.embeddingChange();
    await saveModel(trainer, request.out);
    return { loop, embeddingChange };
  } finally {
    trainer.dispose();
  }
}

/** Written under a temporary name, checked as a GGUF, then renamed into place. */
async function saveModel(trainer: NativeTrainer, out: string): Promise<void> {
  const save = async (temporary: string) => {
    await trainer.save(temporary);
    validateGgufFile(temporary);
  };
  await replaceAtomically(out, save, { durable: true });
}
