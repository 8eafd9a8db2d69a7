/**
 * What the runs say: mean and sd per strategy, ratio and regime; for each strategy the paired difference to random
 * at the same seeds (the seed fixes the initial weights and the window order, so pairing removes their share of the
 * noise) with a t-based 95 % confidence interval; and verdicts that say plainly when no difference is detectable.
 * Pure functions of the run results.
 */
import { FULL, type RunResult } from './plan.js';

export interface Spread {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); 0 for one value. */
  sd: number;
}

export interface StrategySummary {
  strategy: string;
  ratio: number;
  regime: string;
  /** Mean kept share of the pool's target tokens, and mean documents kept. */
  keptFraction: number;
  keptDocuments: number;
  bitsPerByte: Spread;
  bitsPerToken: Spread;
  tokensTrained: number;
}

export interface Comparison {
  strategy: string;
  ratio: number;
  regime: string;
  /** Seeds both the strategy and random ran at. */
  seeds: number[];
  /** strategy − random, held-out bits/byte, per seed and summarised: negative means the strategy is better. */
  differences: number[];
  difference: Spread;
  /** Half-width of the 95 % confidence interval of the mean difference (null below two seeds). */
  halfWidth: number | null;
  outcome: 'better' | 'worse' | 'no-difference' | 'too-few-seeds';
  verdict: string;
}

export interface RatioVerdict {
  ratio: number;
  regime: string;
  verdict: string;
}

export interface Analysis {
  summaries: StrategySummary[];
  comparisons: Comparison[];
  verdicts: RatioVerdict[];
}

export function spread(values: readonly number[]): Spread {
  const n = values.length;
  if (n === 0) return { n, mean: Number.NaN, sd: Number.NaN };
  const mean = values.reduce((sum, value) => sum + value, 0) / n;
  const squares = values.reduce((sum, value) => sum + (value - mean) ** 2, 0);
  return { n, mean, sd: n > 1 ? Math.sqrt(squares / (n - 1)) : 0 };
}

/** Student's t quantile t(0.975, df): a table to 30 degrees of freedom, a Cornish–Fisher expansion beyond. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a positive integer: ${df}`);
  if (df <= T975.length) return T975[df - 1];
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2);
}

/** The 95 % confidence interval's half-width for the mean of paired differences. */
export function confidenceHalfWidth(difference: Spread): number | null {
  if (difference.n < 2) return null;
  return (tQuantile975(difference.n - 1) * difference.sd) / Math.sqrt(difference.n);
}

const UNIT = 'bits/byte';
const show = (value: number) => value.toFixed(4);

/** One comparison's verdict, in words. */
export function compare(
  strategy: string,
  ratio: number,
  regime: string,
  pairs: Map<number, [number, number]>,
): Comparison {
  const seeds = [...pairs.keys()].sort((a, b) => a - b);
  const differences = seeds.map((seed) => pairs.get(seed)![0] - pairs.get(seed)![1]);
  const difference = spread(differences);
  const halfWidth = confidenceHalfWidth(difference);
  const name = strategy === FULL ? 'the full pool' : strategy;
  const seedsText = `${seeds.length} seed${seeds.length === 1 ? '' : 's'}`;
  let outcome: Comparison['outcome'];
  let verdict: string;
  if (halfWidth === null) {
    outcome = 'too-few-seeds';
    verdict = `too few seeds for a confidence interval: ${name} − random = ${signed(difference.mean)} ${UNIT} (${seedsText})`;
  } else if (Math.abs(difference.mean) > halfWidth) {
    outcome = difference.mean < 0 ? 'better' : 'worse';
    verdict = `${name} ${outcome === 'better' ? 'beats' : 'is worse than'} random by ${show(Math.abs(difference.mean))} ± ${show(halfWidth)} ${UNIT} (95 % CI, ${seedsText})`;
  } else {
    outcome = 'no-difference';
    verdict = `no difference detectable at this budget: ${name} − random = ${signed(difference.mean)} ± ${show(halfWidth)} ${UNIT} (95 % CI, ${seedsText})`;
  }
  return { strategy, ratio, regime, seeds, differences, difference, halfWidth, outcome, verdict };
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : '−'}${show(Math.abs(value))}`;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const name = key(item);
    groups.set(name, [...(groups.get(name) ?? []), item]);
  }
  return groups;
}

export function summarise(results: readonly RunResult[]): StrategySummary[] {
  return [...groupBy(results, (r) => `${r.strategy}\0${r.ratio}\0${r.regime}`).values()].map((runs) => ({
    strategy: runs[0].strategy,
    ratio: runs[0].ratio,
    regime: runs[0].regime,
    keptFraction: spread(runs.map((r) => r.kept_fraction)).mean,
    keptDocuments: spread(runs.map((r) => r.kept_documents)).mean,
    bitsPerByte: spread(runs.map((r) => r.heldout_bits_per_byte)),
    bitsPerToken: spread(runs.map((r) => r.heldout_bits_per_token)),
    tokensTrained: spread(runs.map((r) => r.tokens_trained)).mean,
  }));
}

/**
 * Every strategy (and the full pool) against random at each ratio and regime, paired by seed. The full pool's runs
 * serve both regimes.
 */
export function analyse(results: readonly RunResult[]): Analysis {
  const random = results.filter((r) => r.strategy === 'random');
  const comparisons: Comparison[] = [];
  for (const [, baseline] of groupBy(random, (r) => `${r.ratio}\0${r.regime}`)) {
    const { ratio, regime } = baseline[0];
    const randomAt = new Map(baseline.map((r) => [r.seed, r.heldout_bits_per_byte]));
    const others = results.filter(
      (r) => r.strategy === FULL || (r.strategy !== 'random' && r.ratio === ratio && r.regime === regime),
    );
    for (const [strategy, runs] of groupBy(others, (r) => r.strategy)) {
      const pairs = new Map<number, [number, number]>();
      for (const run of runs) {
        const other = randomAt.get(run.seed);
        if (other !== undefined) pairs.set(run.seed, [run.heldout_bits_per_byte, other]);
      }
      if (pairs.size > 0) comparisons.push(compare(strategy, ratio, regime, pairs));
    }
  }
  return { summaries: summarise(results), comparisons, verdicts: ratioVerdicts(comparisons) };
}

/** One line per ratio and regime: the strategy that beats random by the most, or that none is detectably better. */
export function ratioVerdicts(comparisons: readonly Comparison[]): RatioVerdict[] {
  const pruned = comparisons.filter((c) => c.strategy !== FULL);
  return [...groupBy(pruned, (c) => `${c.ratio}\0${c.regime}`).values()].map((group) => {
    const { ratio, regime } = group[0];
    const better = group.filter((c) => c.outcome === 'better').sort((a, b) => a.difference.mean - b.difference.mean);
    const where = `${Math.round(ratio * 100)} % pruned, ${regime}`;
    if (better.length > 0) return { ratio, regime, verdict: `${where}: ${better[0].verdict}` };
    if (group.every((c) => c.outcome === 'too-few-seeds')) {
      return { ratio, regime, verdict: `${where}: too few seeds to compare with random (at least 2 needed)` };
    }
    const worse = group.filter((c) => c.outcome === 'worse').map((c) => c.strategy);
    if (worse.length === 0) return { ratio, regime, verdict: `${where}: no difference detectable at this budget` };
    return { ratio, regime, verdict: `${where}: no strategy beats random; worse than random: ${worse.join(', ')}` };
  });
}
