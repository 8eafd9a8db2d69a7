/**
 * `npm run bench`: infoprune's scoring throughput against this machine's forward-pass ceiling and against the
 * peers, side by side in one run. Method (also in docs/benchmarks.md):
 *
 * Models. --model <file.gguf>, or random-weight llama models of realistic shape generated once into
 * .cache/bench-models/ (random weights cost exactly what trained ones of the same shape and tensor type do):
 * tinystories-15m (vocabulary 32000, width 288, 6 layers) and smollm2-135m (vocabulary 49152, width 576, 30 layers,
 * 9 heads, 3 KV heads) by default, qwen2.5-0.5b-like (vocabulary 151936) with --preset. --quick uses the 2-layer
 * `tiny` preset.
 *
 * Workloads (bench/workloads.ts). English text (the Brown corpus) cut into documents and tokenized once with the
 * model's tokenizer, so every row sees identical tokens: (a) short: documents of 50-300 tokens; (b) long: documents
 * of 2-4 contexts (1,024-2,048 tokens at context 512), windowed by the engine's context and stride; (c) chunks: one
 * text cut into fixed chunks of the context size, exactly as llama-perplexity cuts it. Sizes come from an untimed
 * calibration decode so that one repetition takes about --seconds, and never less than one full engine batch.
 *
 * Rows. Each runs in its own long-lived process (bench/hosts/), so its peak RSS is its own and node-llama-cpp's
 * llama.cpp never shares a process with infoprune's:
 *   ceiling           NativeContext.decodeOnly: the engine's own windows and llama_decode calls, logits for every
 *                     position, nothing done with them. The forward-pass limit of this machine for this model.
 *   engine            openScorer().scoreTokens() on the same tokens: windows, decode, log-softmax, gather, sums.
 *   end-to-end        `infoprune score docs.jsonl --model m --out scores.jsonl` in its own process: reading, Piscina
 *                     tokenization, packing, scoring, writing. Throughput from the manifest's activeSeconds (the
 *                     steady state after the model load); the wall-clock figure, start-up included, beside it.
 *   node-llama-cpp    node-llama-cpp's controlledEvaluate with generateNext.probabilities on every position, one
 *                     document at a time (what a Node user writes without infoprune), on the first short documents.
 *   llama-perplexity  llama.cpp's tool, built from the same bundled release, on the chunks' text with the same context,
 *                     batch and threads. It scores only the second half of each chunk (n_ctx - n_ctx/2 - 1 tokens), so
 *                     the comparison is tokens *scored* per second; tokens evaluated are shown beside it.
 * Service (bench/service.ts). One shared scorer behind node:http, 1, 8 and 32 concurrent callers, with and without
 * coalescing: requests/s, p50/p99 latency, the server's event-loop delay; and how long a 1 MB tokenize blocks it.
 * Interleaving. After an untimed warm-up, `--reps` rounds (default 5); in each round every row runs once, in an order
 * rotated by one per round, one at a time. Figures are medians over rounds; a ratio is the median over rounds of the
 * per-round ratio (the two rows ran minutes apart at most, on a shared machine whose speed drifts).
 * × ceiling: evaluated tokens/s over the ceiling's on the same workload (the same decodes, so a time ratio).
 * × engine, × llama-perplexity, × node-llama-cpp: scored tokens/s over that row's.
 * Peak RSS: the VmHWM of the row's process during its repetitions (reset before each), GNU time for child commands.
 * Output: a table on stdout, JSON in bench/results/<date>-<host>.json and bench/results/latest.json (with the
 * machine's description), the table as Markdown in bench/results/latest.md. Nothing here asserts a speed: --quick is a
 * smoke run for CI (tiny model, one round, no llama-perplexity build) that finishes within a minute.
 *
 *   npm run bench [-- --quick] [--model m.gguf | --preset tinystories-15m,smollm2-135m] [--reps 5] [--threads N]
 *                 [--no-peers] [--no-service] [--out results.json] [--context 512] [--batch N] [--seconds S] [--explore]
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { nativeBuildInfo } from '../src/engine/native.js';
import { openTokenizer } from '../src/engine/tokenizer.js';
import {
  MODEL_PRESET_NAMES,
  MODEL_TENSOR_TYPES,
  type ModelPresetName,
  type ModelTensorType,
} from '../src/gguf/random-model.js';
import { PROBE_SHAPE_NAMES, type ProbeShapeName } from '../src/train/options.js';
import { type EndToEndOptions, runEndToEnd } from './e2e.js';
import { Host } from './hosts/protocol.js';
import { interleave, type MachineInfo, machineInfo, median, type Sample } from './measure.js';
import { type BenchModel, givenModel, presetModel } from './models.js';
import {
  linkPerplexityToPrebuilt,
  llamaPerplexity,
  type PerplexityBuild,
  type PerplexityRunOptions,
  perplexityArgs,
  perplexityScoredPerChunk,
  runPerplexity,
} from './peers/llama-perplexity.js';
import {
  type BenchReport,
  figures,
  type ModelReport,
  markdownReport,
  modelHeading,
  pairedScoredRatio,
  type RowKind,
  type RowResult,
  TABLE_HEADER,
  tableRows,
  targetLines,
  targets,
  textTable,
  writeJsonAtomic,
  writeTextAtomic,
} from './report.js';
import { benchService, type ServiceReport, serviceMarkdown } from './service.js';
import { runTrainBench, trainMarkdown } from './train.js';
import {
  buildWorkloads,
  lengthSummary,
  textSource,
  type WorkloadName,
  type WorkloadSizes,
  writeJsonl,
} from './workloads.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = join(ROOT, 'dist');
const HOST_SCRIPT = join(DIST, 'bench', 'hosts', 'infoprune-host.js');
const NODE_HOST_SCRIPT = join(DIST, 'bench', 'peers', 'node-llama-cpp-host.js');
const CLI = join(DIST, 'src', 'cli', 'main.js');
const SERVICE_HOST_SCRIPT = join(DIST, 'bench', 'hosts', 'service-host.js');
const E2E_COPIES = 4;

const USAGE = `Usage: npm run bench -- [options]
  --quick               smoke run (tiny model, 1 round, small workloads, no llama-perplexity build): < 1 minute
  --model <file.gguf>   benchmark this model instead of the generated presets
  --preset <a,b>        presets: ${MODEL_PRESET_NAMES.join(', ')} (default tinystories-15m,smollm2-135m; 'all')
  --type <t[,t]>        tensor types of generated models: f32, f16, q8_0, q4_k (default f32)
  --reps <n>            interleaved rounds, the median is reported (default 5; --quick 1)
  --threads <n>         threads for every row (default: this machine's cores)
  --context <n>         context (and chunk) size (default 512; --quick 256)
  --batch <n>           engine batch (default: the engine's default)
  --seconds <s>         target seconds per repetition, sizes the workloads (default 8; --quick 0.2)
  --no-peers            leave out node-llama-cpp and llama-perplexity
  --no-build            never build llama-perplexity or llama-finetune (use them only if already built)
  --no-train            leave out the probe-training section (bench/train.ts)
  --train-only          only the probe-training section
  --train-shapes <list> probe shapes timed against llama-finetune (default tiny,small,base; '' for none)
  --train-budgets <list> token budgets of the quality rows (default 500000 and the default budget; '' for none)
  --explore             extra rows: engine and ceiling with flash attention, engine at other batch sizes
  --no-service          leave out the service section (bench/service.ts: requests/s and latency behind node:http)
  --only-service        run only the service section (on the first model)
  --out <file.json>     also write the JSON here
  --render <file.json>  print a results file as the Markdown table (measures nothing)
  -h, --help`;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    model: { type: 'string' },
    preset: { type: 'string' },
    type: { type: 'string' },
    reps: { type: 'string' },
    threads: { type: 'string' },
    context: { type: 'string' },
    batch: { type: 'string' },
    seconds: { type: 'string' },
    'no-peers': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'no-train': { type: 'boolean', default: false },
    'train-only': { type: 'boolean', default: false },
    'train-shapes': { type: 'string' },
    'train-budgets': { type: 'string' },
    explore: { type: 'boolean', default: false },
    'no-service': { type: 'boolean', default: false },
    'only-service': { type: 'boolean', default: false },
    out: { type: 'string' },
    render: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
if (args.render !== undefined) {
  // re-render a results file as Markdown (what bench/results/latest.md holds), without measuring anything
  const rendered = JSON.parse(readFileSync(resolve(args.render), 'utf8')) as BenchReport & { service?: ServiceReport };
  process.stdout.write(markdownReport(rendered) + (rendered.service ? `\n${serviceMarkdown(rendered.service)}` : ''));
  process.exit(0);
}

function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} expects a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

const quick = args.quick;
const reps = positiveInteger('reps', args.reps, quick ? 1 : 5);
const threads = positiveInteger('threads', args.threads, availableParallelism());
const contextOption = args.context === undefined ? undefined : positiveInteger('context', args.context, 512);
const batchOption = args.batch === undefined ? undefined : positiveInteger('batch', args.batch, 2048);
const targetSeconds = args.seconds === undefined ? (quick ? 0.2 : 8) : Number(args.seconds);
if (!(targetSeconds > 0)) throw new Error('--seconds expects a positive number');
const tensorTypes = (args.type ?? 'f32').split(',').map((type) => type.trim()) as ModelTensorType[];
for (const type of tensorTypes) {
  if (!MODEL_TENSOR_TYPES.includes(type))
    throw new Error(`--type expects ${MODEL_TENSOR_TYPES.join(', ')}; got ${type}`);
}
const peers = !args['no-peers'] && !args['train-only'] && !args['only-service'];

/** A comma-separated flag as a list (undefined when absent, empty for ''). */
function listArgument(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').filter((item) => item.trim() !== '');
}

