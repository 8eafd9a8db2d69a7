/**
 * The training loop: optimizer steps in calls of about half a second (so progress flows and a cancel is seen soon),
 * a held-out evaluation at each curve point, and, for a time budget, the schedule re-planned from the measured speed.
 */
import type { NativeTrainer } from '../engine/native.js';
import { TRAIN_DEFAULTS, type TrainProgress } from './options.js';
import type { CurvePoint } from './record.js';
import { type TrainingPlan, tokensPerStep } from './schedule.js';

export interface LoopResult {
  steps: number;
  tokensSeen: number;
  seconds: number;
  curve: CurvePoint[];
  /** The step whose weights the model has at the end: the last, or (keepBest) the best held-out point. */
  keptStep: number;
}

const CALL_SECONDS = 0.5;

export async function runTraining(
  trainer: NativeTrainer,
  plan: TrainingPlan,
  heldout: Int32Array,
  report: (progress: Partial<TrainProgress>) => void,
  keepBest: boolean,
  signal?: AbortSignal,
): Promise<LoopResult> {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const onAbort = () => trainer.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const curve = new Curve(trainer, keepBest);
  let totalSteps = plan.totalSteps;
  let steps = 0;
  let stepsPerCall = 4;
  let trainingSeconds = 0;
  let lossSum = 0;
  let lossSteps = 0;
  let nextPoint = curveInterval(totalSteps);
  // Where training starts from (the bigram initialisation): the curve's first point.
  curve.add({
    step: 0,
    tokens: 0,
    seconds: elapsed(),
    trainLoss: null,
    heldoutLoss: await evaluateHeldout(trainer, heldout),
  });
  try {
    while (steps < totalSteps && !(plan.budgetSeconds !== undefined && elapsed() >= plan.budgetSeconds)) {
      signal?.throwIfAborted();
      // A call never runs past a curve point: the points (and so the kept best) fall on the same steps however fast
      // the machine is, which keeps a seeded run on one thread deterministic.
      const n = Math.min(stepsPerCall, totalSteps - steps, Math.max(1, nextPoint - steps));
      const callStart = performance.now();
      const loss = await trainer.train(n);
      const callSeconds = (performance.now() - callStart) / 1000;
      trainingSeconds += callSeconds;
      steps += n;
      lossSum += loss * n;
      lossSteps += n;
      stepsPerCall = Math.max(1, Math.min(256, Math.round((n * CALL_SECONDS) / Math.max(callSeconds, 1e-3))));
      const speed = (steps * tokensPerStep()) / trainingSeconds;
      if (plan.budgetSeconds !== undefined) {
        totalSteps = steps + Math.max(0, Math.floor(((plan.budgetSeconds - elapsed()) * speed) / tokensPerStep()));
        trainer.setTotalSteps(totalSteps);
      }
      let heldoutLoss: number | null | undefined;
      if (steps >= nextPoint || steps >= totalSteps) {
        heldoutLoss = await evaluateHeldout(trainer, heldout);
        curve.add({
          step: steps,
          tokens: steps * tokensPerStep(),
          seconds: elapsed(),
          trainLoss: lossSum / lossSteps,
          heldoutLoss,
        });
        lossSum = lossSteps = 0;
        nextPoint = steps + curveInterval(totalSteps);
      }
      report({
        phase: 'training',
        steps,
        totalSteps,
        tokens: steps * tokensPerStep(),
        totalTokens: totalSteps * tokensPerStep(),
        trainLoss: loss,
        heldoutLoss: heldoutLoss ?? curve.points.at(-1)?.heldoutLoss ?? undefined,
        tokensPerSecond: speed,
        etaSeconds: ((totalSteps - steps) * tokensPerStep()) / speed,
      });
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  signal?.throwIfAborted();
  const keptStep = curve.keepBestWeights(steps);
  return { steps, tokensSeen: steps * tokensPerStep(), seconds: trainingSeconds, curve: curve.points, keptStep };
}

/**
 * The curve's points and, when the run keeps its best, the weights at its best held-out point so far. Why: from the
 * bigram fit, a CPU budget of training can leave the model worse on held-out text than where it started
 * (docs/probe.md), and a probe should never be worse than its own starting point.
 */
class Curve {
  readonly points: CurvePoint[] = [];
  private bestLoss = Number.POSITIVE_INFINITY;
  private bestStep = -1;

  constructor(
    private readonly trainer: NativeTrainer,
    private readonly keepBest: boolean,
  ) {}

  add(point: CurvePoint): void {
    this.points.push(point);
    if (this.keepBest && point.heldoutLoss !== null && point.heldoutLoss < this.bestLoss) {
      this.bestLoss = point.heldoutLoss;
      this.bestStep = point.step;
      this.trainer.rememberWeights();
    }
  }

  /** Puts the best point's weights back unless the run ended there; returns the step the model now has. */
  keepBestWeights(lastStep: number): number {
    if (this.bestStep < 0 || this.bestStep === lastStep) return lastStep;
    this.trainer.restoreWeights();
    return this.bestStep;
  }
}

function curveInterval(totalSteps: number): number {
  return Math.max(1, Math.ceil(totalSteps / TRAIN_DEFAULTS.curvePoints));
}

/** null when the held-out text is shorter than one window (the record then has no curve of it). */
async function evaluateHeldout(trainer: NativeTrainer, heldout: Int32Array): Promise<number | null> {
  if (heldout.length < tokensPerStep() + 1) return null;
  return trainer.evaluate(heldout, TRAIN_DEFAULTS.evaluationWindows);
}
