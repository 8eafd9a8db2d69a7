/** The corpus scoring pipeline's public API (re-exported by the package entry). */
export { scoreCorpus, type ScoreCorpusCallbacks, type ScoreCorpusRun } from './score-corpus.js';
export { runScoreJob, outputPaths, type ScoreJobOptions, type ScoreJobSummary, type OutputPaths } from './job.js';
export { mergeShards, type MergeOptions, type MergeSummary } from './merge.js';
export {
  readCorpus,
  type CorpusRecord,
  type ReadCorpusOptions,
  type ReadCorpusExtraOptions,
  type RecordError,
} from './corpus.js';
export { readScoreRecords, scoreFileFormat, type ScoreFileFormat } from './score-files.js';
export { readManifest, type ScoreManifest } from './manifest.js';
export { parseShard, shardOf, type ShardSpec } from './shard.js';
export type { ScoreCorpusOptions, ReadingOptions, TokenizerModule } from './options.js';
export type { RunCounts, ScoreProgress, SkippedRecord } from './session.js';