function probeShapeArgument(name: string): ProbeShapeName {
  if (!(PROBE_SHAPE_NAMES as string[]).includes(name)) {
    throw new Error(`--train-shapes expects names among ${PROBE_SHAPE_NAMES.join(', ')}; got ${name}`);
  }
  return name as ProbeShapeName;
}

function budgetArgument(value: string): number {
  const tokens = Number(value);
  if (!Number.isSafeInteger(tokens) || tokens < 1)
    throw new Error(`--train-budgets expects token counts; got ${value}`);
  return tokens;
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

function presetList(): ModelPresetName[] {
  if (args.preset === undefined) return quick ? ['tiny'] : ['tinystories-15m', 'smollm2-135m'];
  const names =
    args.preset === 'all'
      ? ['tinystories-15m', 'smollm2-135m', 'qwen2.5-0.5b-like']
      : args.preset.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(MODEL_PRESET_NAMES as string[]).includes(name))
      throw new Error(`Unknown preset ${name}: expected one of ${MODEL_PRESET_NAMES.join(', ')}`);
  }
  return names as ModelPresetName[];
}

interface Task {
  id: string;
  run: (round: number) => Promise<Sample>;
}

interface RowSpec {
  id: string;
  kind: RowKind;
  workload: WorkloadName;
  label: string;
  timed: string;
  run: (round: number) => Promise<Sample>;
}

