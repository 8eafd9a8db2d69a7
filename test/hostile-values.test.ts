/**
 * Values that must never pass as results (issue 10, item 7): a model whose log-probabilities are NaN or infinite
 * for a document fails that document (errors file, with the reason) and the run's failures say so, whatever
 * --max-error-rate allows. Uses the real engine with a tiny random model whose embedding row for one token is NaN.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTokenizer } from '../src/engine/tokenizer.js';
import { randomModelLayout } from '../src/gguf/random-model.js';
import { writeGguf } from '../src/gguf/writer.js';
import { runScoreJob } from '../src/pipeline/job.js';
import { TINY_MODEL_SHAPE, tinyModelPath } from './helpers/models.js';

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-hostile-values-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** The tiny model with the embedding row of `token` set to NaN: any document holding it gets NaN log-probabilities. */
function modelPoisoning(token: number): string {
  const layout = randomModelLayout(TINY_MODEL_SHAPE);
  const width = TINY_MODEL_SHAPE.embedding;
  for (const tensor of layout.tensors) {
    if (tensor.name !== 'token_embd.weight' || !tensor.fill) continue;
    const fill = tensor.fill;
    tensor.fill = (chunk, start) => {
      fill(chunk, start);
      for (let i = 0; i < chunk.length; i++) {
        if (Math.floor((start + i) / width) === token) chunk[i] = Number.NaN;
      }
    };
  }
  const path = join(folder, `nan-${token}.gguf`);
  writeGguf(path, layout.metadata, layout.tensors);
  return path;
}

describe('non-finite log-probabilities (item 7)', () => {
  it('fail the document with the reason, keep the others, and count as failures whatever --max-error-rate', async () => {
    const good = ['the cat sat on the mat', 'a quiet river runs by'];
    const bad = 'zebra xylophone quartz';
    const tokenizer = openTokenizer(tinyModelPath());
    const goodTokens = new Set(good.flatMap((text) => [...tokenizer.tokenizeSync(text)]));
    const badTokens = [...tokenizer.tokenizeSync(bad)];
    tokenizer.close();
    // A token of the bad document's first half that no good document holds: later positions see it.
    const poison = badTokens.slice(0, -1).find((token) => !goodTokens.has(token));
    expect(poison).toBeDefined();
    const corpus = join(folder, 'corpus.jsonl');
    const records = [
      { id: 'g0', text: good[0] },
      { id: 'bad', text: bad },
      { id: 'g1', text: good[1] },
    ];
    writeFileSync(corpus, records.map((record) => `${JSON.stringify(record)}\n`).join(''));
    const out = join(folder, 'scores.jsonl');
    const summary = await runScoreJob({
      inputs: [corpus],
      model: modelPoisoning(poison!),
      out,
      threads: 1,
      workers: 0,
      wordBuckets: 1024,
      maxErrorRate: 1,
      // One document per decode: a NaN in one sequence's keys cannot reach another's attention.
      packing: { windowDocuments: 1, callDocuments: 1, windowsInFlight: 1 },
    });
    expect(summary.counts).toMatchObject({ read: 3, scored: 2, skipped: 1, modelFailures: 1 });
    expect(summary.failures.exceeded).toBe(true);
    const scored = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(scored.map((record) => record.id)).toEqual(['g0', 'g1']);
    for (const record of scored) expect(Number.isFinite(record.nll)).toBe(true);
    const errors = readFileSync(summary.outputs.errors, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 2, reason: expect.stringMatching(/not finite/) });
  });
});
