/**
 * The compiled CLI as a data engineer runs it, with a tiny random model (the real engine): exit statuses that say
 * whether records failed, cluster launchers, exact duplicates scored once (and a cache across runs), the per-token
 * sidecar. Needs `npx tsc` first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTokenLogprobs } from '../src/scores/logprobs.js';
import { tinyModelPath } from './helpers/models.js';

const cli = new URL('../dist/src/cli/main.js', import.meta.url).pathname;
let folder: string;
let model: string;

beforeAll(() => {
  expect(existsSync(cli), 'run npx tsc -p tsconfig.json first').toBe(true);
  folder = mkdtempSync(join(tmpdir(), 'infoprune-cli-data-'));
  model = tinyModelPath();
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function infoprune(args: string[], input?: string | Buffer, env?: Record<string, string>) {
  const result = spawnSync(process.execPath, [cli, ...args], {
    input,
    timeout: 120_000,
    maxBuffer: 1 << 28,
    env: { ...process.env, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

/** A JSONL corpus of `count` short documents, the first `bad` of them with an empty text. */
function corpus(name: string, count: number, bad = 0): string {
  const path = join(folder, name);
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({ id: `d${i}`, text: i < bad ? '' : `The ${i}th little document, about ${i % 7} cats.` }),
  );
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const ENGINE = ['--context', '64', '--threads', '1', '--workers', '0'];

describe('exit status', () => {
  it('is 0 within --max-error-rate, 3 above it (outputs written), 3 when nothing was scored', () => {
    const input = corpus('ten.jsonl', 10, 1);
    const strict = infoprune(['score', input, '--model', model, '--out', join(folder, 'strict.jsonl'), ...ENGINE]);
    expect(strict.status, strict.stderr).toBe(3);
    expect(strict.stderr).toMatch(/1 records failed \(10.0%\), more than --max-error-rate 0.01/);
    expect(existsSync(join(folder, 'strict.jsonl.manifest.json'))).toBe(true);
    const args = ['--max-error-rate', '0.1', ...ENGINE];
    const tolerant = infoprune(['score', input, '--model', model, '--out', join(folder, 'tolerant.jsonl'), ...args]);
    expect(tolerant.status, tolerant.stderr).toBe(0);
    const empty = corpus('empty.jsonl', 3, 3);
    const none = infoprune(['score', empty, '--model', model, '--out', join(folder, 'none.jsonl'), ...args]);
    expect(none.status, none.stderr).toBe(3);
    expect(none.stderr).toMatch(/no document was scored/);
    const wrong = infoprune([
      'score',
      input,
      '--model',
      model,
      '--out',
      join(folder, 'x.jsonl'),
      '--max-error-rate',
      '2',
    ]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/for --max-error-rate but received 2/);
  });
});

describe('cluster launchers', () => {
  it('--shard auto under a Slurm array writes per-shard files and markers; merge takes the folder', () => {
    const input = corpus('sharded.jsonl', 12);
    const results = join(folder, 'results/');
    for (const task of ['0', '1']) {
      const env = { SLURM_ARRAY_TASK_ID: task, SLURM_ARRAY_TASK_COUNT: '2' };
      const run = infoprune(
        ['score', input, '--model', model, '--out', results, '--shard', 'auto', ...ENGINE],
        undefined,
        env,
      );
      expect(run.status, run.stderr).toBe(0);
      expect(existsSync(join(results, `shard-0000${task}-of-00002.jsonl.done.json`))).toBe(true);
    }
    const merged = join(folder, 'merged.jsonl');
    const merge = infoprune(['merge', results, '--out', merged]);
    expect(merge.status, merge.stderr).toBe(0);
    expect(merge.stderr).toMatch(/2 shards, 12 read = 12 scored/);
    const whole = infoprune(['score', input, '--model', model, '--out', join(folder, 'whole.jsonl'), ...ENGINE]);
    expect(whole.status, whole.stderr).toBe(0);
    const ids = (path: string) =>
      readFileSync(path, 'utf8')
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).id);
    expect(ids(merged)).toEqual(ids(join(folder, 'whole.jsonl')));
    const unset = infoprune(['score', input, '--model', model, '--out', results, '--shard', 'auto', ...ENGINE]);
    expect(unset.status).toBe(1);
    expect(unset.stderr).toMatch(/--shard auto needs a launcher's shard index/);
  });
});

describe('duplicates and token log-probabilities', () => {
  it('scores each distinct text once, reuses a cache across runs, and writes ln p per token that sum to nll', async () => {
    const path = join(folder, 'dups.jsonl');
    const distinct = ['A cat sat on the mat.', 'Dogs bark at night, loudly.', 'The sun rose over the quiet hills.'];
    const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ id: `d${i}`, text: distinct[i % 3] }));
    writeFileSync(path, `${lines.join('\n')}\n`);
    const cache = join(folder, 'score-cache');
    const out = join(folder, 'dups.scores.jsonl');
    const first = infoprune([
      'score',
      path,
      '--model',
      model,
      '--out',
      out,
      '--token-logprobs',
      '--cache',
      cache,
      ...ENGINE,
    ]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/12 read = 12 scored \+ 0 skipped \(9 exact duplicates not scored again\)/);
    let n = 0;
    for await (const { record, tokens, logprobs } of readTokenLogprobs(out)) {
      expect(tokens.length).toBeGreaterThan(3);
      const sum = logprobs.reduce((total, value) => total + (Number.isNaN(value) ? 0 : value), 0);
      expect(-sum).toBeCloseTo(record.nll, 3); // the engine's own per-token values, through the pipeline
      n++;
    }
    expect(n).toBe(12);
    const again = infoprune([
      'score',
      path,
      '--model',
      model,
      '--out',
      join(folder, 'again.jsonl'),
      '--cache',
      cache,
      ...ENGINE,
    ]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/\(12 exact duplicates not scored again\)/);
    const scores = (file: string) =>
      readFileSync(file, 'utf8')
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).nll);
    expect(scores(join(folder, 'again.jsonl'))).toEqual(scores(out));
  });
});

