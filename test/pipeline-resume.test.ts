/**
 * Resume: a run SIGKILLed at random instants and resumed with `resume: true` writes exactly the files an
 * uninterrupted run writes (same records, same values, same errors, same word table), with no document lost or
 * written twice. The fake engine is made batch-sensitive (a result depends on which call it was in), so the test also
 * proves that a resumed run packs documents exactly as the uninterrupted one. Needs `npx tsc` first (the child
 * process runs dist/).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScoreJob } from '../src/pipeline/job.js';
import { brownDocuments, randomGenerator, writeJsonl, writeJsonlGz, writeParquet } from './fixtures/pipeline/corpus.js';
import { createFakeScorer, FAKE_MODEL_PATH, FAKE_TOKENIZER_MODULE } from './helpers/fake-engine.js';

const driver = new URL('./fixtures/pipeline/run-fake-job.mjs', import.meta.url).pathname;
const compiled = new URL('../dist/src/pipeline/job.js', import.meta.url).pathname;

let folder: string;
let inputs: string[];
const fake = { secondsPerToken: 4e-6, batchSensitive: true };

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-resume-'));
  const documents = brownDocuments(60);
  const third = Math.floor(documents.length / 3);
  const data = join(folder, 'data');
  mkdirSync(data);
  const first = documents.slice(0, third).map((document) => JSON.stringify(document));
  first.splice(10, 0, '{"id":"broken", "text": ', '{"id":"empty","text":""}'); // errors to carry across resumes too
  writeFileSync(join(data, 'a.jsonl'), `${first.join('\n')}\n`);
  writeJsonlGz(join(data, 'b.jsonl.gz'), documents.slice(third, 2 * third));
  await writeParquet(join(data, 'c.parquet'), documents.slice(2 * third), 300);
  writeJsonl(
    join(data, 'd.jsonl'),
    documents.slice(0, 50).map((document) => ({ ...document, id: `again-${document.id}` })),
  );
  inputs = [data];
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  progress: number;
  stdout: string;
  stderr: string;
}

/** Runs the job in a child; SIGKILLs it after `kill.afterMs`, or once it reports `kill.atProgress` documents read. */
function runChild(
  job: Record<string, unknown>,
  kill: { afterMs?: number; atProgress?: number } = {},
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [driver, JSON.stringify({ job, fake })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data) => {
      stdout += data;
      const read = Number(/progress (\d+)\n$/.exec(stdout)?.[1] ?? 0);
      if (kill.atProgress !== undefined && read >= kill.atProgress) child.kill('SIGKILL');
    });
    child.stderr.on('data', (data) => (stderr += data));
    const timer = kill.afterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), kill.afterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const progress = [...stdout.matchAll(/^progress (\d+)$/gm)].map((match) => Number(match[1]));
      resolve({ code, signal, progress: progress.at(-1) ?? 0, stdout, stderr });
    });
  });
}

function outputs(out: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const suffix of ['', '.errors.jsonl', '.words.bin'])
    files[suffix || 'scores'] = readFileSync(out + suffix).toString('base64');
  return files;
}

