/**
 * infoprune: rank and prune LLM training corpora by information content. The package entry: what a user calls, and
 * its types. (Model generation for tests and benchmarks is `infoprune/testing`, src/testing.ts.)
 *
 * - engine:  openScorer() / openTokenizer(): exact per-token log-probabilities from a GGUF model (C++ addon).
 * - corpus:  readCorpus(): the records of JSONL, Parquet and text files, folders and globs.
 * - score:   scoreCorpus() streams score records; runScoreJob() writes a resumable score file; mergeShards().
 * - scores:  readScoreFile(), readManifest(), scoreFilePaths(), readTokenLogprobs(): the score-file format.
 * - select:  measure() / rank() / select() in memory; pruneCorpus() streaming; the metrics and strategies.
 * - train:   trainProbe(): the paper's data probe, a small GGUF model trained on the corpus itself.
 * - experiment: runExperiment(): which pruning helps on this corpus, by training small models on each subset.
 * - errors:  every error infoprune raises on purpose has a stable `code` (InfopruneError, InvalidOptionError).
 */

export type { ReadingOptions } from './corpus/options.js';
export { type CorpusRecord, type ReadCorpusOptions, type RecordError, readCorpus } from './corpus/read.js';
export type { ShardSpec } from './corpus/shard.js';
export { openScorer } from './engine/scorer.js';
export { openTokenizer } from './engine/tokenizer.js';
export type {
  ModelInfo,
  ScoreOptions,
  ScoreResult,
  Scorer,
  ScorerOptions,
  ScorerStats,
  TokenizedDocument,
  Tokenizer,
} from './engine/types.js';
export {
  InfopruneError,
  type InfopruneErrorCode,
  InvalidOptionError,
  type OptionNamer,
} from './errors.js';
export type { Analysis, Comparison, RatioVerdict, Spread, StrategySummary } from './experiment/analysis.js';
export { type ExperimentResult, runExperiment } from './experiment/experiment.js';
export type {
  ExperimentOptions,
  ExperimentProgress,
  ExperimentStrategyName,
  PruneUnit,
  Regime,
} from './experiment/options.js';
export type { RunResult } from './experiment/plan.js';
export { describeModel, type GgufHeader, type ModelDescription, readGgufHeader } from './gguf/reader.js';
export { validateGgufFile } from './gguf/validate.js';
export { type AnnotateOptions, type AnnotateSummary, annotateCorpus } from './pipeline/annotate.js';
export { runScoreJob, type ScoreJobOptions, type ScoreJobSummary } from './pipeline/job.js';
export { type MergeOptions, type MergeSummary, mergeShards } from './pipeline/merge.js';
export type { ScoreCorpusOptions, TokenizerModule } from './pipeline/options.js';
export {
  type CorpusScore,
  type ScoreCorpusCallbacks,
  type ScoreCorpusRun,
  scoreCorpus,
} from './pipeline/score-corpus.js';
export type { ScoreProgress, SkippedRecord } from './pipeline/session.js';
export { type ScoreFileFormat, type ScoreFilePaths, scoreFilePaths } from './scores/files.js';
export { readTokenLogprobs, type TokenLogprobs } from './scores/logprobs.js';
export { type RunCounts, readManifest, type ScoreManifest } from './scores/manifest.js';
export { type ReadScoreFileOptions, readScoreFile } from './scores/read.js';
export { SCORE_RECORD_COLUMNS, type ScoreRecord } from './scores/record.js';
export {
  METRIC_NAMES,
  METRICS,
  type MetricContext,
  type MetricDefinition,
  type MetricInput,
  type MetricName,
  type MetricScores,
  type TermStatistics,
} from './select/metrics.js';
export type { CutPoint, Cuts } from './select/plan.js';
export { type CorpusReader, type PruneOptions, type PruneResult, pruneCorpus } from './select/prune.js';
export { type ReportData, renderReport } from './select/report.js';
export {
  type Measurement,
  type MeasureOptions,
  measure,
  type RankedDocument,
  rank,
  type SelectableDocument,
  type Selection,
  type SelectOptions,
  select,
} from './select/select.js';
export {
  type Budget,
  type SelectionOptions,
  type SelectionSpec,
  STRATEGY_DESCRIPTIONS,
  STRATEGY_NAMES,
  type StrategyName,
} from './select/strategies.js';
export type { HistogramBin, Sample, SelectionSummary } from './select/summary.js';
export { WordFrequencyTable } from './text/word-frequency.js';
export { splitWords } from './text/words.js';
export type { EarlyStop, ProbeShape, ProbeShapeName, TrainProbeOptions, TrainProgress } from './train/options.js';
export type { CurvePoint, TrainingRecord } from './train/record.js';
export { type TrainProbeResult, trainProbe } from './train/train-probe.js';
