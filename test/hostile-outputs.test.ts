/**
 * Outputs against hostile paths and concurrent runs (issue 10, items 2, 3, 4, 19): only the run's own files are left
 * out of its inputs (and reported), two runs writing one output never both proceed (an flock that dies with its
 * process, even by SIGKILL), nothing but a regular file infoprune wrote is replaced, and merge compares resolved
 * paths. Uses the fake engine (no native scoring); the kill test runs a child on dist/ (`npx tsc` first).
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScoreJob, type ScoreJobOptions } from '../src/pipeline/job.js';
import { mergeShards } from '../src/pipeline/merge.js';
import { OutputLock } from '../src/scores/output-safety.js';
import { pruneCorpus } from '../src/select/prune.js';
import { createFakeScorer, FAKE_MODEL_PATH, FAKE_TOKENIZER_MODULE } from './helpers/fake-engine.js';
import { REPO_ROOT } from './helpers/models.js';

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-hostile-outputs-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function jsonl(prefix: string, count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) text += `${JSON.stringify({ id: `${prefix}${i}`, text: `${prefix} text ${i}` })}\n`;
  return text;
}

function job(inputs: string[], out: string, extra: Partial<ScoreJobOptions> = {}): ScoreJobOptions {
  return {
    inputs,
    out,
    model: FAKE_MODEL_PATH,
    scorer: createFakeScorer(),
    tokenizerModule: FAKE_TOKENIZER_MODULE,
    workers: 0,
    wordBuckets: 1024,
    ...extra,
  };
}

function ids(out: string): string[] {
  return readFileSync(out, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line).id);
}

describe("only the run's own files are left out of its inputs (item 2)", () => {
  it('reads an input named <out>.<anything> that is not one of the run files', async () => {
    const dir = join(folder, 'prefix');
    mkdirSync(dir);
    writeFileSync(join(dir, 'corpus.jsonl.gz'), gzipSync(jsonl('gz', 3)));
    writeFileSync(join(dir, 'other.jsonl'), jsonl('other', 2));
    const out = join(dir, 'corpus.jsonl');
    await runScoreJob(job([join(dir, 'corpus.jsonl.gz'), join(dir, 'other.jsonl')], out));
    expect(ids(out)).toEqual(['gz0', 'gz1', 'gz2', 'other0', 'other1']);
  });

  it("reports the run's own files in a folder input, and refuses a folder holding an earlier run's outputs", async () => {
    const dir = join(folder, 'inside');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.jsonl'), jsonl('a', 2));
    const out = join(dir, 'scores.jsonl');
    const notices: string[] = [];
    await runScoreJob(job([dir], out, { onNotice: (message) => notices.push(message) }));
    expect(ids(out)).toEqual(['a0', 'a1']);
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    expect(manifest.skippedInputs).toEqual([{ path: `${out}.lock`, reason: "not read: this run's own file" }]);
    expect(notices).toContain(`${out}.lock: not read: this run's own file`);
    // Now the folder holds scores.jsonl and its manifest: a new run would read what it is about to replace.
    await expect(runScoreJob(job([dir], out))).rejects.toMatchObject({ code: 'INPUT_IS_OUTPUT' });
    expect(ids(out)).toEqual(['a0', 'a1']);
  });
});

describe('one run per output (item 3)', () => {
  it('a second score run writing the same output fails at once; the first completes', async () => {
    const input = join(folder, 'two-runs.jsonl');
    writeFileSync(input, jsonl('d', 400));
    const out = join(folder, 'two-runs-scores.jsonl');
    // runScoreJob takes the lock before its first await: the second call finds it held.
    const first = runScoreJob(job([input], out, { scorer: createFakeScorer({ secondsPerToken: 2e-4 }) }));
    await expect(runScoreJob(job([input], out))).rejects.toMatchObject({
      code: 'OUTPUT_LOCKED',
      message: expect.stringMatching(new RegExp(`being written by another infoprune run \\(process ${process.pid}`)),
    });
    expect((await first).counts.scored).toBe(400);
    expect(ids(out)).toHaveLength(400);
    expect(existsSync(`${out}.lock`)).toBe(false);
  });

  it('prune and merge outputs are locked too', async () => {
    const input = join(folder, 'locked-prune.jsonl');
    writeFileSync(input, jsonl('p', 10));
    const out = join(folder, 'locked-prune-out');
    const held = OutputLock.acquire(out);
    try {
      await expect(pruneCorpus({ inputs: [input], out, metric: 'zlib-ratio', keepRatio: 0.5 })).rejects.toMatchObject({
        code: 'OUTPUT_LOCKED',
      });
      const merged = join(folder, 'locked-merged.jsonl');
      const mergeLock = OutputLock.acquire(merged);
      await expect(mergeShards({ shards: [join(folder, 'none.jsonl')], out: merged })).rejects.toMatchObject({
        code: 'OUTPUT_LOCKED',
      });
      mergeLock.release();
    } finally {
      held.release();
    }
    await pruneCorpus({ inputs: [input], out, metric: 'zlib-ratio', keepRatio: 0.5 });
    expect(existsSync(join(out, 'selection.json'))).toBe(true);
  });

  it('a SIGKILLed holder leaves no lock behind', async () => {
    const out = join(folder, 'killed-holder.jsonl');
    const module = join(REPO_ROOT, 'dist/src/scores/output-safety.js');
    const child = spawn(
      process.execPath,
      [
        '-e',
        `import(${JSON.stringify(module)}).then((m) => { m.OutputLock.acquire(${JSON.stringify(out)}); console.log('locked'); setInterval(() => {}, 1000); })`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    expect(() => OutputLock.acquire(out)).toThrow(/being written by another infoprune run/);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const lock = OutputLock.acquire(out);
    expect(readFileSync(`${out}.lock`, 'utf8')).toContain(`"pid":${process.pid}`);
    lock.release();
  });
});

describe('nothing but a regular file infoprune wrote is replaced (item 4)', () => {
  it('refuses a FIFO or a symbolic link as --out, and leaves it as it was', async () => {
    const input = join(folder, 'fifo-input.jsonl');
    writeFileSync(input, jsonl('f', 2));
    const fifo = join(folder, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(runScoreJob(job([input], fifo))).rejects.toMatchObject({
      code: 'OUTPUT_NOT_WRITABLE',
      message: expect.stringMatching(/is a FIFO \(named pipe\), and infoprune replaces only regular files/),
    });
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    const target = join(folder, 'precious.txt');
    writeFileSync(target, 'precious');
    const link = join(folder, 'link.jsonl');
    symlinkSync(target, link);
    await expect(runScoreJob(job([input], link))).rejects.toMatchObject({ code: 'OUTPUT_NOT_WRITABLE' });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('precious');
    // A FIFO where a companion file goes (the errors file) is refused too.
    const out = join(folder, 'companion.jsonl');
    execFileSync('mkfifo', [`${out}.errors.jsonl`]);
    await expect(runScoreJob(job([input], out))).rejects.toMatchObject({ code: 'OUTPUT_NOT_WRITABLE' });
    expect(statSync(`${out}.errors.jsonl`).isFIFO()).toBe(true);
    await expect(mergeShards({ shards: [join(folder, 'none.jsonl')], out: fifo })).rejects.toMatchObject({
      code: 'OUTPUT_NOT_WRITABLE',
    });
  });

  it("refuses to replace a user's file that infoprune did not write, unless overwrite", async () => {
    const input = join(folder, 'mine-input.jsonl');
    writeFileSync(input, jsonl('m', 2));
    const out = join(folder, 'mine.jsonl');
    writeFileSync(out, 'my own data\n');
    await expect(runScoreJob(job([input], out))).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
    expect(readFileSync(out, 'utf8')).toBe('my own data\n');
    await runScoreJob(job([input], out, { overwrite: true }));
    expect(ids(out)).toEqual(['m0', 'm1']);
    await runScoreJob(job([input], out)); // infoprune's own output (a manifest beside it): replaced
    expect(ids(out)).toEqual(['m0', 'm1']);
  });
});

describe('merge compares resolved paths (item 19)', () => {
  it('refuses -o ./s0.jsonl (and a hard link to a shard), leaving the shard intact', async () => {
    const input = join(folder, 'merge-input.jsonl');
    writeFileSync(input, jsonl('s', 30));
    const shards = [0, 1].map((i) => join(folder, `s${i}.jsonl`));
    for (let i = 0; i < 2; i++) await runScoreJob(job([input], shards[i], { shard: `${i}/2` }));
    const before = readFileSync(shards[0]);
    const cwd = process.cwd();
    process.chdir(folder);
    try {
      await expect(mergeShards({ shards: ['s0.jsonl', 's1.jsonl'], out: './s0.jsonl' })).rejects.toMatchObject({
        code: 'OUTPUT_EXISTS',
        message: expect.stringMatching(/would overwrite s0\.jsonl/),
      });
      await expect(
        mergeShards({ shards: ['s0.jsonl', 's1.jsonl'], out: join('..', folder.split('/').at(-1)!, 's1.jsonl') }),
      ).rejects.toMatchObject({ code: 'OUTPUT_EXISTS', message: expect.stringMatching(/would overwrite/) });
      linkSync('s0.jsonl', 'hard-link.jsonl');
      await expect(mergeShards({ shards: ['s0.jsonl', 's1.jsonl'], out: 'hard-link.jsonl' })).rejects.toMatchObject({
        code: 'OUTPUT_EXISTS',
        message: expect.stringMatching(/would overwrite s0\.jsonl, a file of shard s0\.jsonl/),
      });
    } finally {
      process.chdir(cwd);
    }
    expect(readFileSync(shards[0])).toEqual(before);
    const merged = join(folder, 'merged.jsonl');
    await mergeShards({ shards, out: merged });
    expect(ids(merged)).toHaveLength(30);
  });
});
