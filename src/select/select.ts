/**
 * The in-memory API for Node services: `measure()`, `rank()` and `select()` over arrays of scored documents.
 * Pure and deterministic; the same metric, order, budget and cut code as `infoprune prune` (which streams the same
 * steps through a spill file instead of arrays).
 */
import { InfopruneError, InvalidOptionError } from '../errors.js';
import { checkIdentity, type DocumentIdentity, type ResultScoreColumns, scoreColumnsOf } from '../scores/record.js';
import type { WordFrequencyTable } from '../text/word-frequency.js';
import { expectOneOf, invalidParameterError } from '../util/validate.js';
import { compareKeys, KEY_WORDS, rankSources, writeKey } from './keys.js';
import {
  informationOrder,
  METRIC_NAMES,
  METRICS,
  type MetricName,
  type MetricScores,
  TermAccumulator,
  type TermStatistics,
} from './metrics.js';
import { type Cuts, KeepRule } from './plan.js';

import { resolveSelectionSpec, type SelectionOptions, type SelectionSpec } from './strategies.js';

/**
 * A document to rank: its identity, the score columns the metric reads and, for the metrics that read text
 * (`word-entropy`, `combined`, `combined-z`, `zlib-ratio`), its text. The score columns come under either naming: a
 * `ScoreRecord` as `readScoreFile` and `scoreCorpus` give it (`bits_per_token`), or a `ScoreResult` as
 * `Scorer.score()` gives it (`bitsPerToken`) with an id, source and line added.
 */
export interface SelectableDocument extends DocumentIdentity, Partial<MetricScores>, Partial<ResultScoreColumns> {
  text?: string;
  /** The document's group for per-group counts and `perGroup` budgets (a domain, a subset); default its source. */
  group?: string;
}

export interface MeasureOptions {
  /** Default `bits-per-token`. */
  metric?: MetricName;
  /** Corpus word frequencies f, needed by `word-entropy`, `combined` and `combined-z`. */
  wordFrequencies?: WordFrequencyTable;
}

export interface Measurement {
  metric: MetricName;
  /** The metric value of each document, in input order. */
  values: Float64Array;
  /** Mean and sd of each raw term over the documents (what `combined-z` standardises with). */
  termStatistics: TermStatistics[];
}

export interface RankedDocument extends DocumentIdentity {
  /** Position in the input array. */
  index: number;
  /** 0 for the least informative document. */
  rank: number;
  value: number;
}

export interface SelectOptions extends SelectionOptions {
  wordFrequencies?: WordFrequencyTable;
}

export interface Selection {
  spec: SelectionSpec;
  /** Metric value per input document. */
  values: Float64Array;
  /** 1 where the input document is kept, 0 where pruned. */
  kept: Uint8Array;
  /** Indices of the kept and the pruned documents, in input order. */
  keptIndices: number[];
  prunedIndices: number[];
  counts: { documents: number; kept: number; pruned: number };
  /** Token and byte totals before and after; null when the documents carry no such column. */
  tokens: { before: number; after: number } | null;
  bytes: { before: number; after: number } | null;
  cuts: Cuts;
  termStatistics: TermStatistics[];
  /** Per group (the documents' `group`, else their source), in order of first appearance: what was kept of each. */
  groups: GroupCounts[];
}

/** What a selection kept of one group. */
export interface GroupCounts {
  group: string;
  documents: number;
  kept: number;
  /** Token totals; null when the documents carry no token counts. */
  tokens: number | null;
  keptTokens: number | null;
}

