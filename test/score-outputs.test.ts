/**
 * What `runScoreJob` and `scoreCorpus` give a data engineer beyond the score file (library side, fake engine): the
 * failure share against maxErrorRate, exact duplicates scored once (within a run, across runs through a cache, and
 * across a stop and resume), and the per-token log-probability sidecar.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScoreJob } from '../src/pipeline/job.js';
import { mergeShards } from '../src/pipeline/merge.js';
import { scoreCorpus } from '../src/pipeline/score-corpus.js';
import { readTokenLogprobs } from '../src/scores/logprobs.js';
import type { ScoreRecord } from '../src/scores/record.js';
import { createFakeScorer, FAKE_MODEL_PATH, fakeScore, fakeTokenize } from './helpers/fake-engine.js';

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-outputs-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function lines(count: number, bad: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(i < bad ? '{"text": ""}' : JSON.stringify({ text: `document ${i} text` }));
  return `${out.join('\n')}\n`;
}

async function job(name: string, content: string, maxErrorRate?: number) {
  const corpus = join(folder, `${name}.jsonl`);
  writeFileSync(corpus, content);
  const out = join(folder, `${name}.scores.jsonl`);
  const options = { inputs: [corpus], model: FAKE_MODEL_PATH, scorer: createFakeScorer(), workers: 0, out };
  return runScoreJob(maxErrorRate === undefined ? options : { ...options, maxErrorRate });
}

describe('maxErrorRate', () => {
  it('reports the failed share against the limit (default 1 %); outputs are written either way', async () => {
    const clean = await job('clean', lines(200, 0));
    expect(clean.failures).toEqual({ failed: 0, rate: 0, nothingScored: false, maxErrorRate: 0.01, exceeded: false });
    const two = await job('two-bad', lines(200, 2)); // 1 %: not more than the limit
    expect(two.failures).toMatchObject({ failed: 2, rate: 0.01, exceeded: false });
    const three = await job('three-bad', lines(200, 3));
    expect(three.failures).toMatchObject({ failed: 3, rate: 0.015, exceeded: true });
    expect(three.counts.scored).toBe(197);
    const tolerant = await job('tolerant', lines(200, 3), 0.05);
    expect(tolerant.failures).toMatchObject({ exceeded: false, maxErrorRate: 0.05 });
  });

  it('a run where every record was skipped never succeeds, whatever the limit', async () => {
    const none = await job('all-bad', lines(5, 5), 1);
    expect(none.failures).toMatchObject({ failed: 5, rate: 1, nothingScored: true, exceeded: true });
  });

  it('checks the option', async () => {
    await expect(job('bad-option', lines(1, 0), 1.5)).rejects.toThrow(
      'Expected number in [0, 1] for maxErrorRate but received 1.5 of type number',
    );
  });
});

/** 40 documents, 12 distinct texts: every text first, then copies of it scattered among the others. */
function duplicated(name: string): { path: string; texts: string[] } {
  const distinct = Array.from({ length: 12 }, (_, i) => `Text number ${i}: ${'some words '.repeat(1 + (i % 5))}end.`);
  const texts = Array.from({ length: 40 }, (_, i) => distinct[i < 12 ? i : (i * 7) % 12]);
  const path = join(folder, name);
  writeFileSync(path, `${texts.map((text, i) => JSON.stringify({ id: `d${i}`, text })).join('\n')}\n`);
  return { path, texts };
}

