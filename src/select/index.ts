/**
 * Public API of information-based selection: measures, strategies, the in-memory `rank()` / `select()`, and the
 * streaming `pruneCorpus()` behind `infoprune prune`.
 */

export type {
  MetricContext,
  MetricDefinition,
  MetricInput,
  MetricName,
  MetricScores,
  TermStatistics,
} from './metrics.js';
export { METRIC_NAMES, METRICS, zlibCompressedBytes } from './metrics.js';
export type { CutPoint, Cuts } from './plan.js';
export type { CorpusReader, PruneOptions, PruneResult } from './prune.js';
export { pruneCorpus } from './prune.js';
export type { ReportData } from './report.js';
export { renderReport } from './report.js';
export { readScoreFile, wordFrequencyPathFor } from './scores-file.js';
export type {
  Measurement,
  MeasureOptions,
  RankedDocument,
  SelectableDocument,
  Selection,
  SelectOptions,
} from './select.js';
export { measure, rank, select } from './select.js';
export type { Band, Budget, SelectionOptions, SelectionSpec, StrategyName } from './strategies.js';
export { bandFor, keptDocuments, resolveSelectionSpec, STRATEGY_DESCRIPTIONS, STRATEGY_NAMES } from './strategies.js';
export type { HistogramBin, Sample, SelectionSummary } from './summary.js';
