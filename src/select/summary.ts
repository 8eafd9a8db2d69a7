/**
 * What a selection tells a person: the summary written to `selection.json` and the data `report.html` draws
 * (histogram, extremes), gathered in one streaming pass with constant memory.
 */
import { packageVersion } from '../util/version.js';
import type { JoinResult } from './join.js';
import { compareKeys, KEY_WORDS } from './keys.js';
import type { MetricDefinition, MetricName } from './metrics.js';
import type { Cuts, KeepRule } from './plan.js';
import { type Budget, type SelectionSpec, STRATEGY_DESCRIPTIONS, type StrategyName } from './strategies.js';
import type { CurvePoint, GroupShare, LengthBucket, QuantileRow, Sample } from './views.js';

export type { Sample } from './views.js';

export interface SelectionSummary {
  format: 'infoprune-selection';
  version: 1;
  createdAt: string;
  infopruneVersion: string;
  configuration: {
    metric: MetricName;
    strategy: StrategyName;
    budget: Budget;
    seed: number | null;
    scores: string | null;
    wordFrequencies: string | null;
    inputs: string[];
    textField: string | null;
    idField: string | null;
    textMode: 'file' | 'line';
    format: 'auto' | 'jsonl' | 'parquet' | 'text';
    /** The field documents are grouped by; null: by source file. */
    groupField: string | null;
    perGroup: boolean;
    dryRun: boolean;
  };
  /** The probe model behind the scores (from the scores' manifest); null without scores or manifest. */
  model: ModelFacts | null;
  metric: { name: MetricName; unit: string; formula: string; description: string; moreInformative: 'higher' | 'lower' };
  /** The rule, in words: how the kept count or token total follows from the budget. */
  rule: string;
  /** `unscored`: corpus records `score` skipped (named in its errors file), neither kept nor pruned. */
  counts: { documents: number; kept: number; pruned: number; unreadable: number; unscored: number };
  tokens: { before: number; after: number } | null;
  bytes: { before: number; after: number };
  cuts: Cuts;
  values: { min: number; max: number; mean: number } | null;
  /** Mean and sd of each raw term (what `combined-z` standardises with). */
  termStatistics: { term: string; mean: number; sd: number }[];
  /** How the scores were joined to the corpus: streaming in the same order, or by id in memory. */
  join: 'in-order' | 'by-id' | 'none';
  warnings: string[];
  /** Examples of corpus records that could not be read (at most 20). */
  unreadableExamples: { source: string; line: number; reason: string }[];
  /** Examples of corpus records `score` skipped (at most 20), with its reason. */
  unscoredExamples: { source: string; line: number; reason: string }[];
  outputs: { kept: string[]; pruned: string | null; selection: string; report: string };
  timing: { seconds: number; scans: number };
  /** What was kept of each group (source file, or `groupField` value), in order of first appearance. */
  groups: GroupShare[];
  /** Kept shares by document length (tokens, or bytes without scores). */
  lengthBias: { unit: 'tokens' | 'bytes'; buckets: LengthBucket[] };
  /** Pruning the least informative 0 %, 5 %, … 95 %: the cut value and what is kept (tokens, or bytes). */
  quantiles: QuantileRow[];
  /** Kept documents and tokens (or bytes) with the cut at each value, from the least informative up. */
  curve: { unit: 'tokens' | 'bytes'; points: CurvePoint[] };
}

/** The probe model of the scores, as their manifest describes it. */
export interface ModelFacts {
  path: string;
  sha256: string;
  architecture: string;
  description: string;
  parameterCount: number;
  contextSize: number;
  stride: number;
}

export interface HistogramBin {
  from: number;
  to: number;
  kept: number;
  pruned: number;
}

/** Equal-width bins over [min, max] of the metric values, each split into kept and pruned documents. */
export class HistogramAccumulator {
  readonly bins: HistogramBin[];
  private readonly width: number;

  constructor(
    readonly min: number,
    readonly max: number,
    binCount = 48,
  ) {
    const span = max - min;
    const count = span > 0 ? binCount : 1;
    const from = span > 0 ? min : min - 0.5;
    this.width = span > 0 ? span / count : 1;
    this.bins = Array.from({ length: count }, (_, i) => ({
      from: from + i * this.width,
      to: i === count - 1 ? (span > 0 ? max : max + 0.5) : from + (i + 1) * this.width,
      kept: 0,
      pruned: 0,
    }));
  }

