import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runChild, type Sample } from '../measure.js';
import { buildLlamaTool, command, LLAMA_TOOL_BASE_FLAGS, type ToolBuild } from './llama-build.js';

export type PerplexityBuild = ToolBuild;

export const PERPLEXITY_CMAKE_FLAGS = [
  ...LLAMA_TOOL_BASE_FLAGS,
  '-DLLAMA_BUILD_TOOLS=ON',
  '-DLLAMA_BUILD_EXAMPLES=OFF',
];

/** The built tool (see bench/peers/llama-build.ts), building it when allowed. Never throws. */
export function llamaPerplexity(
  root: string,
  options: { allowBuild: boolean; jobs: number; log: (line: string) => void },
): Promise<PerplexityBuild> {
  const tool = {
    target: 'llama-perplexity',
    sourceFile: 'tools/perplexity/perplexity.cpp',
    cmakeFlags: PERPLEXITY_CMAKE_FLAGS,
  };
  return buildLlamaTool(root, tool, options);
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
