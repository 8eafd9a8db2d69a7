/**
 * The C++ peer: llama.cpp's own `llama-perplexity` tool, built from the very release node-llama-cpp bundles (and
 * infoprune links), in .cache/ (no network: the source comes from node-llama-cpp's git bundle).
 *
 *   source: .cache/llama-perplexity-src   (git clone of node_modules/node-llama-cpp/llama/gitRelease.bundle)
 *   build:  .cache/llama-perplexity-build (CMake + Ninja/Make, Release, GGML_NATIVE=ON, static, target llama-perplexity only)
 *
 * What it computes (tools/perplexity/perplexity.cpp, `perplexity()`): it tokenizes the whole file (BOS first when
 * the model adds it), cuts chunks of n_ctx tokens, puts BOS in place of each chunk's first token, decodes
 * n_batch / n_ctx chunks per llama_decode with logits requested only for positions >= n_ctx/2, and scores the
 * tokens at positions n_ctx/2 + 1 .. n_ctx - 1: n_ctx - n_ctx/2 - 1 tokens scored per chunk of n_ctx evaluated.
 * It runs with its defaults otherwise, as a user would: one KV stream per chunk (kv_unified = false), micro-batch 512,
 * flash attention 'auto' (on for the CPU); the untimed warm-up run is verbose and records what it resolved.
 * Timed: from the moment its log line "calculating perplexity over N chunks" reaches us (it is printed just before
 * the loop) to the process's exit: the decodes and its log-softmax over the scored half, plus its teardown
 * (milliseconds); not the model load, warm-up decode or tokenization. Its own log timestamps of that line and of
 * "Final estimate" would be more exact, but llama.cpp's logger can lose its last lines at exit (it leaks its logger
 * thread on purpose: common/log.cpp, llama.cpp issue 22142), so they are only kept beside it when present.
 */
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { runChild, type Sample } from '../measure.js';

export interface PerplexityBuild {
  binary: string | null;
  /** Why there is no binary (build failed or skipped), in words. */
  reason?: string;
  tag: string;
  sourceDir: string;
  buildDir: string;
  cmakeFlags: string[];
  /** Seconds the build took in this run (0 when reused). */
  buildSeconds: number;
  log?: string;
}

export const PERPLEXITY_CMAKE_FLAGS = [
  '-DCMAKE_BUILD_TYPE=Release',
  '-DBUILD_SHARED_LIBS=OFF',
  '-DLLAMA_BUILD_TOOLS=ON',
  '-DLLAMA_BUILD_TESTS=OFF',
  '-DLLAMA_BUILD_EXAMPLES=OFF',
  '-DLLAMA_BUILD_SERVER=OFF',
  '-DLLAMA_BUILD_APP=OFF',
  '-DLLAMA_BUILD_UI=OFF',
  '-DLLAMA_USE_PREBUILT_UI=OFF',
  '-DLLAMA_OPENSSL=OFF',
  '-DLLAMA_CURL=OFF',
  '-DGGML_NATIVE=ON',
  '-DGGML_OPENMP=ON',
];

function llamaTag(root: string): string {
  const info = JSON.parse(
    readFileSync(join(root, 'node_modules', 'node-llama-cpp', 'llama', 'llama.cpp.info.json'), 'utf8'),
  ) as { tag: string };
  return info.tag;
}

function command(file: string, args: string[], cwd: string, logPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logPath, { flags: 'a' });
    log.write(`$ ${file} ${args.join(' ')}\n`);
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', (error) => {
      log.end();
      reject(error);
    });
    child.on('close', (code) => {
      log.end(() => resolve(code ?? 1));
    });
  });
}

function which(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, name)));
}

/**
 * The built tool, building it when allowed (minutes: 10 or more on 2 cores). Never throws: a failure is returned
 * as `reason`, and the benchmark says so in its table.
 */
