export { nativeBuildInfo } from './native.js';
export { scoreResult } from './results.js';
export { MAX_SEQUENCES, openScorer } from './scorer.js';
export { openTokenizer } from './tokenizer.js';
export type {
  ModelInfo,
  ScoreOptions,
  ScoreResult,
  Scorer,
  ScorerOptions,
  TokenizedDocument,
  Tokenizer,
} from './types.js';
