/**
 * The scorer as a Node service uses it: one shared scorer, many concurrent callers. Concurrent calls are coalesced
 * into shared decodes without changing any result; each call's AbortSignal is its own; tokenizing runs off the main
 * thread; closing (or `await using`) settles calls in flight with an AbortError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCost } from '../src/engine/coalescer.js';
import { openScorer, openTokenizer, type ScoreResult, type Scorer } from '../src/index.js';
import { tinyModelPath } from './helpers/models.js';

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

function expectSameScores(actual: ScoreResult[], expected: ScoreResult[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(actual[i].tokens).toBe(expected[i].tokens);
    expect(actual[i].bytes).toBe(expected[i].bytes);
    expect(Math.abs(actual[i].nll - expected[i].nll) / Math.max(expected[i].nll, 1e-9)).toBeLessThan(1e-5);
  }
}

const ABORT = { name: 'AbortError', code: 'ABORT_ERR' };

describe('a scorer shared by concurrent callers', () => {
  let modelPath: string;
  let scorer: Scorer;
  const texts = Array.from({ length: 40 }, (_, i) => randomText(60 + (i % 7) * 25, 100 + i));
  let alone: ScoreResult[];

  beforeAll(async () => {
    modelPath = tinyModelPath();
    scorer = await openScorer({ model: modelPath, contextSize: 128, batchSize: 2048, threads: 2 });
    alone = [];
    for (const text of texts) alone.push(...(await scorer.score([text])));
  });
  afterAll(async () => {
    await scorer?.close();
  });

  /** Pre-tokenized calls are queued in the order they are made (no tokenizing step in between). */
  const documentsOf = (some: string[]) =>
    some.map((text) => ({ tokens: scorer.tokenizeSync(text), bytes: Buffer.byteLength(text) }));
  /**
   * A call that takes the context: the calls made after it in the same tick wait and are coalesced (its native call
   * cannot end before the event loop turns, so even one short document is enough).
   */
  const blocker = () => scorer.scoreTokens(documentsOf([texts[0]]));

  it('coalesces concurrent calls into shared decodes, each call keeping its own results', async () => {
    const before = scorer.stats;
    const results = await Promise.all(texts.map((text) => scorer.score([text])));
    const after = scorer.stats;
    expect(after.calls - before.calls).toBe(40);
    expect(after.documents - before.documents).toBe(40);
    expect(after.batches - before.batches).toBeLessThan(40);
    expectSameScores(results.flat(), alone);
  });

  it('fills each decode with the calls waiting for it, up to the batch limits', async () => {
    const documents = documentsOf(texts);
    const running = blocker();
    const before = scorer.stats.batches;
    const results = await Promise.all(documents.map((document) => scorer.scoreTokens([document])));
    await running;
    const batches = scorer.stats.batches - before;
    // One decode holds batchSize (2048) tokens: these 40 documents need at least this many.
    const tokens = documents.reduce((sum, document) => sum + document.tokens.length + 1, 0);
    expect(batches).toBeGreaterThanOrEqual(Math.ceil(tokens / 2048));
    expect(batches).toBeLessThanOrEqual(Math.ceil(tokens / 2048) + 1);
    expectSameScores(results.flat(), alone);
  });

  it('keeps calls with and without logprobs apart in one decode', async () => {
    const running = blocker();
    const [plain, withLogprobs] = await Promise.all([
      scorer.scoreTokens(documentsOf(texts.slice(0, 3))),
      scorer.scoreTokens(documentsOf(texts.slice(3, 6)), { logprobs: true }),
    ]);
    await running;
    for (const result of plain) expect(result.logprobs).toBeUndefined();
    for (const result of withLogprobs) expect(result.logprobs?.length).toBe(result.tokens);
    expectSameScores(plain, alone.slice(0, 3));
    expectSameScores(withLogprobs, alone.slice(3, 6));
  });

  it('aborts one waiting call without touching the others coalesced with it', async () => {
    const running = blocker();
    const controller = new AbortController();
    const first = scorer.scoreTokens(documentsOf(texts.slice(0, 10)));
    const aborted = scorer.scoreTokens(documentsOf(texts.slice(10, 20)), { signal: controller.signal });
    const last = scorer.scoreTokens(documentsOf(texts.slice(20, 30)));
    controller.abort(new Error('client went away'));
    await expect(aborted).rejects.toMatchObject({ ...ABORT, cause: new Error('client went away') });
    expectSameScores(await first, alone.slice(0, 10));
    expectSameScores(await last, alone.slice(20, 30));
    expect((await running).length).toBe(1);
  });

  it('aborts a call while its shared decode runs, and the decode still serves the other call', async () => {
    const running = blocker();
    const controller = new AbortController();
    const aborted = scorer.scoreTokens(documentsOf(texts.slice(0, 10)), { signal: controller.signal });
    const kept = scorer.scoreTokens(documentsOf(texts.slice(10, 20)));
    const before = scorer.stats.batches;
    await running;
    await new Promise((resolve) => setImmediate(resolve));
    expect(scorer.stats.batches).toBe(before + 1); // both calls are in the native call now running
    controller.abort();
    await expect(aborted).rejects.toMatchObject(ABORT);
    expectSameScores(await kept, alone.slice(10, 20));
  });

  it('tokenizes off the main thread, like the synchronous variant', async () => {
    const text = randomText(300_000, 42);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const tokens = await scorer.tokenize(text);
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
    expect([...tokens]).toEqual([...scorer.tokenizeSync(text)]);
    await expect(scorer.tokenize(text, { signal: AbortSignal.abort() })).rejects.toMatchObject(ABORT);
  });

  it('rejects a call with bad token ids alone, before it can join a shared decode', async () => {
    const good = scorer.score(texts.slice(0, 2));
    const bad = scorer.scoreTokens([{ tokens: new Int32Array([3, -1]), bytes: 2 }]);
    await expect(bad).rejects.toThrow('Expected token ids in [0, 512) for documents[0].tokens but received -1');
    expectSameScores(await good, alone.slice(0, 2));
  });
});