/** Checks the documents; with `needsScores`, returns each one's score columns under the record's names. */
function checkDocuments(documents: readonly SelectableDocument[], needsScores: boolean): (MetricScores | undefined)[] {
  if (!Array.isArray(documents)) throw invalidParameterError('documents', 'array', documents);
  const scores: (MetricScores | undefined)[] = new Array(documents.length);
  const ids = new Set<string>();
  const positions = new Set<string>();
  for (let i = 0; i < documents.length; i++) {
    const document = documents[i];
    if (typeof document !== 'object' || document === null)
      throw invalidParameterError(`documents[${i}]`, 'object', document);
    const where = `documents[${i}]`;
    const { id, source, line } = checkIdentity(document as unknown as Record<string, unknown>, where);
    if (ids.has(id)) throw new InfopruneError('DUPLICATE_ID', `Duplicate id ${JSON.stringify(id)} at ${where}`);
    ids.add(id);
    const position = `${source}\0${line}`;
    if (positions.has(position)) {
      throw new InfopruneError('DUPLICATE_ID', `Duplicate position ${source}:${line} at ${where}`);
    }
    positions.add(position);
    if (needsScores) {
      const record = document as unknown as Record<string, unknown>;
      scores[i] = scoreColumnsOf(record, `${where} (id ${JSON.stringify(id)})`);
    }
  }
  return scores;
}

function measureChecked(
  documents: readonly SelectableDocument[],
  scores: readonly (MetricScores | undefined)[],
  metricName: MetricName,
  wordFrequencies?: WordFrequencyTable,
): Measurement {
  const metric = METRICS[metricName];
  if (metric.needsWordFrequencies && wordFrequencies === undefined) {
    throw new InvalidOptionError(
      'wordFrequencies',
      (name) =>
        `Metric "${metricName}" needs the ${name('wordFrequencies')} option (the scoring run's word-frequency table)`,
    );
  }
  const context = { wordFrequencies };
  const accumulators = metric.termNames.map(() => new TermAccumulator());
  const terms: number[][] = new Array(documents.length);
  for (let i = 0; i < documents.length; i++) {
    const document = documents[i];
    if (metric.needsText && typeof document.text !== 'string') {
      throw invalidParameterError(
        `text of documents[${i}] (id ${JSON.stringify(document.id)})`,
        'string',
        document.text,
      );
    }
    const row = metric.terms({ scores: scores[i], text: document.text }, context);
    row.forEach((term, t) => {
      accumulators[t].add(term);
    });
    terms[i] = row;
  }
  const termStatistics = accumulators.map((accumulator) => accumulator.statistics());
  const values = new Float64Array(documents.length);
  for (let i = 0; i < documents.length; i++) values[i] = metric.value(terms[i], termStatistics);
  return { metric: metricName, values, termStatistics };
}

/** Computes a metric for every document (input order). */
export function measure(documents: readonly SelectableDocument[], options: MeasureOptions = {}): Measurement {
  const metricName = expectOneOf('metric', options.metric ?? 'bits-per-token', METRIC_NAMES);
  const scores = checkDocuments(documents, METRICS[metricName].needsScores);
  return measureChecked(documents, scores, metricName, options.wordFrequencies);
}

type KeyWriter = (
  out: Uint32Array,
  offset: number,
  value: number,
  id: string,
  sourceRank: number,
  line: number,
) => void;

function orderKeys(
  documents: readonly SelectableDocument[],
  write: KeyWriter,
  values: Float64Array,
): { keys: Uint32Array; sources: string[] } {
  const sourceRanks = rankSources(documents.map((document) => document.source));
  const keys = new Uint32Array(documents.length * KEY_WORDS);
  documents.forEach((document, i) => {
    write(keys, i, values[i], document.id, sourceRanks.get(document.source)!, document.line);
  });
  return { keys, sources: [...sourceRanks.keys()] };
}

/** Ranks documents from the least to the most informative under a metric (ties by source, then line). */
export function rank(documents: readonly SelectableDocument[], options: MeasureOptions = {}): RankedDocument[] {
  const { values, metric } = measure(documents, options);
  const definition = METRICS[metric];
  const { keys } = orderKeys(
    documents,
    (out, offset, value, _id, sourceRank, line) =>
      writeKey(out, offset, informationOrder(definition, value), sourceRank, line),
    values,
  );
  const order = Array.from({ length: documents.length }, (_, i) => i).sort((i, j) => compareKeys(keys, i, keys, j));
  return order.map((index, position) => {
    const { id, source, line } = documents[index];
    return { index, rank: position, id, source, line, value: values[index] };
  });
}

