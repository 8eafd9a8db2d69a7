export { openScorer, MAX_SEQUENCES } from './scorer.js';
export { openTokenizer } from './tokenizer.js';
export { scoreResult } from './results.js';
export { nativeBuildInfo } from './native.js';
export type {
  ModelInfo,
  ScoreOptions,
  ScoreResult,
  Scorer,
  ScorerOptions,
  TokenizedDocument,
  Tokenizer,
} from './types.js';
