/**
 * The training loop: optimizer steps in calls of about half a second (so progress flows and a cancel is seen soon),
 * a held-out evaluation at each curve point, and, for a time budget, the schedule re-planned from the measured speed.
 */
import type { NativeTrainer } from '../engine/native.js';
import { type EarlyStop, TRAIN_DEFAULTS, type TrainProgress } from './options.js';
import type { CurvePoint } from './record.js';
import { type TrainingPlan, tokensPerStep } from './schedule.js';

export interface LoopOptions {
  /** End with the weights of the best held-out curve point (the probe) rather than the last (the targets). */
  keepBest: boolean;
  /** With keepBest: stop once this many curve points in a row have not beaten the best (0: never stop early). */
  patience: number;
  signal?: AbortSignal;
}

export interface LoopResult {
  steps: number;
  tokensSeen: number;
  seconds: number;
  curve: CurvePoint[];
  /** The step whose weights the model has at the end: the last, or (keepBest) the best held-out point. */
  keptStep: number;
  /** Where the run stopped before its budget (patience ran out), or null. */
  stoppedEarly: EarlyStop | null;
}

const CALL_SECONDS = 0.5;

export async function runTraining(
  trainer: NativeTrainer,
  plan: TrainingPlan,
  heldout: Int32Array,
  report: (progress: Partial<TrainProgress>) => void,
  { keepBest, patience, signal }: LoopOptions,
): Promise<LoopResult> {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const onAbort = () => trainer.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const curve = new Curve(trainer, heldout, keepBest, patience);
  let totalSteps = plan.totalSteps;
  let steps = 0;
  let stepsPerCall = 4;
  let trainingSeconds = 0;
  let lossSum = 0;
  let lossSteps = 0;
  let nextPoint = curveInterval(totalSteps);
  let stoppedEarly: EarlyStop | null = null;
  // Where training starts from (the bigram initialisation): the curve's first point.
  await curve.measure(0, elapsed(), null);
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
        heldoutLoss = await curve.measure(steps, elapsed(), lossSum / lossSteps);
        lossSum = lossSteps = 0;
        nextPoint = steps + curveInterval(totalSteps);
        stoppedEarly = curve.earlyStop(totalSteps);
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
        ...(stoppedEarly && { stoppedEarly }),
      });
      if (stoppedEarly) break;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  signal?.throwIfAborted();
  const keptStep = curve.keepBestWeights(steps);
  const tokensSeen = steps * tokensPerStep();
  return { steps, tokensSeen, seconds: trainingSeconds, curve: curve.points, keptStep, stoppedEarly };
}

/**
 * The curve's points and, when the run keeps its best, the weights at its best held-out point so far. Why: from the
 * bigram fit, a CPU budget of training can leave the model worse on held-out text than where it started
 * (docs/probe.md), and a probe should never be worse than its own starting point. The same run stops once
 * `patience` points in a row have not beaten that best: the rest of such a budget bought nothing on Brown.
 */
class Curve {
  readonly points: CurvePoint[] = [];
  private bestLoss = Number.POSITIVE_INFINITY;
  private bestStep = -1;
  private sinceBest = 0;

  constructor(
    private readonly trainer: NativeTrainer,
    private readonly heldout: Int32Array,
    private readonly keepBest: boolean,
    private readonly patience: number,
  ) {}

  /** A point at the trainer's current weights; returns its held-out loss. */
  async measure(step: number, seconds: number, trainLoss: number | null): Promise<number | null> {
    const heldoutLoss = await evaluateHeldout(this.trainer, this.heldout);
    this.points.push({ step, tokens: step * tokensPerStep(), seconds, trainLoss, heldoutLoss });
    if (!this.keepBest || heldoutLoss === null) return heldoutLoss;
    if (heldoutLoss < this.bestLoss) {
      this.bestLoss = heldoutLoss;
      this.bestStep = step;
      this.sinceBest = 0;
      this.trainer.rememberWeights();
    } else this.sinceBest++;
    return heldoutLoss;
  }

  /** Stop at the point just added: `patience` points without a new best, before the end of the budget anyway. */
  earlyStop(totalSteps: number): EarlyStop | null {
    const step = this.points.at(-1)?.step ?? 0;
    if (this.patience === 0 || this.sinceBest < this.patience || step >= totalSteps) return null;
    return { step, reason: 'patience', patience: this.patience };
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
