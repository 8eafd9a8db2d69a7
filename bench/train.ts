/**
 * The `train` section of `npm run bench`: how fast infoprune trains a data probe, against llama.cpp's own
 * `llama-finetune` on the same model shape and the same Brown text, and how good the probe is for each budget.
 *
 * Speed. For each probe shape, the initial model (the vocabulary learned from Brown, seeded random weights, F32,
 * untied) is trained for the same number of 256-token windows by (a) infoprune's trainer (`trainModel`, the steps
 * `infoprune train` runs; its tokens/s count the optimizer steps only, not the bigram initialisation) and (b)
 * `llama-finetune -c 256 -b 256 -ub 256` built natively from the same llama.cpp release, whose tokens/s are marginal:
 * (wall time of a run over N windows − wall time of a run over one window) / ((N − 1) × 256), so its model load,
 * tokenization and warm-up do not count. The two alternate over `reps` rounds; medians, and the median of the per-round
 * ratios. llama-finetune trains every weight but token_embd (llama.cpp's FIXME); infoprune trains token_embd too.
 *
 * Quality. `trainProbe` on the whole Brown corpus (its own seeded held-out slice) with the default shape at several
 * token budgets: held-out bits per byte against per-document zlib -9 and xz, bits per token against a Kneser-Ney
 * bigram and a unigram of the same tokens (src/train/baselines.ts), and the wall time.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brownDocuments } from '../dev/brown.js';
import { cpuBackendInfo, nativeBuildInfo } from '../src/engine/native.js';
import { openTokenizer } from '../src/engine/tokenizer.js';
import { writeInitialProbe } from '../src/train/initial-model.js';
import { PROBE_SHAPES, type ProbeShapeName, TRAIN_DEFAULTS } from '../src/train/options.js';
import { planTraining } from '../src/train/schedule.js';
import { joinWithBos, tokenizeAll } from '../src/train/streams.js';
import { trainModel } from '../src/train/train-model.js';
import { trainProbe } from '../src/train/train-probe.js';
import { countPreTokens, learnVocabulary } from '../src/train/vocabulary.js';
import { median } from './measure.js';
import { buildLlamaTool, LLAMA_TOOL_BASE_FLAGS, type ToolBuild } from './peers/llama-build.js';

export interface TrainBenchOptions {
  root: string;
  quick: boolean;
  threads: number;
  reps: number;
  allowBuild: boolean;
  log: (line: string) => void;
  /** Overrides for a partial run: the shapes timed and the budgets measured (an empty list leaves that part out). */
  shapes?: ProbeShapeName[];
  budgets?: number[];
}

export interface TrainSpeedRow {
  shape: ProbeShapeName;
  parameters: number;
  windows: number;
  infopruneTokensPerSecond: number;
  finetuneTokensPerSecond: number | null;
  /** Median over rounds of infoprune's tokens/s over llama-finetune's. */
  ratio: number | null;
}

export interface TrainQualityRow {
  shape: ProbeShapeName;
  budgetTokens: number;
  /** Tokens trained: less than the budget when the run stopped early (TRAIN_DEFAULTS.patience). */
  tokensTrained: number;
  seconds: number;
  tokensPerSecond: number;
  bitsPerByte: number;
  bitsPerToken: number;
  zlib9BitsPerByte: number;
  xzBitsPerByte: number | null;
  bigramBitsPerToken: number;
  unigramBitsPerToken: number;
}

export interface TrainBenchReport {
  threads: number;
  /** The CPU backend infoprune trained on, and the patches of native/ggml-patches/ it carries (llama-finetune has none). */
  cpuBackend: { kind: string | null; patches: string[] };
  finetune: { built: boolean; reason: string | null; cmakeFlags: string[] };
  speed: TrainSpeedRow[];
  quality: TrainQualityRow[];
}

const FINETUNE_CMAKE_FLAGS = [...LLAMA_TOOL_BASE_FLAGS, '-DLLAMA_BUILD_TOOLS=OFF', '-DLLAMA_BUILD_EXAMPLES=ON'];