/** Engine and ceiling options of one configuration. */
interface EngineConfig {
  suffix: string;
  label: string;
  options: { contextSize?: number; batchSize?: number; threads: number; flashAttention?: boolean };
  workloads: WorkloadName[];
  withCeiling: boolean;
  /** Environment of the hosts beyond this process's (e.g. INFOPRUNE_CPU_BACKEND). */
  env?: Record<string, string>;
}

async function openEnginePair(model: BenchModel, config: EngineConfig) {
  const env = { ...process.env, ...config.env };
  const engine = new Host(`engine${config.suffix}`, HOST_SCRIPT, [], env);
  const opened = await engine.request<{
    options: Record<string, number | boolean | string>;
    model: Record<string, unknown>;
    cpuBackend: { kind: string; file: string | null } | null;
  }>('open', {
    mode: 'engine',
    model: model.path,
    options: config.options,
  });
  let ceiling: Host | undefined;
  let systemInfo: string | undefined;
  if (config.withCeiling) {
    ceiling = new Host(`ceiling${config.suffix}`, HOST_SCRIPT, [], env);
    const { contextSize, stride, batchSize, maxSequences, threads: t, flashAttention } = opened.options;
    const reply = await ceiling.request<{ systemInfo: string }>('open', {
      mode: 'ceiling',
      model: model.path,
      options: { contextSize, stride, batchSize, maxSequences, threads: t, flashAttention },
    });
    systemInfo = reply.systemInfo;
  }
  return { engine, ceiling, options: opened.options, info: opened.model, systemInfo, cpuBackend: opened.cpuBackend };
}

function hostSample(reply: Record<string, unknown>): Sample {
  return {
    seconds: Number(reply.seconds),
    tokensScored: Number(reply.tokensScored),
    tokensEvaluated: Number(reply.tokensEvaluated),
    peakRssBytes: reply.peakRssBytes === undefined ? null : Number(reply.peakRssBytes),
    extra: { nll: reply.nll, peakRssPerRun: reply.peakRssPerRun },
  };
}

