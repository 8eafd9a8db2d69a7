import type { ScoreResult } from './types.js';

/**
 * The derived fields of a score, defined once (the README's "Exact semantics"): bits are nats / ln 2, and a
 * document with no scored token (or no bytes) gets 0 bits and perplexity 1 rather than NaN.
 */
export function scoreResult(tokens: number, nll: number, bytes: number, logprobs?: Float32Array): ScoreResult {
  const result: ScoreResult = {
    tokens,
    nll,
    bytes,
    bitsPerToken: tokens > 0 ? nll / tokens / Math.LN2 : 0,
    bitsPerByte: bytes > 0 ? nll / bytes / Math.LN2 : 0,
    perplexity: tokens > 0 ? Math.exp(nll / tokens) : 1,
  };
  if (logprobs) result.logprobs = logprobs;
  return result;
}
