/**
 * infoprune: rank and prune LLM training corpora by information content.
 *
 * - engine:    openScorer() / openTokenizer(): exact per-token log-probabilities from a GGUF model (C++ addon).
 * - pipeline:  scoreCorpus(): stream corpora (JSONL, Parquet, text) through the engine into score records.
 * - selection: rank() / select() / pruneCorpus(): the paper's information measures, baselines and strategies.
 * - models:    writeRandomModel() and the GGUF reader, for tests and benchmarks.
 */
export * from './engine/index.js';
export type { RandomModelShape } from './gguf/index.js';
export { describeModel, MODEL_PRESETS, readGgufHeader, validateGgufFile, writeRandomModel } from './gguf/index.js';
export * from './pipeline/index.js';
export type { ScoreRecord } from './records.js';
export { SCORE_RECORD_COLUMNS } from './records.js';
export * from './select/index.js';
export { WordFrequencyTable } from './text/word-frequency.js';
export { countWords, splitWords } from './text/words.js';
export { packageVersion } from './version.js';
