/**
 * The pipeline with the fake engine: one record per document in input order, values equal to scoring each document
 * alone, the same results with and without worker threads, reordering inside windows never changing a result,
 * progress events, cancellation, option validation, and the file-writing job's outputs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScoreJob } from '../src/pipeline/job.js';
import { scoreCorpus } from '../src/pipeline/score-corpus.js';
import type { ScoreRecord } from '../src/scores/record.js';
import { WordFrequencyTable } from '../src/text/word-frequency.js';
import { countWords } from '../src/text/words.js';
import { brownDocuments, type TestDocument, writeJsonl } from './fixtures/pipeline/corpus.js';
import {
  createFakeScorer,
  FAKE_MODEL_PATH,
  FAKE_TOKENIZER_MODULE,
  fakeScore,
  fakeTokenize,
} from './helpers/fake-engine.js';

let folder: string;
let documents: TestDocument[];
let corpus: string;

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-run-'));
  documents = brownDocuments(40);
  corpus = join(folder, 'brown.jsonl');
  writeJsonl(corpus, documents);
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function collect(iterable: AsyncIterable<ScoreRecord>): Promise<ScoreRecord[]> {
  const records: ScoreRecord[] = [];
  for await (const record of iterable) records.push(record);
  return records;
}

function expectedRecord(document: TestDocument, line: number): ScoreRecord {
  const tokens = fakeTokenize(document.text);
  const bytes = Buffer.byteLength(document.text);
  const result = fakeScore(tokens, bytes);
  return {
    id: document.id,
    source: corpus,
    line,
    tokens: result.tokens,
    nll: result.nll,
    bytes,
    bits_per_token: result.bitsPerToken,
    bits_per_byte: result.bitsPerByte,
    perplexity: result.perplexity,
    words: countWords(document.text),
  };
}

describe('scoreCorpus (fake engine)', () => {
  it('yields one record per document, in input order, equal to scoring each document alone (workers: 0)', async () => {
    const scorer = createFakeScorer();
    const records = await collect(scoreCorpus({ inputs: [corpus], model: FAKE_MODEL_PATH, scorer, workers: 0 }));
    expect(records).toHaveLength(documents.length);
    expect(records).toEqual(documents.map((document, i) => expectedRecord(document, i + 1)));
    // Documents were packed many to a call, and sorted by length within windows.
    expect(scorer.calls.length).toBeGreaterThan(1);
    expect(scorer.calls.length).toBeLessThan(documents.length);
  });

  it('gives the same records with worker threads as on the calling thread', async () => {
    const scorer = createFakeScorer();
    const run = scoreCorpus({
      inputs: [corpus],
      model: FAKE_MODEL_PATH,
      scorer,
      workers: 2,
      tokenizerModule: FAKE_TOKENIZER_MODULE,
    });
    const records = await collect(run);
    expect(records).toEqual(documents.map((document, i) => expectedRecord(document, i + 1)));
    // The word-frequency table counts every word of every record.
    expect(run.wordFrequency.total).toBe(records.reduce((sum, record) => sum + record.words, 0));
    const reference = new WordFrequencyTable(run.wordFrequency.buckets);
    for (const document of documents)
      reference.addWords(
        document.text
          .normalize('NFKC')
          .toLowerCase()
          .match(/[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*/gu) ?? [],
      );
    expect(Buffer.compare(run.wordFrequency.toBuffer(), reference.toBuffer())).toBe(0);
  });

  it('never changes a result by packing: tiny calls and windows give the same records', async () => {
    const big = await collect(
      scoreCorpus({ inputs: [corpus], model: FAKE_MODEL_PATH, scorer: createFakeScorer(), workers: 0 }),
    );
    const scorer = createFakeScorer({ batchSize: 16, maxSequences: 1 });
    const small = await collect(scoreCorpus({ inputs: [corpus], model: FAKE_MODEL_PATH, scorer, workers: 0 }));
    expect(small).toEqual(big);
    // maxSequences 1: calls of at most 4 documents (packingFor: 4 engine batches per call).
    expect(Math.max(...scorer.calls.map((call) => call.length))).toBeLessThanOrEqual(4);
  });

  it('reports progress and skips', async () => {
    const progress: number[] = [];
    const skips: string[] = [];
    const records = await collect(
      scoreCorpus({
        inputs: [corpus],
        model: FAKE_MODEL_PATH,
        scorer: createFakeScorer(),
        workers: 0,
        progressIntervalMs: 0,
        onProgress: (p) => progress.push(p.counts.read),
        onSkip: (s) => skips.push(s.reason),
      }),
    );
    expect(records).toHaveLength(documents.length);
    expect(skips).toEqual([]);
    expect(progress.at(-1)).toBe(documents.length);
    expect(progress.length).toBeGreaterThan(1);
  });

  it('stops with an AbortError when its signal aborts', async () => {
    const controller = new AbortController();
    const scorer = createFakeScorer({ secondsPerToken: 1e-5 });
    let seen = 0;
    const run = scoreCorpus({
      inputs: [corpus],
      model: FAKE_MODEL_PATH,
      scorer,
      workers: 0,
      signal: controller.signal,
    });
    await expect(
      (async () => {
        for await (const _record of run) {
          if (++seen === 5) controller.abort();
        }
      })(),
    ).rejects.toThrow(/abort/i);
    expect(seen).toBeLessThan(documents.length);
  });

  it('validates options before opening anything', () => {
    expect(() => scoreCorpus({ inputs: [corpus], model: FAKE_MODEL_PATH, batchSize: -1 })).toThrow(
      'Expected positive integer for batchSize but received -1 of type number',
    );
    expect(() => scoreCorpus({ inputs: [], model: FAKE_MODEL_PATH })).toThrow(/Expected non-empty array .* for inputs/);
    expect(() => scoreCorpus({ inputs: [corpus], model: FAKE_MODEL_PATH, shard: '3/3' })).toThrow(
      'Expected i/N with 0 <= i < N (for example 0/4), auto or auto/N for shard but received "3/3" of type string',
    );
    expect(() => scoreCorpus({ inputs: [corpus], model: FAKE_MODEL_PATH, workers: 1.5 })).toThrow(/workers/);
    expect(() => scoreCorpus({ inputs: [corpus], model: FAKE_MODEL_PATH, textMode: 'para' as 'line' })).toThrow(
      /textMode/,
    );
    expect(() =>
      scoreCorpus({ inputs: [corpus], model: FAKE_MODEL_PATH, scorer: createFakeScorer(), contextSize: 128 }),
    ).toThrow(/no contextSize with scorer/);
  });
});

