/**
 * The native scoring engine: exact per-token log-probabilities (oracle: node-llama-cpp's own evaluation, in a
 * separate process), batch invariance, sliding windows, BOS policy, cancellation, and every error message.
 * Mechanics run on generated random-weight models; the language test needs ../shared/models/stories260K.gguf.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openScorer, openTokenizer, type Scorer } from '../src/index.js';
import { storiesModelPath, tinyModelPath } from './helpers/models.js';

const oracleScript = new URL('./helpers/oracle-logprobs.mjs', import.meta.url).pathname;

/** node-llama-cpp's per-token ln p for evaluated sequences (BOS included where the model adds one). */
function oracleLogprobs(model: string, contextSize: number, sequences: number[][]): number[][] {
  const output = execFileSync(process.execPath, [oracleScript], {
    input: JSON.stringify({ model, contextSize, documents: sequences }),
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(output.toString('utf8')) as number[][];
}

const SAMPLE_TEXTS = [
  'Once upon a time, there was a little girl named Lily.',
  'Ünïcödé: naïve café, 日本語のテキスト, emoji 🙂🚀, and Ελληνικά.',
  'Literal control-token text stays text: <s> </s> [INST] <|endoftext|>',
  'a',
  '',
  'The quick brown fox jumps over the lazy dog. '.repeat(6),
];

function randomText(length: number, seed: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz     .,;éü';
  let state = seed >>> 0;
  let text = '';
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    text += alphabet[state % alphabet.length];
  }
  return text;
}

describe('engine on a generated model (BOS added)', () => {
  let modelPath: string;
  let scorer: Scorer;

  beforeAll(async () => {
    modelPath = await tinyModelPath();
    scorer = await openScorer({ model: modelPath, contextSize: 128, threads: 2 });
  });
  afterAll(async () => {
    await scorer?.close();
  });

  it('reports the model and the effective options', () => {
    expect(scorer.model.addsBos).toBe(true);
    expect(scorer.model.vocabularySize).toBeGreaterThan(300);
    expect(scorer.options.contextSize).toBe(128);
    expect(scorer.options.stride).toBe(64);
    expect(scorer.options.batchSize).toBeGreaterThanOrEqual(128);
  });

  it('matches node-llama-cpp per token within 1e-4 (including multi-byte UTF-8)', async () => {
    // Texts that fit the context (a longer one is windowed, which the windowing test checks separately).
    const texts = SAMPLE_TEXTS.filter((t) => t.length > 0 && scorer.tokenizeSync(t).length + 1 <= 128);
    expect(texts.length).toBeGreaterThanOrEqual(4);
    const results = await scorer.score(texts, { logprobs: true });
    const sequences = texts.map((t) => [scorer.model.bosToken, ...scorer.tokenizeSync(t)]);
    const oracle = oracleLogprobs(modelPath, 256, sequences);
    for (let d = 0; d < texts.length; d++) {
      const ours = results[d].logprobs!;
      expect(results[d].tokens).toBe(sequences[d].length - 1);
      expect(ours.length).toBe(oracle[d].length);
      for (let i = 0; i < ours.length; i++) {
        expect(Math.abs(ours[i] - oracle[d][i])).toBeLessThan(1e-4);
      }
      const nll = -oracle[d].reduce((a, b) => a + b, 0);
      expect(results[d].nll).toBeCloseTo(nll, 3);
    }
  });

  it('derives the fields as documented, and empty text is well defined', async () => {
    const [story, empty] = await scorer.score([SAMPLE_TEXTS[0], '']);
    expect(story.bytes).toBe(Buffer.byteLength(SAMPLE_TEXTS[0], 'utf8'));
    expect(story.bitsPerToken).toBeCloseTo(story.nll / story.tokens / Math.LN2, 12);
    expect(story.bitsPerByte).toBeCloseTo(story.nll / story.bytes / Math.LN2, 12);
    expect(story.perplexity).toBeCloseTo(Math.exp(story.nll / story.tokens), 9);
    expect(empty).toEqual({ tokens: 0, nll: 0, bytes: 0, bitsPerToken: 0, bitsPerByte: 0, perplexity: 1 });
  });

  it('tokenizes with special-token parsing off (control-token text is literal)', async () => {
    const tokens = await scorer.tokenize('<s>');
    expect(tokens.length).toBeGreaterThan(1);
    expect([...tokens]).not.toContain(scorer.model.bosToken);
  });

  it('gives the same result for a document alone or packed with others, for several batch shapes', async () => {
    const documents = Array.from({ length: 12 }, (_, i) => randomText(20 + i * 37, i + 1));
    const alone = await Promise.all(documents.map(async (text) => (await scorer.score([text]))[0]));
    for (const [batchSize, maxSequences] of [
      [128, 128],
      [256, 3],
      [1024, 256],
      [1000, 5],
      [333, 2],
    ]) {
      const packed = await openScorer({ model: modelPath, contextSize: 128, batchSize, maxSequences, threads: 2 });
      try {
        const together = await packed.score(documents);
        for (let i = 0; i < documents.length; i++) {
          expect(together[i].tokens).toBe(alone[i].tokens);
          expect(Math.abs(together[i].nll - alone[i].nll) / Math.max(alone[i].nll, 1e-9)).toBeLessThan(1e-5);
        }
      } finally {
        await packed.close();
      }
    }
  });

  it('scores pre-tokenized documents exactly like texts', async () => {
    const texts = [SAMPLE_TEXTS[0], SAMPLE_TEXTS[1]];
    const fromTexts = await scorer.score(texts);
    const fromTokens = await scorer.scoreTokens(
      texts.map((t) => ({ tokens: scorer.tokenizeSync(t), bytes: Buffer.byteLength(t) })),
    );
    expect(fromTokens).toEqual(fromTexts);
  });

  it('windows a long document: each token scored once, with the documented context (oracle per window)', async () => {
    const contextSize = 128;
    const stride = 48;
    const windowed = await openScorer({ model: modelPath, contextSize, stride, threads: 2 });
    try {
      const text = randomText(480, 99);
      const sequence = [scorer.model.bosToken, ...(await windowed.tokenize(text))];
      expect(sequence.length).toBeGreaterThan(3 * contextSize);
      const [result] = await windowed.score([text], { logprobs: true });
      expect(result.tokens).toBe(sequence.length - 1);

      // The README's rule, written out independently: windows start at 0, stride, 2·stride, ...; each scores the
      // targets that no earlier window scored.
      const slices: Array<{ start: number; end: number; firstTarget: number }> = [];
      for (let start = 0, next = 1; ; start += stride) {
        const end = Math.min(start + contextSize, sequence.length);
        slices.push({ start, end, firstTarget: next });
        next = end;
        if (end === sequence.length) break;
      }
      const oracle = oracleLogprobs(
        modelPath,
        256,
        slices.map(({ start, end }) => sequence.slice(start, end)),
      );
      const expected: number[] = [];
      slices.forEach(({ start, end, firstTarget }, w) => {
        for (let target = firstTarget; target < end; target++) {
          expect(target - start).toBeGreaterThanOrEqual(w === 0 ? 1 : contextSize - stride);
          expected.push(oracle[w][target - start - 1]);
        }
      });
      expect(expected.length).toBe(result.tokens);
      const ours = result.logprobs!;
      for (let i = 0; i < expected.length; i++) expect(Math.abs(ours[i] - expected[i])).toBeLessThan(1e-4);
    } finally {
      await windowed.close();
    }
  });

  it('windowed nll is close to the full-context nll when the context allows both', async () => {
    const text = randomText(230, 7);
    const full = await openScorer({ model: modelPath, contextSize: 256, threads: 2 });
    const windowed = await openScorer({ model: modelPath, contextSize: 64, stride: 32, threads: 2 });
    try {
      const tokens = (await full.tokenize(text)).length;
      expect(tokens + 1).toBeLessThanOrEqual(256);
      expect(tokens + 1).toBeGreaterThan(128);
      const [a] = await full.score([text]);
      const [b] = await windowed.score([text]);
      expect(b.tokens).toBe(a.tokens);
      expect(Math.abs(b.nll - a.nll) / a.nll).toBeLessThan(0.02);
    } finally {
      await Promise.all([full.close(), windowed.close()]);
    }
  });

  it('keeps the event loop free while scoring, and gives concurrent calls their own results', async () => {
    const texts = Array.from({ length: 16 }, (_, i) => randomText(400, 1000 + i));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const [first, second] = await Promise.all([scorer.score(texts), scorer.score(texts.slice(0, 5))]);
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
    expect(first.length).toBe(16);
    expect(second.map((r) => r.nll)).toEqual(first.slice(0, 5).map((r) => r.nll));
  });

  it('cancels with an AbortSignal and stays usable', async () => {
    const texts = Array.from({ length: 400 }, (_, i) => randomText(500, 5000 + i));
    const controller = new AbortController();
    const pending = scorer.score(texts, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await expect(scorer.score(['x'], { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    const [after] = await scorer.score([SAMPLE_TEXTS[0]]);
    expect(after.tokens).toBeGreaterThan(0);
  });

  it('tokenizes in a vocabulary-only load exactly like the scorer, async and sync', async () => {
    const tokenizer = openTokenizer(modelPath);
    try {
      for (const text of SAMPLE_TEXTS) {
        const expected = [...(await scorer.tokenize(text))];
        expect([...(await tokenizer.tokenize(text))]).toEqual(expected);
        expect([...tokenizer.tokenizeSync(text)]).toEqual(expected);
        expect([...scorer.tokenizeSync(text)]).toEqual(expected);
      }
      expect(tokenizer.addsBos).toBe(true);
    } finally {
      tokenizer.close();
    }
    await expect(tokenizer.tokenize('x')).rejects.toThrow('Cannot call tokenize() on a closed tokenizer');
    expect(() => tokenizer.tokenizeSync('x')).toThrow('Cannot call tokenizeSync() on a closed tokenizer');
  });
});

describe('engine on a generated model without BOS', () => {
  it('does not score the first token, and matches node-llama-cpp', async () => {
    const modelPath = await tinyModelPath({ addBos: false });
    const scorer = await openScorer({ model: modelPath, contextSize: 128, threads: 2 });
    try {
      expect(scorer.model.addsBos).toBe(false);
      const texts = [SAMPLE_TEXTS[0], SAMPLE_TEXTS[1], 'a', ''];
      const results = await scorer.score(texts, { logprobs: true });
      const sequences = texts.map((t) => [...scorer.tokenizeSync(t)]);
      results.forEach((r, i) => {
        expect(r.tokens).toBe(Math.max(0, sequences[i].length - 1));
      });
      const oracle = oracleLogprobs(modelPath, 256, sequences.slice(0, 2));
      for (let d = 0; d < 2; d++) {
        oracle[d].forEach((lp, i) => {
          expect(Math.abs(results[d].logprobs![i] - lp)).toBeLessThan(1e-4);
        });
      }
    } finally {
      await scorer.close();
    }
  });
});

describe('engine errors name the parameter, the expectation and the value', () => {
  let modelPath: string;
  let scratch: string;
  beforeAll(async () => {
    modelPath = await tinyModelPath();
    scratch = mkdtempSync(join(tmpdir(), 'infoprune-engine-'));
  });

  it('rejects bad model files before llama.cpp sees them', async () => {
    await expect(openScorer({ model: join(scratch, 'missing.gguf') })).rejects.toThrow(/not found/i);
    const notGguf = join(scratch, 'not.gguf');
    writeFileSync(notGguf, 'this is not a model at all');
    await expect(openScorer({ model: notGguf })).rejects.toThrow(/not a GGUF file|magic/i);
    const truncated = join(scratch, 'truncated.gguf');
    const bytes = readFileSync(modelPath);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await expect(openScorer({ model: truncated })).rejects.toThrow(/truncated|beyond the end/i);
    const headerOnly = join(scratch, 'header-only.gguf');
    writeFileSync(headerOnly, bytes.subarray(0, 200));
    await expect(openScorer({ model: headerOnly })).rejects.toThrow(/truncated|beyond the end|end of file/i);
    mkdirSync(join(scratch, 'dir.gguf'), { recursive: true });
    await expect(openScorer({ model: join(scratch, 'dir.gguf') })).rejects.toThrow(/directory/i);
    await expect(openScorer({ model: 42 as unknown as string })).rejects.toThrow(
      'Expected non-empty string for model but received 42 of type number',
    );
  });

  it('rejects options out of range', async () => {
    await expect(openScorer({ model: modelPath, contextSize: -1 })).rejects.toThrow(
      'Expected integer >= 2 for contextSize but received -1 of type number',
    );
    await expect(openScorer({ model: modelPath, contextSize: 100000 })).rejects.toThrow(
      /Expected integer between 2 and 256 for contextSize but received 100000 of type number/,
    );
    await expect(openScorer({ model: modelPath, threads: 0 })).rejects.toThrow(
      'Expected integer between 1 and 1024 for threads but received 0 of type number',
    );
    await expect(openScorer({ model: modelPath, threads: 1.5 })).rejects.toThrow(/for threads but received 1.5/);
    await expect(openScorer({ model: modelPath, contextSize: 64, stride: 64 })).rejects.toThrow(
      'Expected integer between 1 and 63 for stride but received 64 of type number',
    );
    await expect(openScorer({ model: modelPath, contextSize: 64, batchSize: 32 })).rejects.toThrow(
      /Expected integer between 64 and \d+ for batchSize but received 32/,
    );
    await expect(openScorer({ model: modelPath, maxSequences: 257 })).rejects.toThrow(
      'Expected integer between 1 and 256 for maxSequences but received 257 of type number',
    );
    await expect(openScorer({ model: modelPath, gpuLayers: -2 })).rejects.toThrow(
      "Expected non-negative integer or 'max' for gpuLayers but received -2 of type number",
    );
  });

  it('rejects bad texts, bad tokens and use after close', async () => {
    const scorer = await openScorer({ model: modelPath, contextSize: 64, threads: 1 });
    await expect(scorer.score(['ok', 5 as unknown as string])).rejects.toThrow(
      'Expected string for texts[1] but received 5 of type number',
    );
    await expect(scorer.score('text' as unknown as string[])).rejects.toThrow(
      'Expected array of strings for texts but received "text" of type string',
    );
    await expect(scorer.scoreTokens([{ tokens: [1, 2] as unknown as Int32Array, bytes: 2 }])).rejects.toThrow(
      'Expected Int32Array for documents[0].tokens but received an array of length 2',
    );
    await expect(scorer.scoreTokens([{ tokens: new Int32Array([5, 999999]), bytes: 2 }])).rejects.toThrow(
      /Expected token ids in \[0, \d+\) for documents\[0\]\.tokens but received 999999 at index 1/,
    );
    await expect(scorer.score(['x'], { logprobs: 'yes' as unknown as boolean })).rejects.toThrow(
      'Expected boolean for logprobs but received "yes" of type string',
    );
    await scorer.close();
    await expect(scorer.score(['x'])).rejects.toThrow('Cannot call score() on a closed scorer');
    await expect(scorer.tokenize('x')).rejects.toThrow('Cannot call tokenize() on a closed scorer');
    expect(() => scorer.tokenizeSync('x')).toThrow('Cannot call tokenizeSync() on a closed scorer');
  });
});

const stories = storiesModelPath();
describe.skipIf(!stories)('engine on the trained stories260K model', () => {
  it('gives coherent story text fewer bits per token than shuffled words or random characters', async () => {
    const scorer = await openScorer({ model: stories!, contextSize: 256, threads: 2 });
    try {
      const story =
        'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. ' +
        'One day, she saw a big, red ball. She ran to the ball and kicked it very high.';
      const words = story.split(' ');
      let state = 12345;
      for (let i = words.length - 1; i > 0; i--) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        const j = state % (i + 1);
        [words[i], words[j]] = [words[j], words[i]];
      }
      const [coherent, shuffled, random] = await scorer.score([story, words.join(' '), randomText(story.length, 3)]);
      expect(coherent.bitsPerToken).toBeLessThan(shuffled.bitsPerToken);
      expect(coherent.bitsPerToken).toBeLessThan(random.bitsPerToken);
      expect(coherent.bitsPerToken * 2).toBeLessThan(shuffled.bitsPerToken);
    } finally {
      await scorer.close();
    }
  });
});
if (!stories) {
  describe('engine on the trained stories260K model', () => {
    it.skip('skipped: ../shared/models/stories260K.gguf not found (the language test needs this trained fixture)', () => {});
  });
}
