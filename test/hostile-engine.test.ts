/**
 * The engine against hostile models and misuse (issue 10, items 9-15): models llama.cpp would abort on are refused
 * before it loads them (checked in a child process, so an abort shows as a signal), a model file cut short during a
 * run stops it cleanly and resumably (no SIGBUS), threads are bounded by the usable cores, GPU layers without a GPU
 * warn and keep CPU numerics, unknown options are refused by name, and a fatal error does not wait for the model's
 * hash. Needs `npx tsc` first (the child processes run dist/).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeBinding } from '../src/engine/native.js';
import { ggufFloat32, ggufString, ggufUint32 } from '../src/gguf/encode.js';
import { randomModelLayout, resolveModelShape } from '../src/gguf/random-model.js';
import type { GgufMetadataValue } from '../src/gguf/types.js';
import { writeGguf } from '../src/gguf/writer.js';
import { openScorer } from '../src/index.js';
import { runScoreJob } from '../src/pipeline/job.js';
import { splitCores } from '../src/pipeline/options.js';
import { cgroupCpuQuota, usableCores } from '../src/util/cores.js';
import { REPO_ROOT, TINY_MODEL_SHAPE, tinyModelPath } from './helpers/models.js';

const openModelScript = join(REPO_ROOT, 'test/helpers/open-model.mjs');
const runJobScript = join(REPO_ROOT, 'test/helpers/run-job.mjs');
const cli = join(REPO_ROOT, 'dist/src/cli/main.js');

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-hostile-engine-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** A tiny random model with some metadata replaced. */
function modelWith(name: string, entries: [string, GgufMetadataValue][]): string {
  const layout = randomModelLayout(TINY_MODEL_SHAPE);
  for (const [key, value] of entries) layout.metadata.set(key, value);
  const path = join(folder, `${name}.gguf`);
  writeGguf(path, layout.metadata, layout.tensors);
  return path;
}

/** Opens each model in one child process: one result line per model, until the child dies. */
function openInChild(models: string[]) {
  const child = spawnSync(process.execPath, [openModelScript, JSON.stringify(models)], { encoding: 'utf8' });
  const results = new Map<string, { ok: boolean; code?: string; message?: string }>();
  for (const line of child.stdout.split('\n').filter(Boolean)) {
    const result = JSON.parse(line);
    results.set(result.model, result);
  }
  return { status: child.status, signal: child.signal, results };
}

describe('models llama.cpp would abort on are refused before it loads them (items 9, 14)', () => {
  const cases: [string, [string, GgufMetadataValue][], RegExp][] = [
    ['experts on a dense model', [['llama.expert_count', ggufUint32(4)]], /llama\.expert_count is 4/],
    ['experts used without experts', [['llama.expert_used_count', ggufUint32(2)]], /llama\.expert_used_count is 2/],
    ['block count 0', [['llama.block_count', ggufUint32(0)]], /llama\.block_count is 0, outside 1\.\.512/],
    ['block count over the limit', [['llama.block_count', ggufUint32(513)]], /llama\.block_count is 513/],
    ['a NaN epsilon', [['llama.attention.layer_norm_rms_epsilon', ggufFloat32(NaN)]], /epsilon is NaN/],
    ['an unknown rope scaling', [['llama.rope.scaling.type', ggufString('bogus')]], /rope\.scaling\.type/],
    ['kv heads not dividing heads', [['llama.attention.head_count_kv', ggufUint32(3)]], /head_count_kv is 3/],
    ['training context 0', [['llama.context_length', ggufUint32(0)]], /context_length is 0/],
    ['training context 1', [['llama.context_length', ggufUint32(1)]], /context_length is 1/],
  ];

  it('each is MODEL_INVALID with the key named, and the process lives on to score a valid one', () => {
    const models = cases.map(([name, entries]) => modelWith(name.replace(/\W+/g, '-'), entries));
    const { status, signal, results } = openInChild([...models, tinyModelPath()]);
    expect(signal).toBeNull();
    expect(status).toBe(0);
    cases.forEach(([name, , message], i) => {
      expect({ name, result: results.get(models[i]) }).toMatchObject({
        name,
        result: { ok: false, code: 'MODEL_INVALID', message: expect.stringMatching(message) },
      });
    });
    expect(results.get(tinyModelPath())?.ok).toBe(true);
  });

  it('make-model refuses shapes llama.cpp cannot load (600 layers, context 1)', () => {
    expect(() => resolveModelShape({ ...TINY_MODEL_SHAPE, layers: 600 })).toThrow(/between 1 and 512 for layers/);
    expect(() => resolveModelShape({ ...TINY_MODEL_SHAPE, contextLength: 1 })).toThrow(/for contextLength/);
    const out = join(folder, 'six-hundred.gguf');
    const child = spawnSync(process.execPath, [cli, 'make-model', out, '--layers', '600'], { encoding: 'utf8' });
    expect(child.status).toBe(1);
    expect(child.stderr).toMatch(/between 1 and 512 for --layers/);
  });
});

