/**
 * Runs combined with other runs (issue 10, items 6, 8, 19): merge verifies each shard's score and errors files
 * against the record counts and checksums its manifest holds; a resume is refused when any option that can change a
 * value or any input changed (even in place, at the same size); prune accepts what score skipped (taking the skipped
 * positions from the errors file). Uses the fake engine (no native scoring).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScoreJob, type ScoreJobOptions } from '../src/pipeline/job.js';
import { mergeShards } from '../src/pipeline/merge.js';
import { readManifest } from '../src/scores/manifest.js';
import { pruneCorpus } from '../src/select/prune.js';
import {
  createFakeScorer,
  FAKE_MODEL_PATH,
  FAKE_TOKENIZER_MODULE,
  type FakeScorerOptions,
} from './helpers/fake-engine.js';

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-hostile-runs-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function jsonl(prefix: string, count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) text += `${JSON.stringify({ id: `${prefix}${i}`, text: `${prefix} text ${i}` })}\n`;
  return text;
}

function job(inputs: string[], out: string, extra: Partial<ScoreJobOptions> = {}, scorer: FakeScorerOptions = {}) {
  return {
    inputs,
    out,
    model: FAKE_MODEL_PATH,
    scorer: createFakeScorer(scorer),
    tokenizerModule: FAKE_TOKENIZER_MODULE,
    workers: 0,
    wordBuckets: 1024,
    ...extra,
  } satisfies ScoreJobOptions;
}

describe('merge verifies every shard against its manifest (item 6)', () => {
  let input: string;
  const shardPath = (name: string, i: number) => join(folder, `${name}-s${i}.jsonl`);
  async function scoreShards(name: string): Promise<string[]> {
    const shards = [0, 1].map((i) => shardPath(name, i));
    for (let i = 0; i < 2; i++) await runScoreJob(job([input], shards[i], { shard: `${i}/2` }));
    return shards;
  }
  beforeAll(() => {
    input = join(folder, 'merge-input.jsonl');
    writeFileSync(input, `${jsonl('m', 40)}{"id": "broken", "text": \n`);
  });

  it("records each shard's record counts and file checksums in its manifest", async () => {
    const [s0] = await scoreShards('checked');
    const manifest = readManifest(s0);
    expect(manifest.checksums).toMatchObject({
      scores: {
        records: manifest.counts.scored,
        bytes: statSync(s0).size,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
      errors: { records: manifest.counts.skipped + manifest.counts.fileErrors },
    });
  });

  const damages: [string, (path: string) => void, RegExp][] = [
    [
      'cut at a line boundary',
      (path) => writeFileSync(path, readFileSync(path, 'utf8').split('\n').slice(0, -2).join('\n').concat('\n')),
      /holds \d+ records, its manifest says \d+/,
    ],
    ['emptied', (path) => writeFileSync(path, ''), /holds 0 records, its manifest says \d+/],
    [
      'edited in place',
      (path) =>
        writeFileSync(
          path,
          readFileSync(path, 'utf8').replace(/"tokens":(\d)/, (_, d) => `"tokens":${(+d + 1) % 10}`),
        ),
      /sha256 .* differs from its manifest/,
    ],
  ];
  for (const [name, damage, message] of damages) {
    it(`refuses a shard whose score file was ${name}, naming it`, async () => {
      const shards = await scoreShards(name.replace(/\W+/g, '-'));
      damage(shards[1]);
      const out = join(folder, `merged-${name.replace(/\W+/g, '-')}.jsonl`);
      await expect(mergeShards({ shards, out })).rejects.toMatchObject({
        code: 'SCORES_INVALID',
        message: expect.stringMatching(message),
      });
      await expect(mergeShards({ shards, out })).rejects.toThrow(shards[1]);
      expect(() => readManifest(out)).toThrow();
    });
  }

  it('refuses a shard whose errors file lost a line', async () => {
    const shards = await scoreShards('errors-cut');
    const errorsOf = (path: string) => `${path}.errors.jsonl`;
    const withError = shards.find((path) => readFileSync(errorsOf(path), 'utf8').length > 0)!;
    writeFileSync(errorsOf(withError), '');
    await expect(mergeShards({ shards, out: join(folder, 'merged-errors-cut.jsonl') })).rejects.toMatchObject({
      code: 'SCORES_INVALID',
      message: expect.stringMatching(/errors\.jsonl holds 0 records, its manifest says 1/),
    });
  });
});

describe('a resume continues only the same run (item 8)', () => {
  async function stoppedRun(
    name: string,
    inputs: string[],
    extra: Partial<ScoreJobOptions> = {},
    scorer: FakeScorerOptions = {},
  ) {
    const out = join(folder, `${name}-scores.jsonl`);
    const stop = new AbortController();
    const first = await runScoreJob({
      ...job(inputs, out, extra, scorer),
      checkpointIntervalMs: 60_000,
      stopSignal: stop.signal,
      progressIntervalMs: 0,
      onProgress: (progress) => {
        if (progress.counts.read >= 50) stop.abort();
      },
    });
    expect(first.status).toBe('stopped');
    return out;
  }

  it('refuses a changed batch size, sequence count, flash attention or GPU layers', async () => {
    const input = join(folder, 'options.jsonl');
    writeFileSync(input, jsonl('o', 300));
    const out = await stoppedRun('options', [input]);
    const changes: [FakeScorerOptions, RegExp][] = [
      [{ batchSize: 128 }, /different batchSize \(256 vs 128\)/],
      [{ maxSequences: 4 }, /different maxSequences \(8 vs 4\)/],
    ];
    for (const [scorer, message] of changes) {
      await expect(runScoreJob({ ...job([input], out, { resume: true }, scorer) })).rejects.toMatchObject({
        code: 'RESUME_MISMATCH',
        message: expect.stringMatching(message),
      });
    }
    for (const [option, value, message] of [
      ['flashAttention', true, /different flashAttention \(false vs true\)/],
      ['gpuLayers', 8, /different gpuLayers \(0 vs 8\)/],
    ] as const) {
      const scorer = createFakeScorer();
      const options = { ...scorer.options, [option]: value };
      await expect(
        runScoreJob({ ...job([input], out, { resume: true }), scorer: { ...scorer, options } }),
      ).rejects.toMatchObject({ code: 'RESUME_MISMATCH', message: expect.stringMatching(message) });
    }
    const finished = await runScoreJob(job([input], out, { resume: true }));
    expect(finished.counts.scored).toBe(300);
  });

  it('refuses an input edited in place at the same size (and one only touched), naming it', async () => {
    const input = join(folder, 'edited.jsonl');
    const other = join(folder, 'edited-other.jsonl');
    writeFileSync(input, jsonl('e', 300));
    writeFileSync(other, jsonl('f', 10));
    // Whole seconds, which utimes sets back exactly.
    const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const atime = mtime;
    utimesSync(input, atime, mtime);
    const out = await stoppedRun('edited', [input, other]);
    // The same size, and the same modification time: only the content fingerprint can tell.
    const edited = readFileSync(input, 'utf8').replace('"e text 299"', '"E text 299"');
    expect(edited).not.toBe(readFileSync(input, 'utf8'));
    writeFileSync(input, edited);
    utimesSync(input, atime, mtime);
    await expect(runScoreJob(job([input, other], out, { resume: true }))).rejects.toMatchObject({
      code: 'RESUME_MISMATCH',
      message: expect.stringMatching(/a changed input \(edited\.jsonl: its content differs/),
    });
    // Put back, but with a new modification time.
    writeFileSync(input, jsonl('e', 300));
    utimesSync(input, atime, new Date(mtime.getTime() + 5000));
    await expect(runScoreJob(job([input, other], out, { resume: true }))).rejects.toMatchObject({
      code: 'RESUME_MISMATCH',
      message: expect.stringMatching(/a changed input \(edited\.jsonl: modified at .*, now at /),
    });
    utimesSync(input, atime, mtime);
    const finished = await runScoreJob(job([input, other], out, { resume: true }));
    expect(finished.counts.scored).toBe(310);
  });
});

describe('prune accepts what score skipped (item 19)', () => {
  it('documents over --max-document-bytes are left out (reported), not a mismatch', async () => {
    const input = join(folder, 'sizes.jsonl');
    const big = 'x'.repeat(2000);
    writeFileSync(input, `${jsonl('a', 10)}${JSON.stringify({ id: 'huge', text: big })}\n${jsonl('b', 10)}`);
    const scores = join(folder, 'sizes-scores.jsonl');
    const scored = await runScoreJob(job([input], scores, { maxDocumentBytes: 1000 }));
    expect(scored.counts).toMatchObject({ scored: 20, skipped: 1 });
    const out = join(folder, 'sizes-pruned');
    const result = await pruneCorpus({ inputs: [input], scores, out, metric: 'bits-per-token', keepRatio: 0.5 });
    expect(result.summary.counts).toMatchObject({ documents: 20, kept: 10, pruned: 10, unscored: 1 });
    const kept = result.summary.outputs.kept.map((path) => readFileSync(join(out, path), 'utf8')).join('');
    expect(kept.trimEnd().split('\n')).toHaveLength(10);
    expect(kept).not.toMatch(/"huge"/);
    expect(result.summary.warnings.join('\n')).toMatch(/1 corpus record\(s\) score skipped .*errors\.jsonl/);
  });
});