function records(path: string): ScoreRecord[] {
  return readFileSync(path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
}

const numbers = ({ tokens, nll, bits_per_token, bits_per_byte, perplexity }: ScoreRecord) => ({
  tokens,
  nll,
  bits_per_token,
  bits_per_byte,
  perplexity,
});

describe('exact duplicates', () => {
  it("are scored once within a run: copies take the first occurrence's numbers, bit for bit", async () => {
    const { path, texts } = duplicated('dup.jsonl');
    // batchSensitive: a document's value depends on its call's size, so a copy scored again would differ.
    const scorer = createFakeScorer({ batchSensitive: true, maxSequences: 3 });
    const out = join(folder, 'dup.scores.jsonl');
    const summary = await runScoreJob({ inputs: [path], model: FAKE_MODEL_PATH, scorer, workers: 0, out });
    expect(summary.counts).toMatchObject({ read: 40, scored: 40, reused: 28 });
    expect(scorer.calls.flat()).toHaveLength(12); // only the distinct texts reached the engine
    const written = records(out);
    texts.forEach((text, i) => {
      const first = texts.indexOf(text);
      expect(numbers(written[i])).toEqual(numbers(written[first]));
    });
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    expect(manifest.counts.reused).toBe(28);
    expect(manifest.reuse).toEqual({ dedupEntries: 1 << 21, cache: null });
    expect(existsSync(`${out}.dedup.partial`)).toBe(false);

    const off = await runScoreJob({
      inputs: [path],
      model: FAKE_MODEL_PATH,
      scorer: createFakeScorer(),
      workers: 0,
      out: join(folder, 'nodup.jsonl'),
      dedupEntries: 0,
    });
    expect(off.counts.reused).toBe(0);
  });

  it('are scored once across runs with a cache keyed by the scoring setup; corrupt entries are skipped', async () => {
    const { path } = duplicated('cached.jsonl');
    const cache = join(folder, 'cache');
    const common = { inputs: [path], model: FAKE_MODEL_PATH, workers: 0, cache };
    const first = await runScoreJob({ ...common, scorer: createFakeScorer(), out: join(folder, 'c1.jsonl') });
    expect(first.counts.reused).toBe(28);
    const again = createFakeScorer();
    const second = await runScoreJob({ ...common, scorer: again, out: join(folder, 'c2.jsonl') });
    expect(again.calls).toEqual([]); // nothing scored: every text came from the cache
    expect(second.counts.reused).toBe(40);
    expect(records(join(folder, 'c2.jsonl')).map(numbers)).toEqual(records(join(folder, 'c1.jsonl')).map(numbers));
    // Another context size is another setup: nothing reused.
    const other = createFakeScorer({ contextSize: 32 });
    const third = await runScoreJob({ ...common, scorer: other, out: join(folder, 'c3.jsonl') });
    expect(third.counts.reused).toBe(28);
    expect(readdirSync(cache)).toHaveLength(2);
    // A flipped bit in an entry: that entry is skipped (and its text scored), the rest still reused.
    const setup = join(cache, readdirSync(cache).sort()[0]);
    for (const segment of readdirSync(setup).filter((name) => name.endsWith('.bin'))) {
      const bytes = readFileSync(join(setup, segment));
      bytes[30] ^= 0x10;
      writeFileSync(join(setup, segment), bytes);
    }
    const notices: string[] = [];
    const scorers = [createFakeScorer(), createFakeScorer({ contextSize: 32 })];
    for (const scorer of scorers) {
      await runScoreJob({
        ...common,
        scorer,
        out: join(folder, `c4-${scorer.options.contextSize}.jsonl`),
        onNotice: (m) => notices.push(m),
      });
    }
    expect(notices.join('\n')).toMatch(/1 corrupt entries skipped/);
    expect(scorers.map((scorer) => scorer.calls.flat().length).sort()).toEqual([0, 1]);
  });

  it('a stopped and resumed run reuses exactly what the uninterrupted run reused', async () => {
    const { path } = duplicated('resumed.jsonl');
    const common = {
      inputs: [path],
      model: FAKE_MODEL_PATH,
      workers: 0,
      checkpointIntervalMs: 0,
      packing: { windowDocuments: 4, windowTokens: 1 << 20, callDocuments: 2 },
    };
    const whole = join(folder, 'whole.jsonl');
    await runScoreJob({ ...common, scorer: createFakeScorer({ batchSensitive: true }), out: whole });
    const out = join(folder, 'stopped.jsonl');
    const stop = new AbortController();
    const stopped = await runScoreJob({
      ...common,
      scorer: createFakeScorer({ batchSensitive: true }),
      out,
      stopSignal: stop.signal,
      progressIntervalMs: 0,
      onProgress: (progress) => {
        if (progress.counts.read >= 18) stop.abort();
      },
    });
    expect(stopped.status).toBe('stopped');
    const resumed = await runScoreJob({
      ...common,
      scorer: createFakeScorer({ batchSensitive: true }),
      out,
      resume: true,
    });
    expect(resumed.counts.reused).toBe(28);
    expect(readFileSync(out)).toEqual(readFileSync(whole));
  });
});

describe('token log-probabilities', () => {
  it("the sidecar holds every record's token ids and ln p, duplicates sharing their data; readTokenLogprobs reads it", async () => {
    const { path, texts } = duplicated('tokens.jsonl');
    const out = join(folder, 'tokens.scores.jsonl');
    const summary = await runScoreJob({
      inputs: [path],
      model: FAKE_MODEL_PATH,
      scorer: createFakeScorer(),
      workers: 0,
      out,
      tokenLogprobs: true,
    });
    expect(summary.counts.reused).toBe(28);
    const read = [];
    for await (const entry of readTokenLogprobs(out)) read.push(entry);
    expect(read).toHaveLength(40);
    read.forEach(({ record, tokens, logprobs }, i) => {
      const expected = fakeTokenize(texts[i]);
      expect(tokens).toEqual(expected);
      expect(Array.from(logprobs)).toEqual(Array.from(fakeScore(expected, 0, { logprobs: true }).logprobs!));
      expect(-logprobs.reduce((a, b) => a + b, 0)).toBeCloseTo(record.nll, 3);
    });
    // 12 distinct texts' data stored once each: data size = header + Σ 8 n over distinct texts.
    const distinctTokens = [...new Set(texts)].reduce((sum, text) => sum + fakeTokenize(text).length, 0);
    expect(readFileSync(`${out}.logprobs.bin`).length).toBe(256 + 8 * distinctTokens);
    expect(readFileSync(`${out}.logprobs.idx`).length).toBe(256 + 16 * 40);
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    expect(manifest.outputs.tokenLogprobs).toEqual({
      data: 'tokens.scores.jsonl.logprobs.bin',
      index: 'tokens.scores.jsonl.logprobs.idx',
    });
  });

  it('without BOS the first token has NaN; scoreCorpus yields the same arrays; merged shards carry their sidecars', async () => {
    const { path, texts } = duplicated('nobos.jsonl');
    const out = join(folder, 'nobos.scores.jsonl');
    const common = { inputs: [path], model: FAKE_MODEL_PATH, workers: 0, tokenLogprobs: true };
    await runScoreJob({ ...common, scorer: createFakeScorer({ addsBos: false }), out });
    const fromFile = [];
    for await (const entry of readTokenLogprobs(out)) fromFile.push(entry);
    expect(Number.isNaN(fromFile[0].logprobs[0])).toBe(true);
    expect(fromFile[0].logprobs.length).toBe(fakeTokenize(texts[0]).length);
    const streamed = [];
    for await (const record of scoreCorpus({ ...common, scorer: createFakeScorer({ addsBos: false }) }))
      streamed.push(record);
    expect(streamed.map((record) => Array.from(record.logprobs!))).toEqual(
      fromFile.map((entry) => Array.from(entry.logprobs)),
    );
    expect(streamed.map((record) => Array.from(record.tokenIds!))).toEqual(
      fromFile.map((entry) => Array.from(entry.tokens)),
    );
    // Shards, merged: the same tokens and log-probabilities as the unsharded run, record by record.
    const shards = [0, 1].map((i) => join(folder, `nobos-shard-${i}.jsonl`));
    for (const [i, shard] of shards.entries()) {
      await runScoreJob({ ...common, scorer: createFakeScorer({ addsBos: false }), out: shard, shard: `${i}/2` });
    }
    const merged = join(folder, 'nobos-merged.jsonl');
    await mergeShards({ shards, out: merged });
    const fromMerged = [];
    for await (const entry of readTokenLogprobs(merged)) fromMerged.push(entry);
    expect(fromMerged.map((entry) => [entry.record.id, Array.from(entry.tokens), Array.from(entry.logprobs)])).toEqual(
      fromFile.map((entry) => [entry.record.id, Array.from(entry.tokens), Array.from(entry.logprobs)]),
    );
  });
});