describe('a model file cut short during a run (item 10)', () => {
  it('stops with MODEL_CHANGED and a valid checkpoint, then resumes to the uninterrupted result', () => {
    const model = join(folder, 'changing.gguf');
    copyFileSync(tinyModelPath(), model);
    const corpus = join(folder, 'changing.jsonl');
    const texts = Array.from({ length: 24 }, (_, i) => `Document ${i}: the model file may change under this run.`);
    writeFileSync(corpus, texts.map((text, i) => `${JSON.stringify({ id: `d${i}`, text })}\n`).join(''));
    const job = {
      inputs: [corpus],
      model,
      contextSize: 64,
      threads: 1,
      workers: 0,
      checkpointIntervalMs: 0,
      wordBuckets: 1024,
      // One window of 4 documents in flight at a time: the file is cut between windows, never under a decode.
      packing: { windowDocuments: 4, windowTokens: 1 << 20, callDocuments: 4, windowsInFlight: 1 },
    };
    const run = (options: Record<string, unknown>, truncateModelAfter?: number) => {
      const child = spawnSync(process.execPath, [runJobScript, JSON.stringify({ job: options, truncateModelAfter })], {
        encoding: 'utf8',
      });
      expect(child.signal).toBeNull();
      return JSON.parse(child.stdout);
    };
    const out = join(folder, 'changing-scores.jsonl');
    const stopped = run({ ...job, out }, 6);
    expect(stopped.error.code).toBe('MODEL_CHANGED');
    expect(stopped.error.message).toMatch(/changed while it was in use.*resume/s);
    copyFileSync(tinyModelPath(), model); // the file is whole again
    const resumed = run({ ...job, out, resume: true });
    expect(resumed.status).toBe('completed');
    expect(resumed.counts.scored).toBe(24);
    const reference = join(folder, 'reference-scores.jsonl');
    run({ ...job, out: reference });
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(reference, 'utf8'));
  });
});