async function benchModel(model: BenchModel, perplexityBuild: Promise<PerplexityBuild> | null): Promise<ModelReport> {
  const notes: string[] = [];
  const checks: Record<string, unknown> = {};
  const workDir = join(ROOT, '.cache', 'bench-work', model.name.replace(/[^\w.-]+/g, '_'));
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const hosts: Host[] = [];
  // Nothing is measured (not even the calibration) while llama-perplexity compiles.
  const perplexity = perplexityBuild ? await perplexityBuild : null;
  try {
    const contextSize = contextOption ?? (quick ? 256 : 512);
    const base = await openEnginePair(model, {
      suffix: '',
      label: 'engine',
      options: { contextSize, batchSize: batchOption, threads },
      workloads: ['short', 'long', 'chunks'],
      withCeiling: true,
    });
    hosts.push(base.engine, base.ceiling!);
    const options = base.options as {
      contextSize: number;
      stride: number;
      batchSize: number;
      maxSequences: number;
      threads: number;
      flashAttention: boolean;
    };
    const info = base.info as {
      description: string;
      vocabularySize: number;
      parameterCount: number;
      addsBos: boolean;
      bosToken: number;
      architecture: string;
      trainingContextSize: number;
    };
    log(
      `${model.name}: ${info.description}, vocabulary ${info.vocabularySize}; context ${options.contextSize}, stride ${options.stride}, batch ${options.batchSize}, ${options.maxSequences} sequences, ${options.threads} threads`,
    );

    // ---- workloads, sized by a calibration decode (untimed in the results) ----
    const tokenizer = openTokenizer(model.path);
    const source = textSource();
    const settings = {
      contextSize: options.contextSize,
      stride: options.stride,
      addsBos: info.addsBos,
      // every short document fits one window (and node-llama-cpp's context, so it computes the same thing)
      shortMin: Math.min(50, options.contextSize - 2),
      shortMax: Math.min(300, options.contextSize - (info.addsBos ? 1 : 0)),
      longMin: 2 * options.contextSize,
      longMax: 4 * options.contextSize,
    };
    const tokenize = (text: string) => tokenizer.tokenizeSync(text);
    const calibration = buildWorkloads(source, tokenize, settings, {
      shortTokens: options.batchSize,
      longTokens: 1,
      chunks: 1,
    }).short;
    await base.ceiling!.request('workload', {
      name: 'calibration',
      documents: calibration.documents,
      bytes: calibration.bytes,
    });
    await base.ceiling!.request('warmup', { workload: 'calibration', documents: 4 });
    const calibrated = hostSample(await base.ceiling!.request('run', { workload: 'calibration' }));
    const rate = calibrated.tokensEvaluated / calibrated.seconds;
    const perRep = rate * targetSeconds;
    const sequencesPerDecode = Math.max(1, Math.floor(options.batchSize / options.contextSize));
    // at least one full decode per repetition (the ratios compare identical decodes, so one is representative)
    const minimum = quick ? Math.ceil(options.batchSize / 2) : options.batchSize;
    const chunks = Math.max(
      2,
      Math.ceil(Math.max(perRep, minimum) / options.contextSize / sequencesPerDecode) * sequencesPerDecode,
    );
    const sizes: WorkloadSizes = {
      shortTokens: Math.round(Math.max(perRep, minimum)),
      // windows overlap by context - stride: about context/stride evaluations per token
      longTokens: Math.round(
        Math.max((perRep * options.stride) / options.contextSize, quick ? settings.longMin : minimum),
      ),
      chunks,
    };
    log(
      `calibration: ceiling ${Math.round(rate)} evaluated tokens/s → ${sizes.shortTokens} short-document tokens, ${sizes.longTokens} long-document tokens, ${sizes.chunks} chunks per repetition`,
    );
    const workloads = buildWorkloads(source, tokenize, settings, sizes);
    tokenizer.close();
    const workloadInfo: Record<string, unknown> = {
      textSource: source.name,
      sizes,
      calibrationEvaluatedPerSecond: rate,
    };
    for (const workload of Object.values(workloads))
      workloadInfo[workload.name] = { description: workload.description, ...lengthSummary(workload) };

    const rows: RowSpec[] = [];
    const addEngineRows = async (pair: Awaited<ReturnType<typeof openEnginePair>>, config: EngineConfig) => {
      for (const name of config.workloads) {
        const workload = workloads[name];
        for (const host of [pair.engine, pair.ceiling]) {
          if (!host) continue;
          await host.request('workload', { name, documents: workload.documents, bytes: workload.bytes });
          await host.request('warmup', { workload: name, documents: 4 });
        }
        if (pair.ceiling) {
          const ceilingHost = pair.ceiling;
          rows.push({
            id: `ceiling${config.suffix}:${name}`,
            kind: 'ceiling',
            workload: name,
            label: `ceiling${config.suffix ? ` (${config.label})` : ''}, ${name}`,
            timed:
              "NativeContext.decodeOnly over the workload: the engine's windows and decodes, logits for every position, no log-softmax",
            run: async () => hostSample(await ceilingHost.request('run', { workload: name })),
          });
        }
        const engineHost = pair.engine;
        rows.push({
          id: `engine${config.suffix}:${name}`,
          kind: 'engine',
          workload: name,
          label: `engine${config.suffix ? ` (${config.label})` : ''}, ${name}`,
          timed: 'scorer.scoreTokens(documents) on pre-tokenized documents',
          run: async () => hostSample(await engineHost.request('run', { workload: name })),
        });
      }
    };
    const baseConfig: EngineConfig = {
      suffix: '',
      label: 'engine',
      options: { contextSize, batchSize: batchOption, threads },
      workloads: ['short', 'long', 'chunks'],
      withCeiling: true,
    };
    await addEngineRows(base, baseConfig);
    const engineEvaluated = (name: WorkloadName) => {
      // the same replica of the window plan as the host uses
      let total = 0;
      for (const document of workloads[name].documents) {
        const length = document.length + (info.addsBos ? 1 : 0);
        if (length < 2) continue;
        for (let start = 0; ; start += options.stride) {
          const end = Math.min(start + options.contextSize, length);
          total += end - start;
          if (end === length) break;
        }
      }
      return total;
    };

    // ---- end-to-end ----
    const jsonl = join(workDir, 'short.jsonl');
    writeJsonl(jsonl, workloads.short);
    const e2eOptions: EndToEndOptions = {
      cli: CLI,
      input: jsonl,
      model: model.path,
      workDir,
      contextSize: options.contextSize,
      batchSize: options.batchSize,
      threads,
      tokensEvaluated: engineEvaluated('short'),
    };
    if (existsSync(CLI)) {
      rows.push({
        id: 'e2e:short',
        kind: 'e2e',
        workload: 'short',
        label: 'end-to-end (infoprune score), short',
        timed:
          'infoprune score on a JSONL file of the short documents, in its own process: manifest activeSeconds (after the model load); wall time beside it',
        run: (round) => runEndToEnd(e2eOptions, round),
      });
      // The same documents four times: a run has a fixed cost (worker start-up, the first and last checkpoints, the
      // word table written out) that a benchmark-sized input does not amortise; two sizes separate it from the
      // per-token cost (the steady state of a long corpus).
      const jsonl4 = join(workDir, 'short-x4.jsonl');
      writeJsonl(jsonl4, workloads.short, E2E_COPIES);
      const e2eOptions4 = { ...e2eOptions, input: jsonl4, tokensEvaluated: E2E_COPIES * e2eOptions.tokensEvaluated };
      rows.push({
        id: 'e2e-x4:short',
        kind: 'e2e',
        workload: 'short',
        label: `end-to-end, short ×${E2E_COPIES} (fixed cost)`,
        timed: `as end-to-end, on the short documents ${E2E_COPIES} times`,
        run: (round) => runEndToEnd({ ...e2eOptions4 }, round + 1000),
      });
    } else {
      notes.push(`end-to-end not measured: ${CLI} is missing (run npx tsc -p tsconfig.json)`);
    }

    // ---- peers ----
    let nodeDocuments: number[][] = [];
    let perplexityOptions: PerplexityRunOptions | null = null;
    if (peers) {
      try {
        const node = new Host('node-llama-cpp', NODE_HOST_SCRIPT);
        hosts.push(node);
        await node.request('open', { model: model.path, contextSize: options.contextSize, threads });
        const evaluated = workloads.short.documents.map((document) =>
          info.addsBos ? [info.bosToken, ...document] : Array.from(document),
        );
        await node.request('workload', { name: 'calibration', documents: evaluated.slice(0, 2) });
        await node.request('warmup', { workload: 'calibration', documents: 1 });
        const nodeCalibration = hostSample(await node.request('run', { workload: 'calibration' }));
        const nodeRate = nodeCalibration.tokensEvaluated / nodeCalibration.seconds;
        const averageLength = nodeCalibration.tokensEvaluated / 2;
        const count = Math.max(2, Math.min(evaluated.length, Math.round((nodeRate * targetSeconds) / averageLength)));
        nodeDocuments = evaluated.slice(0, count);
        await node.request('workload', { name: 'short', documents: nodeDocuments });
        rows.push({
          id: 'node-llama-cpp:short',
          kind: 'node-llama-cpp',
          workload: 'short',
          label: `node-llama-cpp (controlledEvaluate), first ${count} short`,
          timed:
            'for each document: clearHistory, controlledEvaluate with generateNext.probabilities on every position, read each target probability',
          run: async () => hostSample(await node.request('run', { workload: 'short' })),
        });
        if (args.explore) {
          // profile: the same controlledEvaluate calls, sampling one token per position instead of returning the
          // probability map (the decode and the per-position logits stay)
          rows.push({
            id: 'node-llama-cpp-token:short',
            kind: 'node-llama-cpp',
            workload: 'short',
            label: `node-llama-cpp (same calls, generateNext.token instead of probabilities), first ${count} short`,
            timed: 'as the node-llama-cpp row, with generateNext: { token: true } instead of probabilities',
            run: async () => hostSample(await node.request('run', { workload: 'short', probabilities: false })),
          });
        }
      } catch (error) {
        notes.push(`node-llama-cpp not measured: ${(error as Error).message.split('\n')[0]}`);
      }
      if (perplexity?.binary) {
        const textFile = join(workDir, 'chunks.txt');
        writeFileSync(textFile, workloads.chunks.chunkText!);
        const pplBatch =
          options.batchSize >= options.contextSize
            ? Math.floor(options.batchSize / options.contextSize) * options.contextSize
            : options.batchSize;
        const runOptions: PerplexityRunOptions = {
          binary: perplexity.binary,
          model: model.path,
          textFile,
          contextSize: options.contextSize,
          batchSize: pplBatch,
          threads,
          chunks: workloads.chunks.chunkCount!,
          rssFile: join(workDir, 'perplexity-rss.txt'),
        };
        perplexityOptions = runOptions;
        // untimed warm-up (page cache, CPU frequency); also checks that it runs at all
        try {
          const warm = await runPerplexity({ ...runOptions, chunks: Math.min(2, runOptions.chunks), verbose: true });
          const { flashAttention, kvUnified, microBatch } = warm.output.resolved;
          checks.llamaPerplexityResolved = warm.output.resolved;
          notes.push(
            `llama-perplexity resolved (its defaults): flash attention ${flashAttention === null ? 'unknown' : flashAttention ? 'on' : 'off'}, kv_unified ${kvUnified ?? 'unknown'} (one KV stream of ${options.contextSize} cells per chunk), micro-batch ${microBatch ?? 'unknown'}; ${warm.output.nSeq} chunk(s) per llama_decode`,
          );
          rows.push({
            id: 'llama-perplexity:chunks',
            kind: 'llama-perplexity',
            workload: 'chunks',
            label: 'llama-perplexity, chunks',
            timed:
              'its own log timestamps from "calculating perplexity" to "Final estimate": decodes and its log-softmax over the scored half',
            run: () => runPerplexity(runOptions),
          });
          if (args.explore) {
            rows.push({
              id: 'llama-perplexity-fa-off:chunks',
              kind: 'llama-perplexity',
              workload: 'chunks',
              label: 'llama-perplexity -fa off, chunks',
              timed: 'as the llama-perplexity row, with flash attention off',
              run: () => runPerplexity({ ...runOptions, extraArgs: ['-fa', 'off'] }),
            });
            const relinked = await linkPerplexityToPrebuilt(ROOT, perplexity);
            if (relinked.binary) {
              const binary = relinked.binary;
              rows.push({
                id: 'llama-perplexity-prebuilt:chunks',
                kind: 'llama-perplexity',
                workload: 'chunks',
                label: "llama-perplexity on node-llama-cpp's prebuilt libraries, chunks",
                timed:
                  'as the llama-perplexity row, the same tool code linked to the prebuilt llama.cpp libraries infoprune loads',
                run: () => runPerplexity({ ...runOptions, binary }),
              });
            } else {
              notes.push(`llama-perplexity could not be relinked to the prebuilt libraries: ${relinked.reason}`);
            }
          }
        } catch (error) {
          notes.push(`llama-perplexity built but failed to run: ${(error as Error).message.split('\n')[0]}`);
        }
      } else if (perplexity) {
        notes.push(`llama-perplexity ${perplexity.reason}`);
      }
    } else {
      notes.push('peers left out (--no-peers)');
    }

    // ---- the CPU backend: node-llama-cpp's prebuilt variant against the one compiled for this machine ----
    if (base.cpuBackend?.kind === 'native') {
      const config: EngineConfig = {
        suffix: '-prebuilt-cpu',
        label: "node-llama-cpp's prebuilt CPU backend",
        options: { contextSize, batchSize: batchOption, threads },
        workloads: ['short', 'chunks'],
        withCeiling: false,
        env: { INFOPRUNE_CPU_BACKEND: 'prebuilt' },
      };
      const pair = await openEnginePair(model, config);
      hosts.push(pair.engine);
      await addEngineRows(pair, config);
    } else {
      notes.push(`CPU backend: ${base.cpuBackend?.kind ?? 'unknown'} (no prebuilt-variant row)`);
    }

    // ---- exploration: flash attention, batch sizes ----
    if (args.explore) {
      // Flash attention (the engine's opt-in) on short documents and chunks, and other batch sizes on short documents;
      // compared with the engine at its defaults (× engine).
      const configs: EngineConfig[] = [
        {
          suffix: '-fa',
          label: 'flash attention',
          options: { contextSize, batchSize: batchOption, threads, flashAttention: true },
          workloads: ['short', 'chunks'],
          withCeiling: false,
        },
      ];
      const batches = [...new Set([options.contextSize, 2 * options.contextSize, 4 * options.contextSize, 2048, 4096])]
        .filter((batch) => batch !== options.batchSize && batch >= options.contextSize)
        .sort((a, b) => a - b);
      for (const batch of batches) {
        configs.push({
          suffix: `-b${batch}`,
          label: `batch ${batch}`,
          options: { contextSize, batchSize: batch, threads },
          workloads: ['short'],
          withCeiling: false,
        });
      }
      for (const config of configs) {
        const pair = await openEnginePair(model, config);
        hosts.push(pair.engine);
        if (pair.ceiling) hosts.push(pair.ceiling);
        await addEngineRows(pair, config);
      }
    }

    // ---- the interleaved rounds ----
    const results: RowResult[] = rows.map((row) => ({
      id: row.id,
      kind: row.kind,
      workload: row.workload,
      label: row.label,
      timed: row.timed,
      samples: [],
    }));
    const tasks: Task[] = rows.map((row) => ({ id: row.id, run: row.run }));
    log(`${rows.length} rows × ${reps} interleaved rounds`);
    await interleave(tasks, reps, async (task, round) => {
      const result = results.find((r) => r.id === task.id)!;
      try {
        const sample = await task.run(round);
        result.samples[round] = sample;
        const rate = (sample.tokensScored || sample.tokensEvaluated) / sample.seconds;
        log(`round ${round + 1}/${reps} ${task.id}: ${sample.seconds.toFixed(2)} s, ${Math.round(rate)} tokens/s`);
      } catch (error) {
        result.samples[round] = null;
        result.error = (error as Error).message;
        log(`round ${round + 1}/${reps} ${task.id} failed: ${(error as Error).message.split('\n')[0]}`);
      }
    });
    for (const result of results) for (let round = 0; round < reps; round++) result.samples[round] ??= null;

    // ---- cross-checks (untimed): every row computed what it claims, on the same tokens ----
    const sampleOf = (id: string) => results.find((r) => r.id === id)?.samples.find((s): s is Sample => s !== null);
    for (const name of ['short', 'long', 'chunks'] as const) {
      const ceiling = sampleOf(`ceiling:${name}`);
      const engine = sampleOf(`engine:${name}`);
      if (ceiling && engine) checks[`${name}EvaluatedTokensAgree`] = ceiling.tokensEvaluated === engine.tokensEvaluated;
    }
    const engineShort = sampleOf('engine:short');
    const e2e = sampleOf('e2e:short');
    if (engineShort && e2e) {
      checks.e2eTokensEqualEngine = e2e.tokensScored === engineShort.tokensScored;
      checks.e2eNllRelativeDifference =
        Math.abs(Number(e2e.extra?.nll) - Number(engineShort.extra?.nll)) / Number(engineShort.extra?.nll);
    }
    const engineNlls =
      results
        .find((r) => r.id === 'engine:short')
        ?.samples.filter((s): s is Sample => s !== null)
        .map((s) => Number(s.extra?.nll)) ?? [];
    if (engineNlls.length > 1)
      checks.engineNllSpreadAcrossRepetitions = Math.max(...engineNlls) - Math.min(...engineNlls);
    const nodeSample = sampleOf('node-llama-cpp:short');
    if (nodeSample && nodeDocuments.length > 0) {
      const engineDocs = await base.engine.request<{ nll: number[] }>('logprobs', {
        workload: 'short',
        count: nodeDocuments.length,
      });
      const nodeNll = nodeSample.extra?.nll as unknown as number[] | undefined;
      if (Array.isArray(nodeNll)) {
        let worst = 0;
        for (let i = 0; i < nodeNll.length; i++)
          worst = Math.max(worst, Math.abs(nodeNll[i] - engineDocs.nll[i]) / Math.max(1, nodeDocuments[i].length - 1));
        checks.nodeLlamaCppMaxMeanAbsDifferencePerToken = worst;
      }
    }
    const pplSample = results
      .find((r) => r.id === 'llama-perplexity:chunks')
      ?.samples.find((s) => s !== null && typeof s.extra?.ppl === 'number');
    if (pplSample && workloads.chunks.chunkSize) {
      const C = workloads.chunks.chunkSize;
      const first = Math.floor(C / 2);
      const reply = await base.engine.request<{ logprobs: Float32Array[] }>('logprobs', { workload: 'chunks' });
      let nll = 0;
      let count = 0;
      for (const logprobs of reply.logprobs) {
        // logprobs[k] is the target at sequence position k + 1; llama-perplexity scores positions first+1 .. C-1
        for (let k = first; k <= C - 2; k++) {
          nll -= logprobs[k];
          count++;
        }
      }
      const enginePpl = Math.exp(nll / count);
      checks.llamaPerplexityPpl = pplSample.extra?.ppl;
      checks.enginePplOnTheSameTokens = enginePpl;
      checks.pplRelativeDifference = Math.abs(enginePpl - Number(pplSample.extra?.ppl)) / enginePpl;
      checks.scoredPerChunk = { engine: C - 1, llamaPerplexity: perplexityScoredPerChunk(C) };
    }

    for (const name of ['short', 'chunks'] as const) {
      const ratio = pairedScoredRatio(
        results.find((r) => r.id === `engine:${name}`),
        results.find((r) => r.id === `engine-prebuilt-cpu:${name}`),
      );
      if (ratio !== null) {
        checks[`${name}NativeOverPrebuiltCpuBackend`] = ratio;
        notes.push(
          `CPU backend compiled for this machine over node-llama-cpp's prebuilt variant (engine, ${name}, tokens scored/s): ${ratio.toFixed(2)}×`,
        );
      }
    }

    const relinkedRatio = pairedScoredRatio(
      results.find((r) => r.id === 'engine:chunks'),
      results.find((r) => r.id === 'llama-perplexity-prebuilt:chunks'),
    );
    if (relinkedRatio !== null) {
      checks.engineOverLlamaPerplexityOnPrebuiltLibraries = relinkedRatio;
      notes.push(
        `engine over llama-perplexity relinked to the same prebuilt llama.cpp libraries as infoprune (tokens scored/s, identical chunks): ${relinkedRatio.toFixed(2)}×`,
      );
    }

    // end-to-end: fixed cost per run and marginal (steady-state) throughput from the two input sizes
    const e2eSeconds = (id: string) => {
      const seconds =
        results
          .find((r) => r.id === id)
          ?.samples.filter((s): s is Sample => s !== null)
          .map((s) => s.seconds) ?? [];
      return seconds.length > 0 ? median(seconds) : null;
    };
    const t1 = e2eSeconds('e2e:short');
    const t4 = e2eSeconds('e2e-x4:short');
    const engineShortSeconds = e2eSeconds('engine:short');
    if (t1 !== null && t4 !== null && t4 > t1 && engineShort) {
      const tokens = engineShort.tokensScored;
      const marginal = ((E2E_COPIES - 1) * tokens) / (t4 - t1);
      const fixed = t1 - tokens / marginal;
      const engineRate = engineShortSeconds ? tokens / engineShortSeconds : NaN;
      checks.e2eFixedSecondsPerRun = fixed;
      checks.e2eMarginalScoredPerSecond = marginal;
      checks.e2eMarginalOverEngine = marginal / engineRate;
      notes.push(
        `end-to-end, fixed cost per run ≈ ${fixed.toFixed(2)} s of its activeSeconds (from the 1× and ${E2E_COPIES}× inputs); marginal throughput ${Math.round(marginal)} tokens/s = ${(marginal / engineRate).toFixed(2)} × the engine's median (the steady state of a long corpus)`,
      );
    }

    const rowFigures = figures(results);
    for (const row of results) {
      const figure = rowFigures.find((f) => f.id === row.id)!;
      (figure.notes as Record<string, unknown>).timed = row.timed;
    }
    if (perplexityOptions)
      notes.push(
        `llama-perplexity ran as: llama-perplexity ${perplexityArgs(perplexityOptions)
          .join(' ')
          .replaceAll(`${ROOT}/`, '')}`,
      );
    return {
      model: {
        name: model.name,
        path: model.path.replace(`${ROOT}/`, ''),
        preset: model.preset,
        tensorType: model.tensorType,
        sizeBytes: model.sizeBytes,
        ...info,
      },
      engineOptions: { ...options, systemInfo: base.systemInfo, cpuBackend: base.cpuBackend },
      workloads: workloadInfo,
      rows: rowFigures,
      targets: targets(rowFigures),
      checks,
      notes,
    };
  } finally {
    await Promise.all(hosts.map((host) => host.close()));
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  for (const script of [HOST_SCRIPT, NODE_HOST_SCRIPT, SERVICE_HOST_SCRIPT]) {
    if (!existsSync(script)) throw new Error(`${script} is missing: run npx tsc -p tsconfig.json (npm run bench does)`);
  }
  const machine: MachineInfo = machineInfo();
  log(
    `${machine.cpuModel}, ${machine.cpus} cores, GPU: ${machine.gpu}; ${threads} threads, ${reps} rounds${quick ? ' (--quick)' : ''}; load average ${loadavg()[0].toFixed(1)}`,
  );
  // llama-perplexity builds (once, minutes) while the models are generated; it must be done before anything is timed.
  const perplexityBuild = peers
    ? llamaPerplexity(ROOT, { allowBuild: !quick && !args['no-build'], jobs: Math.max(1, availableParallelism()), log })
    : null;
  const models: BenchModel[] = args['train-only']
    ? []
    : args.model
      ? [givenModel(resolve(args.model))]
      : presetList().flatMap((preset) => tensorTypes.map((type) => presetModel(ROOT, preset, type, log)));
  const reports: ModelReport[] = [];
  for (const model of args['only-service'] ? [] : models) {
    const report = await benchModel(model, perplexityBuild);
    reports.push(report);
    console.log(`\n${modelHeading(report)}\n`);
    console.log(textTable(TABLE_HEADER, tableRows(report.rows)));
    console.log(`\n${targetLines(report.targets, quick).join('\n')}`);
    if (report.notes.length > 0) console.log(report.notes.map((note) => `- ${note}`).join('\n'));
    console.log(`checks: ${JSON.stringify(report.checks)}`);
  }
  // The service section: the first model, one shared scorer behind node:http (bench/service.ts).
  const service =
    args['no-service'] || models.length === 0
      ? undefined
      : await benchService({
          model: models[0],
          hostScript: SERVICE_HOST_SCRIPT,
          threads,
          contextSize: contextOption ?? (quick ? 256 : 512),
          rounds: reps,
          seconds: targetSeconds,
          log,
        });
  if (service) console.log(`\n${serviceMarkdown(service)}`);
  const build = perplexityBuild ? await perplexityBuild : null;
  const train =
    args['no-train'] || args['only-service']
      ? null
      : await runTrainBench({
          root: ROOT,
          quick,
          threads,
          reps,
          allowBuild: !quick && !args['no-build'],
          log,
          shapes: listArgument(args['train-shapes'])?.map(probeShapeArgument),
          budgets: listArgument(args['train-budgets'])?.map(budgetArgument),
        });
  if (train) console.log(`\n${trainMarkdown(train)}`);
  machine.loadAverageEnd = loadavg()[0];
  let nodeLlamaCppVersion: string | null = null;
  try {
    nodeLlamaCppVersion = (
      JSON.parse(readFileSync(join(ROOT, 'node_modules', 'node-llama-cpp', 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    // not installed
  }
  const report: BenchReport & { service?: ServiceReport } = {
    schema: 'infoprune-bench/1',
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    quick,
    repetitions: reps,
    threads,
    machine,
    software: {
      infoprune: (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
      nativeBuild: nativeBuildInfo(),
      nodeLlamaCpp: nodeLlamaCppVersion,
      llamaPerplexity: build
        ? {
            tag: build.tag,
            built: build.binary !== null,
            reason: build.reason ?? null,
            cmakeFlags: build.cmakeFlags,
            buildSecondsThisRun: build.buildSeconds,
          }
        : null,
    },
    method: [
      'Every row runs in its own process; rows are interleaved: in each round every row runs once, order rotated per round; medians over rounds.',
      "ceiling: NativeContext.decodeOnly, the engine's own windows and llama_decode calls with logits for every position and no log-softmax.",
      "× ceiling: evaluated tokens/s over the ceiling's on the same workload (a time ratio on identical decodes), median of per-round ratios.",
      "× engine / × llama-perplexity / × node-llama-cpp: scored tokens/s over that row's, median of per-round ratios.",
      "end-to-end: tokens/s from the manifest's activeSeconds (after the model load); wall-clock including start-up shown in brackets.",
      'llama-perplexity scores n_ctx - n_ctx/2 - 1 tokens of each n_ctx-token chunk; the engine scores all n_ctx - 1 of the identical chunk.',
      "peak RSS: VmHWM of the row's process during its repetitions (reset before each); GNU time for child commands.",
    ],
    models: reports,
    train,
    service,
    wallSeconds: (performance.now() - started) / 1000,
  };
  const resultsDir = join(ROOT, 'bench', 'results');
  const stamp = report.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const host = hostname().replace(/[^\w.-]+/g, '_');
  const dated = join(resultsDir, `${stamp}-${host}${quick ? '-quick' : ''}.json`);
  if (!quick && args['train-only']) {
    // the train section alone must not replace the scoring tables of a full run
    writeJsonAtomic(dated, report);
    writeJsonAtomic(join(resultsDir, 'latest-train.json'), report);
    writeTextAtomic(join(resultsDir, 'latest-train.md'), markdownReport(report));
    log(`--train-only: wrote ${dated.replace(`${ROOT}/`, '')} and bench/results/latest-train.{json,md}`);
  } else if (!quick && args['only-service'] && service) {
    // the model rows' latest results stay; the service section has its own
    writeJsonAtomic(dated, report);
    writeTextAtomic(join(resultsDir, 'latest-service.md'), serviceMarkdown(service));
    log(`wrote ${dated.replace(`${ROOT}/`, '')} and bench/results/latest-service.md`);
  } else if (!quick) {
    writeJsonAtomic(dated, report);
    writeJsonAtomic(join(resultsDir, 'latest.json'), report);
    writeTextAtomic(
      join(resultsDir, 'latest.md'),
      markdownReport(report) + (service ? `\n${serviceMarkdown(service)}` : ''),
    );
    log(`wrote ${dated.replace(`${ROOT}/`, '')}, bench/results/latest.json and bench/results/latest.md`);
  } else {
    // a smoke run must not replace the measured results
    writeJsonAtomic(join(resultsDir, 'quick.tmp.json'), report);
    log('--quick: wrote bench/results/quick.tmp.json (git-ignored); latest.json is left as it is');
  }
  if (args.out) writeJsonAtomic(resolve(args.out), report);
  log(`done in ${report.wallSeconds.toFixed(0)} s`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