export async function llamaPerplexity(
  root: string,
  options: { allowBuild: boolean; jobs: number; log: (line: string) => void },
): Promise<PerplexityBuild> {
  let tag = 'unknown';
  const sourceDir = join(root, '.cache', 'llama-perplexity-src');
  const buildDir = join(root, '.cache', 'llama-perplexity-build');
  const binary = join(buildDir, 'bin', 'llama-perplexity');
  const stampPath = join(buildDir, 'infoprune-bench-stamp.json');
  const base = { sourceDir, buildDir, cmakeFlags: PERPLEXITY_CMAKE_FLAGS, buildSeconds: 0 };
  try {
    tag = llamaTag(root);
  } catch (error) {
    return {
      ...base,
      tag,
      binary: null,
      reason: `node-llama-cpp's llama.cpp release is not installed (${(error as Error).message})`,
    };
  }
  const wanted = JSON.stringify({ tag, flags: PERPLEXITY_CMAKE_FLAGS });
  if (existsSync(binary) && existsSync(stampPath) && readFileSync(stampPath, 'utf8') === wanted)
    return { ...base, tag, binary };
  // A binary built before the stamp existed (same folders, e.g. by hand with the same flags) is reused too, when
  // its CMake cache names the same source folder.
  if (existsSync(binary) && !existsSync(stampPath) && existsSync(join(buildDir, 'CMakeCache.txt'))) {
    const cache = readFileSync(join(buildDir, 'CMakeCache.txt'), 'utf8');
    if (cache.includes(sourceDir) && /GGML_NATIVE:BOOL=ON/.test(cache)) {
      writeFileSync(stampPath, wanted);
      return { ...base, tag, binary };
    }
  }
  if (!options.allowBuild) {
    return {
      ...base,
      tag,
      binary: null,
      reason: `not built (${binary} missing; --quick never builds it: run the full benchmark once)`,
    };
  }
  if (!which('cmake') || !(which('g++') || which('c++') || which('clang++'))) {
    return {
      ...base,
      tag,
      binary: null,
      reason: 'could not be built: cmake or a C++ compiler is missing on this machine',
    };
  }
  const started = performance.now();
  mkdirSync(buildDir, { recursive: true });
  const logPath = join(buildDir, 'infoprune-bench-build.log');
  try {
    if (!existsSync(join(sourceDir, 'tools', 'perplexity', 'perplexity.cpp'))) {
      const bundle = join(root, 'node_modules', 'node-llama-cpp', 'llama', 'gitRelease.bundle');
      if (!existsSync(bundle))
        return { ...base, tag, binary: null, reason: `could not be built: ${bundle} is missing` };
      options.log(`llama-perplexity: extracting llama.cpp ${tag} from node-llama-cpp's bundle into ${sourceDir}`);
      if (
        (await command(
          'git',
          ['-c', 'advice.detachedHead=false', 'clone', '--quiet', bundle, sourceDir],
          root,
          logPath,
        )) !== 0
      ) {
        return {
          ...base,
          tag,
          binary: null,
          reason: `could not be built: git clone of the bundle failed (see ${logPath})`,
          log: logPath,
        };
      }
    }
    options.log(
      `llama-perplexity: building llama.cpp ${tag}'s llama-perplexity in ${buildDir} (once; several minutes on few cores) ...`,
    );
    const generator = which('ninja') ? ['-G', 'Ninja'] : [];
    if (
      (await command(
        'cmake',
        ['-S', sourceDir, '-B', buildDir, ...generator, ...PERPLEXITY_CMAKE_FLAGS],
        root,
        logPath,
      )) !== 0
    ) {
      return {
        ...base,
        tag,
        binary: null,
        reason: `could not be built: CMake configuration failed (see ${logPath})`,
        log: logPath,
      };
    }
    if (
      (await command(
        'cmake',
        ['--build', buildDir, '--target', 'llama-perplexity', '-j', String(options.jobs)],
        root,
        logPath,
      )) !== 0 ||
      !existsSync(binary)
    ) {
      return {
        ...base,
        tag,
        binary: null,
        reason: `could not be built: compilation failed (see ${logPath})`,
        log: logPath,
      };
    }
  } catch (error) {
    return { ...base, tag, binary: null, reason: `could not be built: ${(error as Error).message}`, log: logPath };
  }
  writeFileSync(stampPath, wanted);
  const buildSeconds = (performance.now() - started) / 1000;
  options.log(`llama-perplexity: built in ${buildSeconds.toFixed(0)} s`);
  return { ...base, tag, binary, buildSeconds, log: logPath };
}