/**
 * Selects the documents to keep: the metric, the strategy and one budget (`keepRatio`, `pruneRatio` or
 * `keepTokens`; `min`/`max` for `threshold`), as `infoprune prune` does. See src/select/strategies.ts for the
 * count rule and the token-budget boundary.
 */
export function select(documents: readonly SelectableDocument[], options: SelectOptions): Selection {
  const spec = resolveSelectionSpec(options);
  const metric = METRICS[spec.metric];
  const needsTokens = spec.budget.kind === 'keep-tokens';
  const scores = checkDocuments(documents, metric.needsScores || needsTokens);
  const { values, termStatistics } = measureChecked(documents, scores, spec.metric, options.wordFrequencies);

  const hasTokens = documents.every((document) => typeof document.tokens === 'number');
  const hasBytes = documents.every((document) => typeof document.bytes === 'number');
  const totalTokens = hasTokens ? documents.reduce((sum, document) => sum + document.tokens!, 0) : null;
  const groups = groupDocuments(documents, hasTokens);
  const rule = new KeepRule(spec, documents.length, totalTokens, groups.counts);
  const { keys, sources } = orderKeys(
    documents,
    (out, offset, value, id, sourceRank, line) =>
      rule.writeKey(out, offset, value, rule.randomKeyOf(id), sourceRank, line),
    values,
  );
  const weights = new Float64Array(documents.length);
  documents.forEach((document, i) => {
    weights[i] = rule.weightOf(document.tokens ?? 0);
  });
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  rule.resolve(totalWeight, (visit) => visit(keys, weights, documents.length, groups.indexes));

  const kept = new Uint8Array(documents.length);
  const keptIndices: number[] = [];
  const prunedIndices: number[] = [];
  let tokensAfter = 0;
  let bytesAfter = 0;
  for (let i = 0; i < documents.length; i++) {
    if (rule.keeps(keys, i, values[i], groups.indexes[i])) {
      kept[i] = 1;
      keptIndices.push(i);
      tokensAfter += documents[i].tokens ?? 0;
      bytesAfter += documents[i].bytes ?? 0;
      const counts = groups.counts[groups.indexes[i]];
      counts.kept++;
      if (counts.keptTokens !== null) counts.keptTokens += documents[i].tokens!;
    } else {
      prunedIndices.push(i);
    }
  }
  const cuts = rule.cuts(sources);
  const idAt = new Map(documents.map((document) => [`${document.source}\0${document.line}`, document.id]));
  for (const point of [cuts.lower, cuts.upper]) {
    if (point?.source !== undefined) point.id = idAt.get(`${point.source}\0${point.line}`);
  }
  return {
    spec,
    values,
    kept,
    keptIndices,
    prunedIndices,
    counts: { documents: documents.length, kept: keptIndices.length, pruned: prunedIndices.length },
    tokens: totalTokens === null ? null : { before: totalTokens, after: tokensAfter },
    bytes: hasBytes ? { before: documents.reduce((sum, d) => sum + d.bytes!, 0), after: bytesAfter } : null,
    cuts,
    termStatistics,
    groups: groups.counts,
  };
}

/** Each document's group index (groups in order of first appearance) and the groups' counts, kept ones zero. */
function groupDocuments(
  documents: readonly SelectableDocument[],
  hasTokens: boolean,
): { indexes: Uint32Array; counts: GroupCounts[] } {
  const indexes = new Uint32Array(documents.length);
  const byName = new Map<string, number>();
  const counts: GroupCounts[] = [];
  documents.forEach((document, i) => {
    if (document.group !== undefined && typeof document.group !== 'string') {
      throw invalidParameterError(`group of documents[${i}]`, 'string', document.group);
    }
    const name = document.group ?? document.source;
    let index = byName.get(name);
    if (index === undefined) {
      index = counts.length;
      byName.set(name, index);
      counts.push({
        group: name,
        documents: 0,
        kept: 0,
        tokens: hasTokens ? 0 : null,
        keptTokens: hasTokens ? 0 : null,
      });
    }
    indexes[i] = index;
    counts[index].documents++;
    if (hasTokens) counts[index].tokens! += document.tokens!;
  });
  return { indexes, counts };
}