export async function runTrainBench(options: TrainBenchOptions): Promise<TrainBenchReport> {
  const work = join(options.root, '.cache', 'bench-work', 'train');
  mkdirSync(work, { recursive: true });
  const documents = brownDocuments(options.quick ? 60 : 500).map((document) => document.text);
  const finetune = await buildLlamaTool(
    options.root,
    { target: 'llama-finetune', sourceFile: 'examples/training/finetune.cpp', cmakeFlags: FINETUNE_CMAKE_FLAGS },
    { allowBuild: options.allowBuild, jobs: options.threads, log: options.log },
  );
  const shapes: ProbeShapeName[] = options.shapes ?? (options.quick ? ['tiny'] : ['tiny', 'small', 'base']);
  const speed: TrainSpeedRow[] = [];
  for (const shape of shapes) speed.push(await speedRow(shape, documents, finetune, work, options));
  const quality = await qualityRows(documents, work, options);
  return {
    threads: options.threads,
    cpuBackend: { kind: cpuBackendInfo()?.kind ?? null, patches: nativeBuildInfo()?.cpuBackendPatches ?? [] },
    finetune: { built: finetune.binary !== null, reason: finetune.reason ?? null, cmakeFlags: FINETUNE_CMAKE_FLAGS },
    speed,
    quality,
  };
}

async function speedRow(
  shape: ProbeShapeName,
  documents: string[],
  finetune: ToolBuild,
  work: string,
  options: TrainBenchOptions,
): Promise<TrainSpeedRow> {
  // The same initial model and the same tokens for both trainers.
  const vocabulary = learnVocabulary(countPreTokens(documents.slice(0, 2000)), PROBE_SHAPES[shape].vocabularySize);
  const initial = join(work, `${shape}.initial.gguf`);
  const { parameterCount } = writeInitialProbe(initial, PROBE_SHAPES[shape], vocabulary, 256, 1);
  const tokenizer = openTokenizer(initial);
  const tokens = await tokenizeAll(tokenizer, documents);
  tokenizer.close();
  const stream = joinWithBos(tokens, vocabulary.bosToken);
  const windows = options.quick ? 8 : shape === 'base' ? 48 : 96;
  // llama-finetune windows overlap by half (its dataset stride is n_ctx / 2): text for `windows` of them.
  const text = textForTokens(documents, tokens, (windows + 1) * 128 + 257);
  writeFileSync(join(work, `${shape}.train.txt`), text);
  writeFileSync(join(work, `${shape}.one.txt`), textForTokens(documents, tokens, 2 * 128 + 257 + 16));
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 0; round < options.reps; round++) {
    const order = round % 2 === 0 ? ['ours', 'theirs'] : ['theirs', 'ours'];
    for (const row of order) {
      if (row === 'ours') ours.push(await infopruneTokensPerSecond(initial, stream, windows, work, options.threads));
      else if (finetune.binary)
        theirs.push(await finetuneTokensPerSecond(finetune.binary, shape, work, options.threads));
    }
    options.log(`train ${shape}: round ${round + 1}/${options.reps}`);
  }
  const ratios = theirs.length === ours.length ? ours.map((value, i) => value / theirs[i]) : [];
  return {
    shape,
    parameters: parameterCount,
    windows,
    infopruneTokensPerSecond: median(ours),
    finetuneTokensPerSecond: theirs.length > 0 ? median(theirs) : null,
    ratio: ratios.length > 0 ? median(ratios) : null,
  };
}

/** Whole documents from the start of the corpus until their tokens (plus BOS each) reach `wanted`. */
function textForTokens(documents: string[], tokens: Int32Array[], wanted: number): string {
  const lines: string[] = [];
  let count = 1;
  for (let i = 0; i < documents.length && count < wanted; i++) {
    lines.push(documents[i]);
    count += tokens[i].length + 1;
  }
  return `${lines.join('\n')}\n`;
}

async function infopruneTokensPerSecond(
  initial: string,
  stream: Int32Array,
  windows: number,
  work: string,
  threads: number,
): Promise<number> {
  const plan = planTraining(windows * TRAIN_DEFAULTS.contextSize, undefined, stream.length);
  const out = join(work, 'bench-trained.gguf');
  const { loop } = await trainModel({
    initialModel: initial,
    out,
    training: stream,
    heldout: new Int32Array(0),
    plan,
    seed: 1,
    threads,
    gpuLayers: 0,
    bigramFitIterations: 0, // the steps' speed, not the initialisation's
    keepBest: false,
    patience: 0,
  });
  rmSync(out, { force: true });
  return loop.tokensSeen / loop.seconds;
}

/** Marginal tokens/s: a run over the training text less a run over one window (start-up, tokenizing, warm-up). */
async function finetuneTokensPerSecond(binary: string, shape: string, work: string, threads: number): Promise<number> {
  const run = async (textFile: string) => {
    const args = ['-m', join(work, `${shape}.initial.gguf`), '-f', textFile, '-c', '256', '-b', '256', '-ub', '256'];
    args.push('-t', String(threads), '-tb', String(threads), '-epochs', '1', '-val-split', '0', '-ngl', '0');
    args.push('-lr', String(TRAIN_DEFAULTS.learningRate), '-o', join(work, 'finetuned.gguf'));
    const started = performance.now();
    const output = await runQuiet(binary, args);
    const windows = Number(/data=\d+\/(\d+)/.exec(output.split('train:').at(-1) ?? '')?.[1] ?? Number.NaN);
    return { seconds: (performance.now() - started) / 1000, windows };
  };
  const one = await run(join(work, `${shape}.one.txt`));
  const many = await run(join(work, `${shape}.train.txt`));
  rmSync(join(work, 'finetuned.gguf'), { force: true });
  return ((many.windows - one.windows) * 256) / (many.seconds - one.seconds);
}

