/**
 * How good the trained probe is: the saved file, loaded by the scorer exactly as `infoprune score` loads it, scores
 * the held-out documents; the same documents are compressed by zlib and xz, and the same tokens scored by count
 * models estimated on the training stream (src/train/baselines.ts).
 */
import { openScorer } from '../engine/scorer.js';
import { compressorBaselines, countModelBaselines } from './baselines.js';
import type { TrainingRecord } from './record.js';
import type { TokenStreams } from './streams.js';

export async function measureProbe(
  probePath: string,
  heldoutTexts: string[],
  streams: TokenStreams,
  vocabulary: { bosToken: number; size: number },
  threads: number,
): Promise<TrainingRecord['heldout']> {
  const { bitsPerByte, bitsPerToken } = await heldoutBits(probePath, heldoutTexts, threads);
  const baselines = {
    ...compressorBaselines(heldoutTexts),
    ...countModelBaselines(streams.training, streams.heldoutDocuments, vocabulary.bosToken, vocabulary.size),
  };
  return {
    bitsPerByte,
    bitsPerToken,
    baselines,
    vsZlib9: bitsPerByte / baselines.zlib9BitsPerByte,
    vsBigramBitsPerToken: bitsPerToken - baselines.bigramBitsPerToken,
  };
}

/** A model's bits per byte and per token over held-out texts, scored as `infoprune score` scores (also the experiment's targets). */
export async function heldoutBits(
  modelPath: string,
  texts: string[],
  threads: number,
): Promise<{ bitsPerByte: number; bitsPerToken: number; tokens: number }> {
  const scorer = await openScorer({ model: modelPath, threads });
  let nll = 0;
  let bytes = 0;
  let tokens = 0;
  try {
    for (const result of await scorer.score(texts)) {
      nll += result.nll;
      bytes += result.bytes;
      tokens += result.tokens;
    }
  } finally {
    await scorer.close();
  }
  return { bitsPerByte: nll / bytes / Math.LN2, bitsPerToken: nll / tokens / Math.LN2, tokens };
}