  add(value: number, kept: boolean): void {
    let bin = this.bins.length === 1 ? 0 : Math.floor((value - this.min) / this.width);
    if (bin >= this.bins.length) bin = this.bins.length - 1;
    if (bin < 0) bin = 0;
    if (kept) this.bins[bin].kept++;
    else this.bins[bin].pruned++;
  }
}

export const SNIPPET_CHARACTERS = 280;

export function snippetOf(text: string | undefined): string {
  if (text === undefined) return '';
  const collapsed = text
    .slice(0, SNIPPET_CHARACTERS * 4)
    .replace(/\s+/g, ' ')
    .trim();
  return collapsed.length > SNIPPET_CHARACTERS ? `${collapsed.slice(0, SNIPPET_CHARACTERS - 1)}…` : collapsed;
}

/**
 * Keeps the `limit` least and most informative documents seen (by their information order key). The snippet is
 * made only for documents that enter a list, so a stream of millions costs one key comparison each.
 */
export class ExtremesTracker {
  private readonly least: { key: Uint32Array; sample: Sample }[] = [];
  private readonly most: { key: Uint32Array; sample: Sample }[] = [];

  constructor(private readonly limit = 10) {}

  /** Offers the document whose key is `keys[i]`; `sample` is called only if it enters a list. */
  offer(keys: Uint32Array, i: number, sample: () => Sample): void {
    const entersLeast =
      this.least.length < this.limit || compareKeys(keys, i, this.least[this.least.length - 1].key, 0) < 0;
    const entersMost =
      this.most.length < this.limit || compareKeys(keys, i, this.most[this.most.length - 1].key, 0) > 0;
    if (!entersLeast && !entersMost) return;
    const entry = { key: keys.slice(i * KEY_WORDS, (i + 1) * KEY_WORDS), sample: sample() };
    if (entersLeast) insertSorted(this.least, entry, this.limit, (a, b) => compareKeys(a, 0, b, 0));
    if (entersMost) insertSorted(this.most, entry, this.limit, (a, b) => compareKeys(b, 0, a, 0));
  }

  /** Least informative first. */
  leastInformative(): Sample[] {
    return this.least.map((entry) => entry.sample);
  }

  /** Most informative first. */
  mostInformative(): Sample[] {
    return this.most.map((entry) => entry.sample);
  }
}

function insertSorted<T extends { key: Uint32Array }>(
  list: T[],
  entry: T,
  limit: number,
  compare: (a: Uint32Array, b: Uint32Array) => number,
): void {
  let at = list.length;
  while (at > 0 && compare(entry.key, list[at - 1].key) < 0) at--;
  list.splice(at, 0, entry);
  if (list.length > limit) list.pop();
}

/** What `buildSelectionSummary` summarises: the run's configuration and what each pass found. */
export interface SelectionFacts {
  spec: SelectionSpec;
  metric: MetricDefinition;
  configuration: Omit<SelectionSummary['configuration'], 'metric' | 'strategy' | 'budget' | 'seed' | 'perGroup'>;
  joined: JoinResult;
  rule: KeepRule;
  cuts: Cuts;
  values: { min: number; max: number; sum: number };
  written: { kept: number; tokensAfter: number; bytesAfter: number; keptFiles: string[] };
  seconds: number;
  /** Warnings found before the passes (e.g. about the word table). */
  warnings?: string[];
  model: ModelFacts | null;
  views: Pick<SelectionSummary, 'groups' | 'lengthBias' | 'quantiles' | 'curve'>;
}