describe('runScoreJob (fake engine)', () => {
  it('writes scores, errors, words and manifest; JSONL equals the API records', async () => {
    const out = join(folder, 'scores.jsonl');
    const summary = await runScoreJob({
      inputs: [corpus],
      model: FAKE_MODEL_PATH,
      scorer: createFakeScorer(),
      workers: 0,
      out,
      wordBuckets: 1024,
    });
    expect(summary.status).toBe('completed');
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual(
      documents.map((document, i) => expectedRecord(document, i + 1)),
    );
    expect(Object.keys(JSON.parse(lines[0]))).toEqual([
      'id',
      'source',
      'line',
      'tokens',
      'nll',
      'bytes',
      'bits_per_token',
      'bits_per_byte',
      'perplexity',
      'words',
    ]);
    expect(readFileSync(`${out}.errors.jsonl`, 'utf8')).toBe('');
    const table = WordFrequencyTable.load(`${out}.words.bin`);
    expect(table.buckets).toBe(1024);
    expect(table.total).toBe(summary.counts.words);
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    expect(manifest.counts).toMatchObject({ read: documents.length, scored: documents.length, skipped: 0 });
    expect(manifest.model).toMatchObject({
      path: FAKE_MODEL_PATH,
      architecture: 'fake',
      vocabularySize: 1003,
      addsBos: true,
    });
    expect(manifest.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.scoring).toMatchObject({ contextSize: 64, stride: 32 });
    expect(manifest.scoring.bosPolicy).toMatch(/adds BOS/);
    expect(manifest.inputs).toEqual([
      {
        source: corpus,
        key: 'brown.jsonl',
        format: 'jsonl',
        compression: 'none',
        sizeBytes: readFileSync(corpus).length,
        fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);
    expect(manifest.infoprune).toMatch(/^\d+\.\d+\.\d+/);
    expect(Date.parse(manifest.finishedAt)).toBeGreaterThanOrEqual(Date.parse(manifest.startedAt));
    for (const leftover of ['.partial.jsonl', '.errors.jsonl.partial', '.checkpoint.json'])
      expect(existsSync(out + leftover)).toBe(false);
  });

  it('writes Parquet with the same columns and values', async () => {
    const jsonl = join(folder, 'same.jsonl');
    const parquet = join(folder, 'same.parquet');
    await runScoreJob({
      inputs: [corpus],
      model: FAKE_MODEL_PATH,
      scorer: createFakeScorer(),
      workers: 0,
      out: jsonl,
      wordBuckets: 1024,
    });
    await runScoreJob({
      inputs: [corpus],
      model: FAKE_MODEL_PATH,
      scorer: createFakeScorer(),
      workers: 0,
      out: parquet,
      wordBuckets: 1024,
    });
    const { readScoreRecords } = await import('../src/scores/read.js');
    const fromParquet: ScoreRecord[] = [];
    for await (const record of readScoreRecords(parquet)) fromParquet.push(record);
    const fromJsonl = readFileSync(jsonl, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(fromParquet).toEqual(fromJsonl);
    expect(Buffer.compare(readFileSync(`${parquet}.words.bin`), readFileSync(`${jsonl}.words.bin`))).toBe(0);
  });

  it('refuses to run without a model or a writable output, before reading anything', async () => {
    await expect(
      runScoreJob({ inputs: [corpus], model: join(folder, 'missing.gguf'), out: join(folder, 'x.jsonl') }),
    ).rejects.toThrow(/Model not found: .*missing\.gguf/);
    await expect(
      runScoreJob({ inputs: [corpus], model: FAKE_MODEL_PATH, out: join(folder, 'no', 'such', 'x.jsonl') }),
    ).rejects.toThrow(/Cannot write .*x\.jsonl: the folder .* does not exist/);
  });
});

describe('command line help', () => {
  it('documents every score and merge option', async () => {
    const { spawnSync } = await import('node:child_process');
    const cli = new URL('../dist/src/cli/main.js', import.meta.url).pathname;
    expect(existsSync(cli), 'run npx tsc -p tsconfig.json first').toBe(true);
    const top = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' }).stdout;
    expect(top).toMatch(/score \[options\] <inputs\.\.\.>/);
    expect(top).toMatch(/merge \[options\] <shards\.\.\.>/);
    const help = spawnSync(process.execPath, [cli, 'score', '--help'], { encoding: 'utf8' }).stdout;
    for (const flag of [
      '--model',
      '--out',
      '--text-field',
      '--id-field',
      '--text-mode',
      '--format',
      '--context',
      '--stride',
      '--batch',
      '--threads',
      '--gpu-layers',
      '--workers',
      '--resume',
      '--shard',
      '--quiet',
      '--verbose',
      '--overwrite',
      '--max-document-bytes',
      '--word-buckets',
      '--checkpoint-every',
    ]) {
      expect(help).toContain(flag);
    }
    expect(help).toMatch(/errors\.jsonl/);
    expect(help).toMatch(/manifest\.json/);
    const merge = spawnSync(process.execPath, [cli, 'merge', '--help'], { encoding: 'utf8' }).stdout;
    expect(merge).toMatch(/--out <file>/);
    expect(merge).toMatch(/missing\s+shard/);
  });
});
