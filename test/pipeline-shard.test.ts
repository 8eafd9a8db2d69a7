/**
 * Sharding: `shard 0/3, 1/3, 2/3` cover every document exactly once, and `merge` rebuilds the unsharded run's
 * output (records, errors, word table); a missing shard, a shard given twice, or shards of different runs are refused.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseShard, resolveShard, shardOf } from '../src/corpus/shard.js';
import { runScoreJob } from '../src/pipeline/job.js';
import { mergeShards } from '../src/pipeline/merge.js';
import { readScoreRecords } from '../src/scores/read.js';
import { brownDocuments, writeJsonlGz, writeParquet } from './fixtures/pipeline/corpus.js';
import { createFakeScorer, FAKE_MODEL_PATH } from './helpers/fake-engine.js';

let folder: string;
let data: string;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-shard-'));
  data = join(folder, 'data');
  mkdirSync(data);
  const documents = brownDocuments(20);
  const lines = documents.slice(0, 200).map((document) => JSON.stringify(document));
  lines.splice(50, 0, 'not json', '{"text":""}');
  writeFileSync(join(data, 'a.jsonl'), `${lines.join('\n')}\n`);
  writeJsonlGz(join(data, 'b.jsonl.gz'), documents.slice(200, 400));
  await writeParquet(join(data, 'c.parquet'), documents.slice(400), 64);
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

const common = () => ({ inputs: [data], model: FAKE_MODEL_PATH, workers: 0, wordBuckets: 2048 });

function files(out: string): Record<string, Buffer> {
  return {
    scores: readFileSync(out),
    errors: readFileSync(`${out}.errors.jsonl`),
    words: readFileSync(`${out}.words.bin`),
  };
}

describe('sharding and merge', () => {
  it('shards partition the documents; merge equals the unsharded run', async () => {
    const whole = join(folder, 'whole.jsonl');
    await runScoreJob({ ...common(), scorer: createFakeScorer(), out: whole });
    const shards = [0, 1, 2].map((i) => join(folder, `shard-${i}.jsonl`));
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const summary = await runScoreJob({ ...common(), scorer: createFakeScorer(), out: shards[i], shard: `${i}/3` });
      counts.push(summary.counts.read);
      expect(JSON.parse(readFileSync(`${shards[i]}.manifest.json`, 'utf8')).shard).toEqual({ index: i, count: 3 });
    }
    const wholeManifest = JSON.parse(readFileSync(`${whole}.manifest.json`, 'utf8'));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(wholeManifest.counts.read);
    for (const count of counts) expect(count).toBeGreaterThan(wholeManifest.counts.read / 6); // roughly balanced

    const merged = join(folder, 'merged.jsonl');
    // Given in any order.
    const summary = await mergeShards({ shards: [shards[2], shards[0], shards[1]], out: merged });
    expect(summary.counts).toEqual(wholeManifest.counts);
    expect(files(merged)).toEqual(files(whole));
    const manifest = JSON.parse(readFileSync(`${merged}.manifest.json`, 'utf8'));
    expect(manifest.shard).toBeNull();
    expect(manifest.mergedFrom).toEqual(shards);

    // Parquet shards merge to Parquet with the same records.
    const parquetMerged = join(folder, 'merged.parquet');
    await mergeShards({ shards, out: parquetMerged });
    const records = [];
    for await (const record of readScoreRecords(parquetMerged)) records.push(record);
    expect(records).toEqual(
      readFileSync(whole, 'utf8')
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
    );
  });

  it('refuses a missing shard, a shard given twice, and shards of different runs', async () => {
    const shards = [0, 1, 2].map((i) => join(folder, `shard-${i}.jsonl`));
    const out = join(folder, 'refused.jsonl');
    await expect(mergeShards({ shards: [shards[0], shards[2]], out })).rejects.toThrow(
      'Missing shard 1/3: got 0/3, 2/3',
    );
    // The same shard twice (a copy under another name): two shards overlap.
    const copy = join(folder, 'copy-of-1.jsonl');
    for (const suffix of ['', '.manifest.json', '.errors.jsonl', '.words.bin'])
      copyFileSync(shards[1] + suffix, copy + suffix);
    await expect(mergeShards({ shards: [shards[0], shards[1], copy, shards[2]], out })).rejects.toThrow(
      /Shards overlap: .*shard-1\.jsonl and .*copy-of-1\.jsonl are both shard 1\/3/,
    );
    // A shard of a run with other options.
    const other = join(folder, 'other-1.jsonl');
    await runScoreJob({ ...common(), scorer: createFakeScorer(), out: other, shard: '1/3', maxDocumentBytes: 1000 });
    await expect(mergeShards({ shards: [shards[0], other, shards[2]], out })).rejects.toThrow(
      /cannot be merged: .* used a different maxDocumentBytes/,
    );
    // A shard whose records were tampered with to overlap another's is caught while merging.
    const forged = join(folder, 'forged-2.jsonl');
    for (const suffix of ['.manifest.json', '.errors.jsonl', '.words.bin'])
      copyFileSync(shards[2] + suffix, forged + suffix);
    const sources: string[] = JSON.parse(readFileSync(`${shards[2]}.manifest.json`, 'utf8')).inputs.map(
      (input: { source: string }) => input.source,
    );
    const lines = (path: string) =>
      readFileSync(path, 'utf8')
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line));
    const position = (record: { source: string; line: number }) => sources.indexOf(record.source) * 1e9 + record.line;
    const inOrder = [...lines(shards[2]), lines(shards[1])[5]].sort((a, b) => position(a) - position(b));
    writeFileSync(forged, `${inOrder.map((record) => JSON.stringify(record)).join('\n')}\n`);
    // Its manifest forged to match (else the record count and checksum refuse it before the merge starts).
    const reseal = () => {
      const manifest = JSON.parse(readFileSync(`${shards[2]}.manifest.json`, 'utf8'));
      delete manifest.checksums;
      manifest.counts.scored = lines(forged).length;
      writeFileSync(`${forged}.manifest.json`, JSON.stringify(manifest));
    };
    reseal();
    await expect(mergeShards({ shards: [shards[0], shards[1], forged], out })).rejects.toThrow(
      /Shards overlap: .* both hold the record at/,
    );
    // Out of input order (edited or corrupt): refused too.
    writeFileSync(forged, `${readFileSync(shards[2], 'utf8') + readFileSync(shards[1], 'utf8').split('\n')[0]}\n`);
    reseal();
    await expect(mergeShards({ shards: [shards[0], shards[1], forged], out })).rejects.toThrow(
      /forged-2\.jsonl is not in input order at /,
    );
    await expect(mergeShards({ shards: [join(folder, 'nope.jsonl')], out })).rejects.toThrow(/has no manifest/);
  });

  it('--shard auto takes the index from Slurm arrays and Kubernetes Indexed Jobs', () => {
    expect(resolveShard('auto', { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '8' })).toEqual({
      index: 3,
      count: 8,
    });
    // --array=10-17: ids from 10, count from min and max.
    const ranged = { SLURM_ARRAY_TASK_ID: '12', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_MAX: '17' };
    expect(resolveShard('auto', ranged)).toEqual({ index: 2, count: 8 });
    // --array=0-14:2: every other id.
    const stepped = { SLURM_ARRAY_TASK_ID: '6', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '14' };
    expect(resolveShard('auto', { ...stepped, SLURM_ARRAY_TASK_STEP: '2' })).toEqual({ index: 3, count: 8 });
    expect(resolveShard('auto/8', { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '8' })).toEqual({
      index: 3,
      count: 8,
    });
    expect(() => resolveShard('auto/4', { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '8' })).toThrow(
      'shard auto/4 disagrees with the Slurm array, which has 8 tasks',
    );
    expect(resolveShard('auto/8', { JOB_COMPLETION_INDEX: '7' })).toEqual({ index: 7, count: 8 });
    expect(() => resolveShard('auto', { JOB_COMPLETION_INDEX: '7' })).toThrow(/pass it as auto\/N/);
    expect(() => resolveShard('auto/4', { JOB_COMPLETION_INDEX: '7' })).toThrow(/index 7, outside 0 to 3/);
    expect(() => resolveShard('auto', {})).toThrow(/SLURM_ARRAY_TASK_ID .* or JOB_COMPLETION_INDEX .* is not set/);
    expect(() => resolveShard('auto', { SLURM_ARRAY_TASK_ID: 'x' })).toThrow(/non-negative integer/);
  });

  it('auto shards write into a folder, leave completion markers, and merge finds them by folder', async () => {
    const results = join(folder, 'results');
    mkdirSync(results);
    const whole = join(folder, 'whole.jsonl');
    const env = { ...process.env };
    try {
      for (const index of [2, 0]) {
        process.env.JOB_COMPLETION_INDEX = String(index);
        const summary = await runScoreJob({
          ...common(),
          scorer: createFakeScorer(),
          out: `${results}/`,
          shard: 'auto/3',
        });
        expect(summary.outputs.scores).toBe(join(results, `shard-0000${index}-of-00003.jsonl`));
      }
    } finally {
      process.env = env;
    }
    const done = JSON.parse(readFileSync(join(results, 'shard-00002-of-00003.jsonl.done.json'), 'utf8'));
    expect(done).toMatchObject({
      format: 'infoprune-shard-done',
      shard: { index: 2, count: 3 },
      scores: 'shard-00002-of-00003.jsonl',
    });
    expect(done.run).toMatch(/^[0-9a-f]{16}$/);
    const out = join(folder, 'by-folder.jsonl');
    // Shard 1 is missing; an interrupted run of it left a checkpoint, which the message names.
    writeFileSync(
      join(results, 'shard-00001-of-00003.jsonl.checkpoint.json'),
      JSON.stringify({ shard: { index: 1, count: 3 } }),
    );
    await expect(mergeShards({ shards: [results], out })).rejects.toThrow(
      /missing shard 1\/3 \(unfinished: shard-00001-of-00003\.jsonl\.checkpoint\.json\) of 3/,
    );
    rmSync(join(results, 'shard-00001-of-00003.jsonl.checkpoint.json'));
    await runScoreJob({
      ...common(),
      scorer: createFakeScorer(),
      out: join(results, 'scores-{shard}.jsonl'),
      shard: '1/3',
    });
    expect(existsSync(join(results, 'scores-00001-of-00003.jsonl.done.json'))).toBe(true);
    const summary = await mergeShards({ shards: [results], out });
    expect(summary.shards).toBe(3);
    expect(files(out)).toEqual(files(whole));
    // A shard of another run in the same folder: refused, naming both.
    await runScoreJob({ ...common(), scorer: createFakeScorer(), out: `${results}/`, shard: '0/2' });
    await expect(mergeShards({ shards: [results], out: join(folder, 'again.jsonl') })).rejects.toThrow(
      /holds shards of 2 different runs/,
    );
    expect(readdirSync(results).filter((name) => name.endsWith('.done.json'))).toHaveLength(4);
  });

  it('auto refuses an --out every shard would share, and {shard} without a shard', async () => {
    const env = { ...process.env };
    process.env.SLURM_ARRAY_TASK_ID = '0';
    process.env.SLURM_ARRAY_TASK_COUNT = '2';
    try {
      await expect(
        runScoreJob({ ...common(), scorer: createFakeScorer(), out: join(folder, 'same.jsonl'), shard: 'auto' }),
      ).rejects.toThrow(/With shard auto every shard is given the same out: make it a folder/);
    } finally {
      process.env = env;
    }
    await expect(
      runScoreJob({ ...common(), scorer: createFakeScorer(), out: join(folder, 'x-{shard}.jsonl') }),
    ).rejects.toThrow('out holds {shard} but no shard is given');
  });

  it('assigns shards by position, stably', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(() => parseShard('1/0')).toThrow(/for shard/);
    const counts = [0, 0, 0, 0];
    for (let line = 1; line <= 4000; line++) counts[shardOf('data/a.jsonl', line, 4)]++;
    for (const count of counts) expect(Math.abs(count - 1000)).toBeLessThan(120);
    expect(shardOf('data/a.jsonl', 17, 4)).toBe(shardOf('data/a.jsonl', 17, 4));
  });
});
