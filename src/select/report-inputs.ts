/**
 * Setting up the report's views for one prune (src/select/views.ts) from what the cut search found, and reading
 * them back once the output pass has fed them: the group shares (with each group's cuts), the quantile table, and
 * the documents either side of each cut.
 */
import { KEY_WORDS, keyValue, writeKey } from './keys.js';
import type { MeasuredSpill } from './measured.js';
import { informationOrder, type MetricDefinition } from './metrics.js';
import type { CutPoint, Cuts, KeepRule } from './plan.js';
import {
  type GroupShare,
  type NearCut,
  NearCutTracker,
  type QuantileRow,
  QuantileTokens,
  ReportViews,
} from './views.js';

/** The percentiles of the quantile table: pruning 0 %, 5 %, …, 95 % of the least informative documents. */
export const QUANTILE_PERCENTS = Array.from({ length: 20 }, (_, i) => i * 5);

export interface ReportSetup {
  views: ReportViews;
  quantiles: { percent: number; key: Uint32Array }[];
  cuts: { side: NearCut['side']; value: number; tracker: NearCutTracker }[];
}

/** The views for this prune: groups of the join, the value range, quantile keys found now, trackers at the cuts. */
export function setUpReportViews(
  measured: MeasuredSpill,
  rule: KeepRule,
  cuts: Cuts,
  groups: readonly string[],
  tokensKnown: boolean,
  values: { min: number; max: number },
): ReportSetup {
  const metric = measured.metric;
  const higher = metric.moreInformative === 'higher';
  const range = higher ? { low: values.min, high: values.max } : { low: -values.max, high: -values.min };
  const found = measured.quantileKeys(QUANTILE_PERCENTS);
  const quantiles = QUANTILE_PERCENTS.flatMap((percent, i) => (found[i] === null ? [] : [{ percent, key: found[i]! }]));
  const keys = new Uint32Array(quantiles.length * KEY_WORDS);
  quantiles.forEach((quantile, i) => {
    keys.set(quantile.key, i * KEY_WORDS);
  });
  const trackers = cutTrackers(measured, rule, cuts);
  const views = new ReportViews(
    groups,
    tokensKnown,
    range,
    (order) => (higher ? order : -order),
    new QuantileTokens(keys, quantiles.length),
    trackers.map((cut) => cut.tracker),
  );
  return { views, quantiles, cuts: trackers };
}

/**
 * A tracker at each end of a global cut in information order: a ranking strategy's boundary documents, or a
 * threshold's bounds (which, for a metric where lower is more informative, swap ends). None for `random` and per
 * group (their cuts are per group, or not by information).
 */
function cutTrackers(measured: MeasuredSpill, rule: KeepRule, cuts: Cuts): ReportSetup['cuts'] {
  if (cuts.order !== 'information' || cuts.groups !== undefined) return [];
  const metric = measured.metric;
  const ranks = new Map(measured.sortedSources.map((source, rank) => [source, rank]));
  const pivot = (order: number, rank: number, line: number): Uint32Array => {
    const key = new Uint32Array(KEY_WORDS);
    writeKey(key, 0, order, rank, line);
    return key;
  };
  const made: ReportSetup['cuts'] = [];
  const add = (side: NearCut['side'], value: number, key: Uint32Array) =>
    made.push({ side, value, tracker: new NearCutTracker(key, side === 'upper') });
  if (rule.spec.budget.kind !== 'threshold') {
    const at = (point: CutPoint) =>
      pivot(informationOrder(metric, point.value), ranks.get(point.source!) ?? 0, point.line ?? 0);
    if (cuts.lower?.source !== undefined) add('lower', cuts.lower.value, at(cuts.lower));
    if (cuts.upper?.source !== undefined) add('upper', cuts.upper.value, at(cuts.upper));
    return made;
  }
  const { min, max } = rule.spec.budget;
  const lowOrder = metric.moreInformative === 'higher' ? min : max === null ? null : -max;
  const highOrder = metric.moreInformative === 'higher' ? max : min === null ? null : -min;
  const lowValue = metric.moreInformative === 'higher' ? min : max;
  const highValue = metric.moreInformative === 'higher' ? max : min;
  if (lowOrder !== null) add('lower', lowValue!, pivot(lowOrder, 0, 0));
  if (highOrder !== null) add('upper', highValue!, pivot(highOrder, 0xffffffff, 0xffffffff));
  return made;
}

/** The quantile table, once the output pass has counted the tokens at each quantile. */
export function quantileRows(setup: ReportSetup, measured: MeasuredSpill, tokensKnown: boolean): QuantileRow[] {
  const quantiles = setup.views.quantiles!;
  return setup.quantiles.map(({ percent, key }, q) => {
    const kept = quantiles.keptAt(q);
    return {
      percent,
      value: valueOfKey(measured.metric, key),
      keptDocuments: kept.documents,
      keptTokens: tokensKnown ? kept.tokens : null,
    };
  });
}

/** The documents either side of each cut. */
export function nearCuts(setup: ReportSetup): NearCut[] {
  return setup.cuts.map(({ side, value, tracker }) => ({ side, value, ...tracker.result() }));
}

/** The group shares, with each group's own cut values under a per-group rule. */
export function groupShares(setup: ReportSetup, cuts: Cuts, tokensKnown: boolean): GroupShare[] {
  const shares = setup.views.groups.shares(tokensKnown);
  if (cuts.groups === undefined) return shares;
  return shares.map((share, i) => ({
    ...share,
    cuts: { lower: cuts.groups![i]?.lower?.value ?? null, upper: cuts.groups![i]?.upper?.value ?? null },
  }));
}

/** The metric value a key orders by (information order is its own inverse: a negation or nothing). */
function valueOfKey(metric: MetricDefinition, key: Uint32Array): number {
  const value = informationOrder(metric, keyValue(key));
  return value === 0 ? 0 : value;
}