/**
 * Profiling aid (--explore): the same llama-perplexity, relinked against node-llama-cpp's prebuilt llama.cpp
 * libraries (the ones infoprune's addon loads by default) instead of the static libraries of the native build. Both
 * binaries run the same tool code, so their difference is the llama.cpp build alone (compiler flags: GGML_NATIVE,
 * OpenMP). Linux x64 only; returns null with a reason when it cannot be linked.
 */
export async function linkPerplexityToPrebuilt(
  root: string,
  build: PerplexityBuild,
): Promise<{ binary: string | null; reason?: string }> {
  if (!build.binary) return { binary: null, reason: 'llama-perplexity is not built' };
  if (process.platform !== 'linux' || process.arch !== 'x64') return { binary: null, reason: 'only on linux-x64' };
  const prebuilt = join(root, 'node_modules', '@node-llama-cpp', 'linux-x64', 'bins', 'linux-x64');
  if (!existsSync(prebuilt)) return { binary: null, reason: `${prebuilt} is missing` };
  const dir = join(build.buildDir, 'prebuilt-link');
  const binary = join(dir, 'llama-perplexity');
  if (existsSync(binary)) return { binary };
  mkdirSync(dir, { recursive: true });
  const libraries = readdirSync(prebuilt).filter((name) => name.endsWith('.so'));
  for (const name of libraries) copyFileSync(join(prebuilt, name), join(dir, name));
  const find = (pattern: RegExp) => libraries.find((name) => pattern.test(name));
  const llama = find(/^libllama\.v?[\d.]*\.?so$|^libllama\..*\.so$/);
  const ggml = find(/^libggml\.v?[\d.]*\.?so$|^libggml\.v.*\.so$/);
  const base = find(/^libggml-base\.so$/);
  if (!llama || !ggml || !base) return { binary: null, reason: `unexpected library names in ${prebuilt}` };
  const b = build.buildDir;
  const logPath = join(dir, 'link.log');
  const code = await command(
    'c++',
    [
      '-O2',
      '-o',
      binary,
      join(b, 'tools', 'perplexity', 'CMakeFiles', 'llama-perplexity.dir', 'main.cpp.o'),
      join(b, 'tools', 'perplexity', 'libllama-perplexity-impl.a'),
      join(b, 'common', 'libllama-common.a'),
      join(b, 'common', 'libllama-common-base.a'),
      join(b, 'vendor', 'cpp-httplib', 'libcpp-httplib.a'),
      `-L${dir}`,
      `-l:${llama}`,
      `-l:${ggml}`,
      `-l:${base}`,
      '-Wl,-rpath,$ORIGIN',
      '-ldl',
      '-lm',
      '-lpthread',
    ],
    dir,
    logPath,
  ).catch(() => 1);
  return code === 0 && existsSync(binary) ? { binary } : { binary: null, reason: `linking failed (see ${logPath})` };
}

export interface PerplexityRunOptions {
  binary: string;
  model: string;
  textFile: string;
  contextSize: number;
  batchSize: number;
  /** Micro-batch (-ub); omitted: the tool's default. */
  microBatchSize?: number;
  threads: number;
  chunks: number;
  /** Extra arguments (e.g. ['-fa', 'off']). */
  extraArgs?: string[];
  /** Verbose log (the untimed warm-up: records what llama.cpp resolved). */
  verbose?: boolean;
  rssFile: string;
}

export interface PerplexityOutput {
  /** null when its last log lines were lost (see below). */
  ppl: number | null;
  /** Seconds from "calculating perplexity" to "Final estimate" by its own log timestamps; null when lost. */
  loopSeconds: number | null;
  chunks: number;
  nCtx: number;
  nSeq: number;
  /** From a verbose run: what llama.cpp resolved. */
  resolved: { flashAttention: boolean | null; kvUnified: string | null; microBatch: number | null };
}