describe('resume after SIGKILL', () => {
  it('gives output identical to an uninterrupted run, killed at random points', async () => {
    expect(existsSync(compiled), 'run npx tsc -p tsconfig.json first: the child runs dist/').toBe(true);
    const common = { inputs, model: FAKE_MODEL_PATH, workers: 2, wordBuckets: 4096, checkpointIntervalMs: 0 };
    const cleanOut = join(folder, 'clean.jsonl');
    const started = performance.now();
    const clean = await runChild({ ...common, out: cleanOut });
    const cleanMs = performance.now() - started;
    expect(clean.code, clean.stderr).toBe(0);
    const total = clean.progress;
    expect(total).toBeGreaterThan(1000);

    const seed = Number(process.env.INFOPRUNE_KILL_SEED ?? Date.now() % 100_000);
    const random = randomGenerator(seed);
    const out = join(folder, 'killed.jsonl');
    const kills: { at: string; progress: number; signal: string | null }[] = [];
    let resume = false;
    const midRun = (kill: { progress: number; signal: string | null }) =>
      kill.signal === 'SIGKILL' && kill.progress > 0 && kill.progress < total;
    let done = 0;
    for (let round = 0; round < 5; round++) {
      // The first kill at a random time (startup included), the others at a random point of the documents still to
      // do, right after the child reports it (the child is then anywhere: reading, scoring, writing, checkpointing).
      const kill =
        round === 0
          ? { afterMs: Math.round(random() * cleanMs) }
          : { atProgress: Math.round(done + random() * (total - done) * 0.9) };
      const result = await runChild({ ...common, out, resume }, kill);
      kills.push({ at: JSON.stringify(kill), progress: result.progress, signal: result.signal });
      resume = true;
      done = result.progress;
      // The timed kill came after the run had finished, or in its final writes after the last document (a fast or
      // idle machine): with no kill mid-run yet, start over, killing by progress.
      if ((result.code === 0 || result.progress >= total) && !kills.some(midRun)) {
        for (const name of readdirSync(folder).filter((file) => file.startsWith('killed.jsonl')))
          rmSync(join(folder, name));
        resume = false;
        done = 0;
        continue;
      }
      if (result.code === 0) break;
      expect(result.signal, `round ${round} (seed ${seed}): ${result.stderr}`).toBe('SIGKILL');
    }
    const last = await runChild({ ...common, out, resume: true });
    expect(last.code, `${last.stderr} (seed ${seed}, kills ${JSON.stringify(kills)})`).toBe(0);
    // At least one kill landed in the middle of the run.
    expect(kills.some(midRun), `seed ${seed}: ${JSON.stringify(kills)}`).toBe(true);

    expect(outputs(out), `seed ${seed}, kills ${JSON.stringify(kills)}`).toEqual(outputs(cleanOut));
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    const cleanManifest = JSON.parse(readFileSync(`${cleanOut}.manifest.json`, 'utf8'));
    expect(manifest.counts).toEqual(cleanManifest.counts);
    expect(manifest.counts.read).toBe(manifest.counts.scored + manifest.counts.skipped);
    expect(manifest.resumes).toBeGreaterThan(0);
    // Nothing is left behind but the four outputs.
    expect(
      readdirSync(folder)
        .filter((name) => name.startsWith('killed.jsonl'))
        .sort(),
    ).toEqual(['killed.jsonl', 'killed.jsonl.errors.jsonl', 'killed.jsonl.manifest.json', 'killed.jsonl.words.bin']);
  }, 240_000);

  it('stops cleanly on request and resumes to the same output; refuses to start over without --resume or --overwrite', async () => {
    const common = { inputs, model: FAKE_MODEL_PATH, workers: 0, wordBuckets: 1024, checkpointIntervalMs: 60_000 };
    const cleanOut = join(folder, 'clean-stop.jsonl');
    await runScoreJob({ ...common, scorer: createFakeScorer({ batchSensitive: true }), out: cleanOut });

    const out = join(folder, 'stopped.jsonl');
    const stop = new AbortController();
    const first = await runScoreJob({
      ...common,
      scorer: createFakeScorer({ batchSensitive: true }),
      out,
      stopSignal: stop.signal,
      progressIntervalMs: 0,
      onProgress: (progress) => {
        if (progress.counts.read > 300) stop.abort();
      },
    });
    expect(first.status).toBe('stopped');
    expect(first.counts.read).toBeGreaterThan(300);
    await expect(runScoreJob({ ...common, scorer: createFakeScorer(), out })).rejects.toMatchObject({
      code: 'RUN_INCOMPLETE',
      message: expect.stringMatching(/pass resume to continue it, or overwrite/),
    });
    await expect(
      runScoreJob({ ...common, scorer: createFakeScorer(), out, resume: true, textField: 'body' }),
    ).rejects.toThrow(/Cannot resume .*: the interrupted run used a different textField \(text vs body\)/);
    const notices: string[] = [];
    const second = await runScoreJob({
      ...common,
      scorer: createFakeScorer({ batchSensitive: true }),
      out,
      resume: true,
      onNotice: (n) => notices.push(n),
    });
    expect(second.status).toBe('completed');
    expect(notices.join('\n')).toMatch(/Resuming .* after \d+ documents/);
    expect(outputs(out)).toEqual(outputs(cleanOut));
    const again = await runScoreJob({ ...common, scorer: createFakeScorer(), out, resume: true });
    expect(again.alreadyComplete).toBe(true);
  });

  it('workers and tokenizer module: a child run with worker threads matches an in-process run', async () => {
    const out = join(folder, 'inproc.jsonl');
    await runScoreJob({
      inputs,
      model: FAKE_MODEL_PATH,
      workers: 1,
      tokenizerModule: FAKE_TOKENIZER_MODULE,
      scorer: createFakeScorer({ ...fake, secondsPerToken: 0 }),
      out,
      wordBuckets: 4096,
    });
    expect(outputs(out)).toEqual(outputs(join(folder, 'clean.jsonl')));
  });
});
