/**
 * The default batch size keeps llama.cpp's logits within `logitsBudgetBytes`: two vocabulary-sized float rows per
 * token of batch (its output buffer and the compute buffer's logits tensor, measured in docs/benchmarks.md), unless
 * a window needs more.
 */
import { describe, expect, it } from 'vitest';
import { defaultBatchSize, defaultMaxSequences, SCORER_DEFAULTS } from '../src/engine/options.js';

const logitsBytes = (batch: number, vocabulary: number) => 2 * 4 * batch * vocabulary;

describe('defaultBatchSize', () => {
  it.each([
    [32_000, 0],
    [49_152, 1],
    [151_936, 0],
    [151_936, 1],
  ])(
    'vocabulary %i, GPU layers %i: the largest batch whose logits fit the budget, up to the preferred size',
    (vocabulary, gpuLayers) => {
      const batch = defaultBatchSize(256, vocabulary, gpuLayers);
      const preferred = gpuLayers === 0 ? SCORER_DEFAULTS.cpuBatchSize : SCORER_DEFAULTS.gpuBatchSize;
      expect(logitsBytes(batch, vocabulary)).toBeLessThanOrEqual(SCORER_DEFAULTS.logitsBudgetBytes);
      if (batch < preferred)
        expect(logitsBytes(batch + 1, vocabulary)).toBeGreaterThan(SCORER_DEFAULTS.logitsBudgetBytes);
    },
  );

  it('still holds a whole window when the budget would not', () => {
    expect(defaultBatchSize(1024, 151_936, 1)).toBe(1024);
  });
});

// Each window of a decode has a KV stream of contextSize cells (rounded up to 256): the default number of windows
// fills a decode with windows of 64 tokens and keeps the cache within 8 batches of cells.
describe('defaultMaxSequences', () => {
  it.each([
    [512, 512, 8],
    [4096, 512, 64],
    [512, 256, 8],
    [2048, 2048, 8], // a long context: the cache bound, not the token rule
    [8192, 8192, 8],
    [600, 300, 9], // 300 cells round up to 512: 8 · 600 / 512 = 9.4
    [64, 8, 1],
    [1 << 20, 512, 256], // llama.cpp's most sequences
  ])('batch %i, context %i: %i windows', (batch, context, expected) => {
    expect(defaultMaxSequences(batch, context)).toBe(expected);
  });
});
