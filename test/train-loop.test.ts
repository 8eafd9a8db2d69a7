/**
 * The training loop's early stopping, on a fake trainer whose held-out losses are scripted: it stops after exactly
 * `patience` curve points without a new best, not while the loss improves, never with patience 0 or without
 * keep-best, and ends with the best point's weights. And `patience` is checked where it enters (API and flags).
 */
import { describe, expect, it } from 'vitest';
import { optionsFromFlags, SCORE_FLAGS, TRAIN_FLAGS } from '../src/cli/flags.js';
import type { NativeTrainer } from '../src/engine/native.js';
import { probeRequestOf } from '../src/pipeline/probe.js';
import { type LoopOptions, runTraining } from '../src/train/loop.js';
import { resolveTrainOptions, TRAIN_DEFAULTS, type TrainProgress } from '../src/train/options.js';
import type { TrainingPlan } from '../src/train/schedule.js';

/** 100 steps: curve points every 10 (TRAIN_DEFAULTS.curvePoints = 10), at steps 0, 10, ..., 100. */
const TOTAL_STEPS = 100;
const PLAN: TrainingPlan = {
  budgetTokens: TOTAL_STEPS * 256,
  totalSteps: TOTAL_STEPS,
  budgetSeconds: undefined,
  cappedByEpochs: false,
};
const HELDOUT = new Int32Array(4 * 256);

/** A trainer whose weights are "the step they were trained to" and whose n-th evaluation returns losses[n]. */
function fakeTrainer(losses: number[]) {
  const state = { steps: 0, weights: 0, remembered: -1, evaluations: 0 };
  const trainer: Partial<NativeTrainer> = {
    train: async (steps) => {
      state.steps += steps;
      state.weights = state.steps;
      return 1;
    },
    evaluate: async () => {
      const loss = losses[state.evaluations++];
      if (loss === undefined) throw new Error(`no scripted loss for evaluation ${state.evaluations}`);
      return loss;
    },
    setTotalSteps: () => undefined,
    rememberWeights: () => {
      state.remembered = state.weights;
    },
    restoreWeights: () => {
      state.weights = state.remembered;
    },
    abort: () => undefined,
  };
  return { trainer: trainer as NativeTrainer, state };
}

async function run(losses: number[], options: Partial<LoopOptions>) {
  const { trainer, state } = fakeTrainer(losses);
  const reports: Partial<TrainProgress>[] = [];
  const result = await runTraining(trainer, PLAN, HELDOUT, (progress) => reports.push(progress), {
    keepBest: true,
    patience: 3,
    ...options,
  });
  return { result, state, reports };
}

/** 11 points: step 0, then ten more. */
const worse = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
const improving = [5, 4.9, 4.8, 4.7, 4.6, 4.5, 4.4, 4.3, 4.2, 4.1, 4.0];

describe('runTraining: early stopping', () => {
  it('stops after exactly `patience` curve points without a new best and keeps the best', async () => {
    const { result, state, reports } = await run(worse, { patience: 3 });
    expect(result.stoppedEarly).toEqual({ step: 30, reason: 'patience', patience: 3 });
    expect(result.steps).toBe(30);
    expect(state.steps).toBe(30);
    expect(result.tokensSeen).toBe(30 * 256);
    expect(result.curve.map((point) => point.step)).toEqual([0, 10, 20, 30]);
    expect(result.keptStep).toBe(0);
    expect(state.weights).toBe(0);
    expect(reports.at(-1)?.stoppedEarly).toEqual(result.stoppedEarly);
    expect(reports.slice(0, -1).some((report) => report.stoppedEarly)).toBe(false);
  });

  it('counts from the latest best: a new best resets the count, a tie does not', async () => {
    // Best 4 at step 30; 4 again at step 40 is no improvement; 40, 50, 60 make three.
    const { result, state } = await run([5, 6, 7, 4, 4, 4.5, 6, 7, 8, 9, 10], { patience: 3 });
    expect(result.stoppedEarly?.step).toBe(60);
    expect(result.keptStep).toBe(30);
    expect(state.weights).toBe(30);
  });

  it('does not stop while the held-out loss improves', async () => {
    const { result, state } = await run(improving, { patience: 1 });
    expect(result.stoppedEarly).toBeNull();
    expect(result.steps).toBe(TOTAL_STEPS);
    expect(result.keptStep).toBe(TOTAL_STEPS);
    expect(state.weights).toBe(TOTAL_STEPS);
  });

  it('never stops early with patience 0, without keep-best, or when patience runs out at the last point', async () => {
    for (const options of [{ patience: 0 }, { keepBest: false }, { patience: 10 }]) {
      const { result } = await run(worse, options);
      expect(result.stoppedEarly, JSON.stringify(options)).toBeNull();
      expect(result.steps).toBe(TOTAL_STEPS);
      expect(result.curve).toHaveLength(11);
    }
    // Keep-best still restores the start when the run went to its end.
    const { result, state } = await run(worse, { patience: 0 });
    expect([result.keptStep, state.weights]).toEqual([0, 0]);
  });

  it('does not stop without a held-out curve', async () => {
    const { trainer } = fakeTrainer([]);
    const result = await runTraining(trainer, PLAN, new Int32Array(10), () => undefined, {
      keepBest: true,
      patience: 1,
    });
    expect(result.stoppedEarly).toBeNull();
    expect(result.steps).toBe(TOTAL_STEPS);
    expect(result.curve.every((point) => point.heldoutLoss === null)).toBe(true);
  });
});

describe('patience, where it enters', () => {
  const base = { inputs: ['corpus.jsonl'], out: 'probe.gguf' };

  it('defaults to TRAIN_DEFAULTS.patience, with or without GPU layers', () => {
    expect(resolveTrainOptions(base).patience).toBe(TRAIN_DEFAULTS.patience);
    expect(resolveTrainOptions({ ...base, gpuLayers: 'max' }).patience).toBe(TRAIN_DEFAULTS.patience);
    expect(resolveTrainOptions({ ...base, gpuLayers: 0, patience: 0 }).patience).toBe(0);
    expect(resolveTrainOptions({ ...base, patience: 7 }).patience).toBe(7);
  });

  it('refuses anything but a non-negative integer, with INVALID_OPTION', () => {
    for (const patience of [-1, 1.5, Number.POSITIVE_INFINITY, Number.NaN, '3']) {
      expect(() => resolveTrainOptions({ ...base, patience: patience as number }), String(patience)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(/patience/) }),
      );
    }
  });

  it('comes from --patience (train) and --probe-patience (score), checked there too', () => {
    expect(optionsFromFlags(TRAIN_FLAGS, { patience: '5' }).patience).toBe(5);
    expect(optionsFromFlags(SCORE_FLAGS, { probePatience: '0' }).patience).toBe(0);
    expect(() => optionsFromFlags(TRAIN_FLAGS, { patience: '-1' })).toThrow(/--patience/);
    expect(() => optionsFromFlags(SCORE_FLAGS, { probePatience: 'x' })).toThrow(/--probe-patience/);
    const request = probeRequestOf({ out: 'scores.jsonl', inputs: ['corpus.jsonl'], probe: { patience: 2 } });
    expect(request?.training.patience).toBe(2);
  });
});