/** A log line's timestamp (common/log.cpp prints minutes.seconds.milliseconds.microseconds). */
function timestampOf(output: string, pattern: RegExp): number | null {
  for (const line of output.split('\n')) {
    if (!pattern.test(line)) continue;
    const match = /^(\d+)\.(\d{2})\.(\d{3})\.(\d{3}) /.exec(line);
    if (match) return Number(match[1]) * 60 + Number(match[2]) + Number(match[3]) / 1e3 + Number(match[4]) / 1e6;
  }
  return null;
}

export const PERPLEXITY_START_LINE = /calculating perplexity over \d+ chunks/;

export function parsePerplexityOutput(output: string): PerplexityOutput {
  const header = /calculating perplexity over (\d+) chunks, n_ctx=(\d+), batch_size=(\d+), n_seq=(\d+)/.exec(output);
  if (!header) throw new Error(`llama-perplexity printed no "calculating perplexity" line:\n${output.slice(-3000)}`);
  const start = timestampOf(output, PERPLEXITY_START_LINE);
  const end = timestampOf(output, /Final estimate: PPL/);
  const ppl = /Final estimate: PPL = ([\d.]+)/.exec(output);
  const kvUnified = /kv_unified\s*=\s*(\w+)/.exec(output);
  const microBatch = /n_ubatch\s*=\s*(\d+)/.exec(output);
  const flashAttention = /Flash Attention enabled/.test(output)
    ? true
    : /Flash Attention (was )?(auto, set to )?disabled|flash_attn\s*=\s*disabled/i.test(output)
      ? false
      : null;
  return {
    ppl: ppl ? Number(ppl[1]) : null,
    loopSeconds: start !== null && end !== null ? end - start : null,
    chunks: Number(header[1]),
    nCtx: Number(header[2]),
    nSeq: Number(header[4]),
    resolved: {
      flashAttention,
      kvUnified: kvUnified ? kvUnified[1] : null,
      microBatch: microBatch ? Number(microBatch[1]) : null,
    },
  };
}

/** Tokens llama-perplexity scores per chunk of n_ctx (perplexity.cpp: first = n_ctx/2; count += n_ctx - first - 1). */
export function perplexityScoredPerChunk(contextSize: number): number {
  return contextSize - Math.floor(contextSize / 2) - 1;
}

export function perplexityArgs(options: PerplexityRunOptions): string[] {
  const args = [
    '-m',
    options.model,
    '-f',
    options.textFile,
    '-c',
    String(options.contextSize),
    '-b',
    String(options.batchSize),
    '-t',
    String(options.threads),
    '-tb',
    String(options.threads),
    '--chunks',
    String(options.chunks),
    '--log-timestamps',
  ];
  if (options.microBatchSize !== undefined) args.push('-ub', String(options.microBatchSize));
  return [...args, ...(options.extraArgs ?? []), ...(options.verbose ? ['-v'] : [])];
}

export async function runPerplexity(options: PerplexityRunOptions): Promise<Sample & { output: PerplexityOutput }> {
  const run = await runChild(options.binary, perplexityArgs(options), {
    rssFile: options.rssFile,
    watch: PERPLEXITY_START_LINE,
  });
  const text = run.stdout + run.stderr;
  if (run.code !== 0) throw new Error(`llama-perplexity exited with ${run.code ?? run.signal}:\n${text.slice(-3000)}`);
  const output = parsePerplexityOutput(text);
  if (output.chunks !== options.chunks)
    throw new Error(`llama-perplexity scored ${output.chunks} chunks, expected ${options.chunks}`);
  if (run.watchedToExitSeconds === null) throw new Error('llama-perplexity: its start line was not seen while it ran');
  return {
    seconds: run.watchedToExitSeconds,
    tokensScored: output.chunks * perplexityScoredPerChunk(output.nCtx),
    tokensEvaluated: output.chunks * output.nCtx,
    peakRssBytes: run.peakRssBytes,
    extra: { wallSeconds: run.wallSeconds, ppl: output.ppl, ownLoopSeconds: output.loopSeconds, nSeq: output.nSeq },
    output,
  };
}
