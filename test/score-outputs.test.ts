/**
 * What `runScoreJob` gives a data engineer beyond the score file (library side, fake engine): the failure share
 * against maxErrorRate.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScoreJob } from '../src/pipeline/job.js';
import { createFakeScorer, FAKE_MODEL_PATH } from './helpers/fake-engine.js';

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