describe('threads bounded by the usable cores (item 11)', () => {
  it('reads a cgroup quota (v2 and v1), the smallest along the path', () => {
    const files: Record<string, string> = {
      '/proc/self/cgroup': '0::/kubepods/pod1/c1\n',
      '/sys/fs/cgroup/kubepods/cpu.max': '400000 100000\n',
      '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': '150000 100000\n',
    };
    expect(cgroupCpuQuota((path) => files[path])).toBe(1);
    const v1: Record<string, string> = {
      '/proc/self/cgroup': '4:cpu,cpuacct:/docker/abc\n',
      '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '300000',
      '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000',
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1',
      '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
    };
    expect(cgroupCpuQuota((path) => v1[path])).toBe(3);
    expect(
      cgroupCpuQuota((path) => ({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000' })[path]),
    ).toBe(undefined);
  });

  it('by default, decode threads plus tokenizer workers never exceed the usable cores', () => {
    for (let cores = 1; cores <= 64; cores++) {
      const { threads, workers } = splitCores(cores, undefined, undefined);
      expect(threads! + workers).toBeLessThanOrEqual(cores);
      expect(threads).toBeGreaterThanOrEqual(1);
      const given = splitCores(cores, cores, undefined);
      expect(given.threads! + given.workers).toBeLessThanOrEqual(cores);
    }
  });

  it('refuses more threads than usable cores unless forced', async () => {
    const cores = usableCores();
    await expect(openScorer({ model: tinyModelPath(), threads: cores + 1 })).rejects.toThrow(
      new RegExp(`Expected integer between 1 and ${cores} for threads .*forceThreads`),
    );
    const forced = await openScorer({
      model: tinyModelPath(),
      threads: cores + 1,
      forceThreads: true,
      contextSize: 64,
    });
    expect(forced.options.threads).toBe(cores + 1);
    await forced.close();
    const child = spawnSync(
      process.execPath,
      [
        cli,
        'score',
        join(folder, 'none.jsonl'),
        '-m',
        tinyModelPath(),
        '-o',
        join(folder, 'x.jsonl'),
        '--threads',
        '1024',
      ],
      { encoding: 'utf8' },
    );
    expect(child.status).toBe(1);
    expect(child.stderr).toMatch(new RegExp(`between 1 and ${cores} for --threads.*--force-threads`));
  });
});

describe('scorer options (items 12, 13)', () => {
  it('refuses an unknown option by name, suggesting the one meant', async () => {
    const typo = { model: tinyModelPath(), contextsize: 64 } as unknown as Parameters<typeof openScorer>[0];
    await expect(openScorer(typo)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      option: 'contextsize',
      message: expect.stringMatching(/Unknown option contextsize for openScorer \(did you mean contextSize\?\)/),
    });
  });

  const noGpu = nativeBinding().gpuDevices().length === 0;
  it.skipIf(!noGpu)('gpuLayers max without a GPU: one warning, CPU numerics (no flash attention)', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => {
      if ((warning as Error & { code?: string }).code === 'INFOPRUNE_NO_GPU') warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const first = await openScorer({ model: tinyModelPath(), gpuLayers: 'max', contextSize: 64, threads: 1 });
      const second = await openScorer({ model: tinyModelPath(), gpuLayers: 'max', contextSize: 64, threads: 1 });
      const cpu = await openScorer({ model: tinyModelPath(), contextSize: 64, threads: 1 });
      expect(first.options.flashAttention).toBe(false);
      expect(first.options.gpuLayers).toBe(0);
      expect(first.options.batchSize).toBe(cpu.options.batchSize);
      const text = ['The same numbers as a CPU run.'];
      expect((await first.score(text))[0].nll).toBe((await cpu.score(text))[0].nll);
      const asked = await openScorer({ model: tinyModelPath(), gpuLayers: 'max', flashAttention: true, threads: 1 });
      expect(asked.options.flashAttention).toBe(true);
      await Promise.all([first.close(), second.close(), cpu.close(), asked.close()]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toHaveLength(1);
      expect(warnings[0].message).toMatch(/found no GPU/);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('fail fast (item 15)', () => {
  it('a fatal error stops hashing the model at once', async () => {
    // A model padded to 16 GiB (sparse) and a context it cannot take: the run fails on the header's bounds while
    // hashing the file has seconds to go.
    const model = join(folder, 'huge.gguf');
    copyFileSync(tinyModelPath(), model);
    truncateSync(model, 16 * 1024 ** 3);
    const corpus = join(folder, 'fast.jsonl');
    writeFileSync(corpus, '{"text":"a"}\n');
    await expect(
      runScoreJob({ inputs: [corpus], model, out: join(folder, 'fast-scores.jsonl'), workers: 0, contextSize: 4096 }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION', option: 'contextSize' });
    // The hash reads 4 MiB at a time, back to back: once stopped, no read is in flight after the last one.
    const reads: boolean[] = [];
    for (let i = 0; i < 15; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      reads.push(process.getActiveResourcesInfo().includes('FSReqCallback'));
    }
    expect(reads.slice(5)).toEqual(new Array(10).fill(false));
    rmSync(model);
  });
});