describe('annotated records', () => {
  it('score --annotate writes the inputs back with their scores; --annotate - onto stdout', () => {
    const input = corpus('to-annotate.jsonl', 4);
    const dest = join(folder, 'annotated/');
    const args = ['score', input, '--model', model, '--out', join(folder, 'annotated.scores.jsonl'), ...ENGINE];
    const run = infoprune([...args, '--annotate', dest]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/annotated 4 records → /);
    const written = readFileSync(join(dest, 'to-annotate.jsonl'), 'utf8').split('\n').filter(Boolean);
    const original = readFileSync(input, 'utf8').split('\n').filter(Boolean);
    expect(written.map((line) => line.replace(/,"infoprune":\{[^{}]*\}\}$/, '}'))).toEqual(original);
    // The run is complete: --resume does nothing but annotate again, here onto stdout under another key.
    const piped = infoprune([...args, '--resume', '--annotate', '-', '--annotate-key', 'scores']);
    expect(piped.status, piped.stderr).toBe(0);
    const lines = piped.stdout.toString().split('\n').filter(Boolean);
    expect(lines.map((line) => JSON.parse(line).scores.tokens)).toEqual(
      written.map((line) => JSON.parse(line).infoprune.tokens),
    );
    // infoprune annotate does the same for a finished run (after a merge), into one gzip file.
    const gz = join(folder, 'annotated.jsonl.gz');
    const annotate = infoprune(['annotate', join(folder, 'annotated.scores.jsonl'), '--out', gz]);
    expect(annotate.status, annotate.stderr).toBe(0);
    expect(gunzipSync(readFileSync(gz)).toString().split('\n').filter(Boolean)).toEqual(written);
  });
});

describe('pipes', () => {
  it('reads - from stdin (gzip told by its bytes), writes --out - to stdout, and keeps summaries on stderr', () => {
    const input = corpus('piped.jsonl', 6);
    const file = infoprune(['score', input, '--model', model, '--out', join(folder, 'piped-file.jsonl'), ...ENGINE]);
    expect(file.status, file.stderr).toBe(0);
    const fromFile = readFileSync(join(folder, 'piped-file.jsonl'), 'utf8').split('\n').filter(Boolean);
    const piped = infoprune(['score', '-', '--model', model, '--out', '-', ...ENGINE], gzipSync(readFileSync(input)));
    expect(piped.status, piped.stderr).toBe(0);
    const lines = piped.stdout.toString().split('\n').filter(Boolean);
    expect(lines.length).toBe(6);
    // The same numbers as the file run's, with `-` as the source (ids from the id field).
    const strip = (line: string) => ({ ...JSON.parse(line), source: undefined });
    expect(lines.map(strip)).toEqual(fromFile.map(strip));
    expect(JSON.parse(lines[0]).source).toBe('-');
    expect(piped.stderr).toMatch(/6 read = 6 scored.*→ standard output/);
    // The temporary run files are gone; stdout holds records only; a resume cannot write to stdout.
    expect(piped.stdout.toString()).not.toMatch(/infoprune/);
    const resume = infoprune(['score', input, '--model', model, '--out', '-', '--resume', ...ENGINE]);
    expect(resume.status).toBe(1);
    expect(resume.stderr).toMatch(/--resume cannot be used with --out -/);
    expect(resume.stdout.length).toBe(0);
  });

  it('lists failed records on stderr when the run writes to stdout, and prune reads - too', () => {
    const input = corpus('piped-bad.jsonl', 5, 1);
    const piped = infoprune(
      ['score', '-', '--model', model, '--out', '-', '--max-error-rate', '0.5', ...ENGINE],
      readFileSync(input),
    );
    expect(piped.status, piped.stderr).toBe(0);
    expect(piped.stdout.toString().split('\n').filter(Boolean).length).toBe(4);
    expect(piped.stderr).toMatch(/not scored: \{"source":"-","line":1,/);
    const scores = join(folder, 'piped-bad.scores.jsonl');
    writeFileSync(scores, piped.stdout);
    const out = join(folder, 'piped-pruned');
    const pruned = infoprune(
      ['prune', '--input', '-', '--scores', scores, '--out', out, '--prune-ratio', '0.5'],
      readFileSync(input),
    );
    expect(pruned.status, pruned.stderr).toBe(0);
    expect(pruned.stdout.length).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'selection.json'), 'utf8')).counts.kept).toBe(2);
  });
});
