/** The corpus scoring pipeline's public API (re-exported by the package entry). */

export {
  type CorpusRecord,
  type ReadCorpusExtraOptions,
  type ReadCorpusOptions,
  type RecordError,
  readCorpus,
} from './corpus.js';
export { type OutputPaths, outputPaths, runScoreJob, type ScoreJobOptions, type ScoreJobSummary } from './job.js';
export { readManifest, type ScoreManifest } from './manifest.js';
export { type MergeOptions, type MergeSummary, mergeShards } from './merge.js';
export type { ReadingOptions, ScoreCorpusOptions, TokenizerModule } from './options.js';
export { type ScoreCorpusCallbacks, type ScoreCorpusRun, scoreCorpus } from './score-corpus.js';
export { readScoreRecords, type ScoreFileFormat, scoreFileFormat } from './score-files.js';
export type { RunCounts, ScoreProgress, SkippedRecord } from './session.js';
export { parseShard, type ShardSpec, shardOf } from './shard.js';
