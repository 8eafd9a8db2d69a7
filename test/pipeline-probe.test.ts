/**
 * `score` without a model: the run trains the paper's data probe on its own inputs, scores with it, keeps it beside
 * the scores and names it in the manifest; a rerun reuses it; a sharded run without a model is refused (shards must
 * share one probe).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScoreJob } from '../src/pipeline/job.js';
import { readManifest } from '../src/scores/manifest.js';
import { readTrainingRecord } from '../src/train/record.js';
import { brownDocuments, writeJsonl } from './fixtures/pipeline/corpus.js';

let folder: string;
let corpus: string;
const probe = {
  shape: { layers: 1, embedding: 64, heads: 2, kvHeads: 1, feedForward: 128, vocabularySize: 512 },
  budgetTokens: 10_000,
};

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-score-probe-'));
  corpus = join(folder, 'corpus.jsonl');
  writeJsonl(corpus, brownDocuments(40));
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('score without a model', () => {
  it('trains a probe on the inputs, scores with it, and records it in the manifest', async () => {
    const out = join(folder, 'scores.jsonl');
    const notices: string[] = [];
    const phases = new Set<string>();
    const summary = await runScoreJob({
      inputs: [corpus],
      out,
      probe,
      threads: 1,
      workers: 0,
      onNotice: (message) => notices.push(message),
      onProbeProgress: (progress) => phases.add(progress.phase),
    });
    expect(summary.status).toBe('completed');
    expect(summary.counts.scored).toBe(brownDocuments(40).length);
    expect(notices.join('\n')).toMatch(/training a probe/);
    expect([...phases]).toEqual(expect.arrayContaining(['reading', 'vocabulary', 'training', 'measuring']));
    const manifest = readManifest(out);
    expect(manifest.model.path).toBe(`${out}.probe.gguf`);
    expect(manifest.probe).toMatchObject({ path: `${out}.probe.gguf`, reused: false, tokensSeen: 10_240 });
    const record = readTrainingRecord(`${out}.probe.gguf`);
    expect(record?.model.sha256).toBe(manifest.model.sha256);
    expect(manifest.probe?.heldoutBitsPerByte).toBe(record?.heldout.bitsPerByte);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(brownDocuments(40).length);
  });

  it('reuses the probe trained for the same request, and retrains for another', async () => {
    const out = join(folder, 'scores.jsonl');
    const notices: string[] = [];
    await runScoreJob({ inputs: [corpus], out, probe, threads: 1, workers: 0, onNotice: (m) => notices.push(m) });
    expect(notices.join('\n')).toMatch(/Reusing the probe/);
    expect(readManifest(out).probe?.reused).toBe(true);
    const before = readTrainingRecord(`${out}.probe.gguf`)?.model.sha256;
    await runScoreJob({ inputs: [corpus], out, probe: { ...probe, seed: 9 }, threads: 1, workers: 0 });
    expect(readManifest(out).probe?.reused).toBe(false);
    expect(readTrainingRecord(`${out}.probe.gguf`)?.model.sha256).not.toBe(before);
  });

  it('retrains a probe an older trainer or other defaults made for the same options', async () => {
    const out = join(folder, 'scores.jsonl');
    const recordPath = `${out}.probe.gguf.training.json`;
    const retrainsAfter = async (edit: (request: Record<string, unknown>) => void) => {
      await runScoreJob({ inputs: [corpus], out, probe, threads: 1, workers: 0, overwrite: true });
      const record = JSON.parse(readFileSync(recordPath, 'utf8'));
      edit(record.request);
      writeFileSync(recordPath, JSON.stringify(record));
      await runScoreJob({ inputs: [corpus], out, probe, threads: 1, workers: 0, overwrite: true });
      return readManifest(out).probe?.reused === false;
    };
    expect(await retrainsAfter((request) => delete request.trainerRevision)).toBe(true);
    expect(await retrainsAfter((request) => Object.assign(request.defaults as object, { learningRate: 1e-4 }))).toBe(
      true,
    );
    expect(await retrainsAfter(() => {})).toBe(false); // the edit itself is not what retrains
  });

  it('refuses a sharded run without a model, and probe options with a model, before reading anything', async () => {
    const out = join(folder, 'shard.jsonl');
    await expect(runScoreJob({ inputs: [corpus], out, shard: '0/2' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringMatching(/same probe/),
    });
    await expect(runScoreJob({ inputs: [corpus], out, model: 'm.gguf', probe })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    expect(existsSync(`${out}.probe.gguf`)).toBe(false);
  });
});