/** `selection.json`: the configuration, the rule in words, counts, totals before and after, cuts and warnings. */
export function buildSelectionSummary(facts: SelectionFacts): SelectionSummary {
  const { spec, metric, joined, rule, values, written } = facts;
  const { kept } = written;
  return {
    format: 'infoprune-selection',
    version: 1,
    createdAt: new Date().toISOString(),
    infopruneVersion: packageVersion,
    configuration: {
      metric: spec.metric,
      strategy: spec.strategy,
      budget: spec.budget,
      seed: spec.strategy === 'random' ? spec.seed : null,
      perGroup: spec.perGroup,
      ...facts.configuration,
    },
    metric: {
      name: metric.name,
      unit: metric.unit,
      formula: metric.formula,
      description: metric.description,
      moreInformative: metric.moreInformative,
    },
    model: facts.model,
    rule:
      ruleText(spec, joined.documents, joined.tokens, rule) +
      (spec.perGroup
        ? ` Applied within each ${facts.configuration.groupField === null ? 'source file' : `value of ${facts.configuration.groupField}`}: n is the group's documents, the order its own.`
        : ''),
    counts: {
      documents: joined.documents,
      kept,
      pruned: joined.documents - kept,
      unreadable: joined.unreadable,
      unscored: joined.unscored,
    },
    tokens: joined.tokens === null ? null : { before: joined.tokens, after: written.tokensAfter },
    bytes: { before: joined.bytes, after: written.bytesAfter },
    cuts: facts.cuts,
    values: { min: values.min, max: values.max, mean: values.sum / joined.documents },
    termStatistics: metric.termNames.map((term, i) => ({ term, ...joined.termStatistics[i] })),
    join: joined.mode,
    warnings: [...(facts.warnings ?? []), ...selectionWarnings(kept, joined)],
    unreadableExamples: joined.unreadableExamples.map(({ source, line, reason }) => ({ source, line, reason })),
    unscoredExamples: joined.unscoredExamples.map(({ source, line, reason }) => ({ source, line, reason })),
    outputs: {
      kept: written.keptFiles,
      pruned: facts.configuration.dryRun ? null : 'pruned.jsonl',
      selection: 'selection.json',
      report: 'report.html',
    },
    timing: { seconds: Number(facts.seconds.toFixed(3)), scans: rule.scans },
    ...facts.views,
  };
}

function selectionWarnings(kept: number, joined: JoinResult): string[] {
  const warnings: string[] = [];
  if (kept === 0)
    warnings.push('Nothing was kept: the budget rounds to zero documents, or no value passes the threshold.');
  if (kept === joined.documents) warnings.push('Everything was kept: the budget covers the whole corpus.');
  if (joined.unreadable > 0) {
    warnings.push(
      `${joined.unreadable} corpus record(s) could not be read and were skipped: neither kept nor pruned (see unreadableExamples).`,
    );
  }
  if (joined.unscored > 0) {
    warnings.push(
      `${joined.unscored} corpus record(s) score skipped (each is in the scores' <scores>.errors.jsonl with why): neither kept nor pruned (see unscoredExamples).`,
    );
  }
  return warnings;
}

/** The rule in words: how the kept count or token total follows from the budget. */
export function ruleText(spec: SelectionSpec, documents: number, tokens: number | null, rule: KeepRule): string {
  const budget = spec.budget;
  const order = spec.strategy === 'random' ? `seeded random order (seed ${spec.seed})` : 'rank order';
  const strategy = STRATEGY_DESCRIPTIONS[spec.strategy];
  switch (budget.kind) {
    case 'keep-ratio': {
      const kept = Math.floor(documents * budget.keepRatio + 0.5);
      return `${strategy} Kept documents = ⌊n·keepRatio + ½⌋ = ⌊${documents} × ${budget.keepRatio} + ½⌋ = ${kept} (round half up), taken in ${order}; ties in value broken by source, then line.`;
    }
    case 'prune-ratio': {
      const pruned = Math.ceil(documents * budget.pruneRatio - 0.5);
      return `${strategy} Pruned documents = ⌈n·pruneRatio − ½⌉ = ⌈${documents} × ${budget.pruneRatio} − ½⌉ = ${pruned}, kept = ${documents - pruned} (the same as keepRatio ${Number((1 - budget.pruneRatio).toPrecision(12))}, round half up), taken in ${order}; ties in value broken by source, then line.`;
    }
    case 'keep-tokens':
      return `${strategy} Documents are taken in ${order} until the kept tokens reach ${budget.keepTokens} of ${tokens}; the document that crosses the budget is kept (so kept tokens ≥ the budget, by less than one document${spec.strategy === 'middle' ? ' at each end' : ''}).${rule.band?.lower === null && rule.band?.upper === null ? ' The budget covers the whole corpus: everything is kept.' : ''}`;
    case 'threshold':
      return `${strategy} Kept iff ${budget.min === null ? '' : `${budget.min} ≤ `}value${budget.max === null ? '' : ` ≤ ${budget.max}`} (${rule.metric.unit}).`;
    case 'band': {
      const from = Math.floor((documents * budget.low) / 100 + 0.5);
      const to = Math.floor((documents * budget.high) / 100 + 0.5);
      return `${strategy} Kept: rank order positions ⌊n·${budget.low}/100 + ½⌋ = ${from} to ⌊n·${budget.high}/100 + ½⌋ = ${to} (exclusive) of n = ${documents}, i.e. ${to - from} documents; ties in value broken by source, then line.`;
    }
  }
}