function runQuiet(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (data) => {
      stderr = (stderr + data).slice(-20_000);
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stderr) : reject(new Error(`${file} exited with ${code}: ${stderr.slice(-2000)}`)),
    );
  });
}

async function qualityRows(documents: string[], work: string, options: TrainBenchOptions): Promise<TrainQualityRow[]> {
  const corpus = join(work, 'brown.jsonl');
  writeFileSync(corpus, `${documents.map((text) => JSON.stringify({ text })).join('\n')}\n`);
  const shape: ProbeShapeName = options.quick ? 'tiny' : TRAIN_DEFAULTS.shape;
  const budgets = options.budgets ?? (options.quick ? [20_000] : [500_000, TRAIN_DEFAULTS.budgetTokens]);
  const rows: TrainQualityRow[] = [];
  for (const budgetTokens of budgets) {
    const started = performance.now();
    const { record } = await trainProbe({
      inputs: [corpus],
      out: join(work, 'probe.gguf'),
      overwrite: true,
      shape,
      budgetTokens,
      threads: options.threads,
      seed: 1,
    });
    const { heldout } = record;
    rows.push({
      shape,
      budgetTokens,
      tokensTrained: record.training.tokensSeen,
      seconds: (performance.now() - started) / 1000,
      tokensPerSecond: record.training.tokensPerSecond,
      bitsPerByte: heldout.bitsPerByte,
      bitsPerToken: heldout.bitsPerToken,
      zlib9BitsPerByte: heldout.baselines.zlib9BitsPerByte,
      xzBitsPerByte: heldout.baselines.xzBitsPerByte,
      bigramBitsPerToken: heldout.baselines.bigramBitsPerToken,
      unigramBitsPerToken: heldout.baselines.unigramBitsPerToken,
    });
    options.log(`train quality: ${budgetTokens} tokens → ${heldout.bitsPerByte.toFixed(3)} bits/byte`);
  }
  return rows;
}

function backendLabel(backend: TrainBenchReport['cpuBackend'] | undefined): string {
  if (backend === undefined) return 'CPU backend not recorded';
  const patches = backend.patches.length > 0 ? `, with ${backend.patches.join(', ')}` : ', unpatched';
  return `${backend.kind ?? 'unknown'} CPU backend${backend.kind === 'native' ? patches : ''}`;
}

/** The section as Markdown (bench/results/latest.md holds it after the scoring tables). */
export function trainMarkdown(report: TrainBenchReport): string {
  const f = (value: number | null, digits = 3) => (value === null ? '-' : value.toFixed(digits));
  const lines = [
    `**train: probe training, ${report.threads} threads** (infoprune: ${backendLabel(report.cpuBackend)}; llama-finetune: ${report.finetune.built ? 'built natively from the bundled release' : report.finetune.reason})`,
    '',
    '| shape | parameters | windows of 256 | infoprune tok/s | llama-finetune tok/s | × llama-finetune |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...report.speed.map(
      (row) =>
        `| ${row.shape} | ${row.parameters.toLocaleString('en')} | ${row.windows} | ${Math.round(row.infopruneTokensPerSecond)} | ${row.finetuneTokensPerSecond === null ? '-' : Math.round(row.finetuneTokensPerSecond)} | ${row.ratio === null ? '-' : `${row.ratio.toFixed(2)}×`} |`,
    ),
    '',
    '| shape | budget (tokens) | trained | wall s | train tok/s | held-out bits/byte | zlib -9 | xz | vs zlib | bits/token | bigram | unigram |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...report.quality.map(
      (row) =>
        `| ${row.shape} | ${row.budgetTokens.toLocaleString('en')} | ${row.tokensTrained?.toLocaleString('en') ?? '-'} | ${Math.round(row.seconds)} | ${Math.round(row.tokensPerSecond)} | ${f(row.bitsPerByte)} | ${f(row.zlib9BitsPerByte)} | ${f(row.xzBitsPerByte)} | ${((row.bitsPerByte / row.zlib9BitsPerByte - 1) * 100).toFixed(0)} % | ${f(row.bitsPerToken)} | ${f(row.bigramBitsPerToken)} | ${f(row.unigramBitsPerToken)} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