describe('closing a scorer with calls in flight', () => {
  it('settles running, waiting and tokenizing calls with an AbortError, then frees the model', async () => {
    const scorer = await openScorer({ model: tinyModelPath(), contextSize: 128, threads: 2 });
    const documents = ['running', 'waiting'].map((text) => [{ tokens: scorer.tokenizeSync(text), bytes: 7 }]);
    const running = scorer.scoreTokens(documents[0]);
    const waiting = scorer.scoreTokens(documents[1]);
    const tokenizing = scorer.tokenize(randomText(200_000, 5));
    const settled = Promise.allSettled([running, waiting, tokenizing]);
    await scorer.close();
    for (const outcome of await settled) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({
        ...ABORT,
        message: 'The scorer was closed while this call was in flight',
      });
    }
    await expect(scorer.score(['x'])).rejects.toThrow('Cannot call score() on a closed scorer');
    await scorer.close(); // closing twice is harmless
  });

  it('closes at the end of an `await using` scope, and a tokenizer at the end of a `using` scope', async () => {
    let kept: Scorer | undefined;
    {
      await using scorer = await openScorer({ model: tinyModelPath(), contextSize: 64, threads: 1 });
      kept = scorer;
      expect((await scorer.score(['inside the scope']))[0].tokens).toBeGreaterThan(0);
    }
    await expect(kept.score(['x'])).rejects.toThrow('Cannot call score() on a closed scorer');

    let tokenizer: ReturnType<typeof openTokenizer> | undefined;
    {
      using scoped = openTokenizer(tinyModelPath());
      tokenizer = scoped;
      expect((await scoped.tokenize('inside')).length).toBeGreaterThan(0);
    }
    expect(() => tokenizer.tokenizeSync('x')).toThrow('Cannot call tokenizeSync() on a closed tokenizer');
    {
      await using scoped = openTokenizer(tinyModelPath());
      tokenizer = scoped;
    }
    await expect(tokenizer.tokenize('x')).rejects.toThrow('Cannot call tokenize() on a closed tokenizer');
  });
});

describe('decodeCost (what one document takes of a decode)', () => {
  const shape = { contextSize: 8, stride: 4, batchSize: 64, maxSequences: 4, addsBos: true };
  it('counts BOS, whole windows and the overlap of sliding windows', () => {
    expect(decodeCost(0, shape)).toEqual({ tokens: 0, windows: 0 });
    expect(decodeCost(1, shape)).toEqual({ tokens: 2, windows: 1 });
    expect(decodeCost(7, shape)).toEqual({ tokens: 8, windows: 1 });
    // 9 evaluated tokens: windows [0, 8) and [4, 9)
    expect(decodeCost(8, shape)).toEqual({ tokens: 13, windows: 2 });
    // 13 evaluated tokens: [0, 8), [4, 12), [8, 13)
    expect(decodeCost(12, shape)).toEqual({ tokens: 21, windows: 3 });
    expect(decodeCost(1, { ...shape, addsBos: false })).toEqual({ tokens: 0, windows: 0 });
  });
});
