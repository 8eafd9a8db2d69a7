/** `infoprune train`: the command-line face of `trainProbe` (src/train/train-probe.ts). */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { READING_DEFAULTS } from '../corpus/options.js';
import { InvalidOptionError } from '../errors.js';
import {
  type EarlyStop,
  PROBE_SHAPE_NAMES,
  PROBE_SHAPES,
  TRAIN_DEFAULTS,
  type TrainProbeOptions,
  type TrainProgress,
} from '../train/options.js';
import type { TrainingRecord } from '../train/record.js';
import { trainProbe } from '../train/train-probe.js';
import { formatCount, formatDuration } from '../util/format.js';
import { describeValue } from '../util/validate.js';
import { optionsFromFlags, TRAIN_FLAGS, withFlagWording } from './flags.js';
import { prepareStdin } from './pipes.js';
import { abortOnSignals } from './signals.js';

const HELP = `
The paper's data probe: a small llama-architecture model trained on the corpus itself, so that what it compresses
well (low negative log-likelihood) is what the corpus repeats. Inputs are read like \`infoprune score\` reads them.

What happens: a seeded sample of the documents is read (what the budget needs, spread over the corpus) and a
held-out slice is set aside; a byte-level BPE vocabulary (${TRAIN_DEFAULTS.shape}: ${PROBE_SHAPES[TRAIN_DEFAULTS.shape].vocabularySize} tokens) is learned from the sample; the model
starts as the best bigram model its shape can express (fitted to the sample's Kneser-Ney bigram) and is trained
with llama.cpp's training API (AdamW, warm-up, cosine decay), keeping the weights of its best held-out point (the
start, if training never beats it); the GGUF is written (any llama.cpp tool loads it) with a training record beside it: <out>.training.json
(shape, data, the loss curve, held-out bits per byte and per token against zlib -9, xz and a bigram model).

Shapes (layers × width, vocabulary): ${PROBE_SHAPE_NAMES.map((name) => `${name} ${PROBE_SHAPES[name].layers}×${PROBE_SHAPES[name].embedding}, ${PROBE_SHAPES[name].vocabularySize}`).join('; ')}.
Budget: tokens (1500000, 1.5M, 500k) or time (90s, 10min, 1h). Default ${formatCount(TRAIN_DEFAULTS.budgetTokens, { compact: true })} tokens on a CPU (a few minutes on a
laptop), never more than ${TRAIN_DEFAULTS.maxEpochs} passes over the sample; with --gpu-layers, ${TRAIN_DEFAULTS.gpuBudgetShare * 100} % of the corpus's tokens.
Early stopping: the held-out loss is measured at ${TRAIN_DEFAULTS.curvePoints} evenly spaced points; once --patience points in a row
have not beaten the best, training stops (off by default: on Brown the curve first rises above the bigram fit, then
ends well below it, docs/probe.md). A token budget is deterministic for a seed with --threads 1.

Examples:
  infoprune train corpus/ --out probe.gguf
  infoprune train 'shards/*.jsonl.zst' --out probe.gguf --budget 10min --shape base
  infoprune score corpus/ --model probe.gguf --out scores.jsonl
`;

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .summary('train a data probe (a small GGUF language model) on a corpus')
    .description("Train the paper's data probe on the corpus itself and measure it on a held-out slice.")
    .argument('<inputs...>', 'files, folders and globs')
    .requiredOption('-o, --out <probe.gguf>', 'the probe to write (its training record goes beside it)')
    .option('--shape <name>', `model shape: ${PROBE_SHAPE_NAMES.join(', ')}`, TRAIN_DEFAULTS.shape)
    .option('--budget <tokens|time>', 'tokens to train on (1.5M) or time (10min)')
    .option(
      '--patience <points>',
      `stop once this many held-out curve points in a row are no better than the best (0: never; default ${TRAIN_DEFAULTS.patience})`,
    )
    .option('--sample <share>', 'share of the documents to read (default: what the budget needs)')
    .option('--heldout <files...>', 'measure on these documents instead of a held-out slice of the inputs')
    .option('--seed <n>', 'sample, split, initialisation and window order', String(TRAIN_DEFAULTS.seed))
    .option('--threads <n>', "CPU threads (default: the machine's cores)")
    .option(
      '--gpu-layers <n|max>',
      "layers trained on the GPU (0: CPU only; 'max': all)",
      String(TRAIN_DEFAULTS.gpuLayers),
    )
    .option('--text-field <name>', 'field holding the text (JSONL, Parquet)', READING_DEFAULTS.textField)
    .option('--text-mode <file|line>', 'plain text: one document per file, or one per line', READING_DEFAULTS.textMode)
    .option('--format <auto|jsonl|parquet|text>', 'input format (auto: from file names)', READING_DEFAULTS.format)
    .option('--overwrite', 'replace an existing probe at --out')
    .option('-q, --quiet', 'no progress and no summary')
    .option('-v, --verbose', "llama.cpp's own log")
    .addHelpText('after', HELP)
    .action(withFlagWording(TRAIN_FLAGS, runTrain));
}

async function runTrain(inputs: string[], flags: Record<string, unknown>): Promise<void> {
  await prepareStdin(inputs);
  const { budgetTokens: _tokens, budgetSeconds: _seconds, ...options } = optionsFromFlags(TRAIN_FLAGS, flags);
  const abort = abortOnSignals();
  const display = new TrainDisplay(flags.quiet === true);
  try {
    const { path, record } = await trainProbe({
      inputs,
      ...(options as Partial<TrainProbeOptions>),
      ...(typeof flags.budget === 'string' ? parseBudget(flags.budget) : {}),
      out: flags.out as string,
      signal: abort.signal,
      onProgress: (progress) => display.update(progress),
    } as TrainProbeOptions);
    display.stop();
    if (flags.quiet !== true) process.stderr.write(`${summaryLine(path, record)}\n`);
  } catch (error) {
    display.stop();
    if (abort.signal.aborted) {
      process.stderr.write('infoprune train: stopped; nothing was written\n');
      process.exitCode = 130;
      return;
    }
    throw error;
  } finally {
    abort.dispose();
  }
}

const TOKEN_SUFFIXES: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9 };
const TIME_SUFFIXES: Record<string, number> = { s: 1, sec: 1, min: 60, h: 3600 };

/** `--budget`: tokens (1500000, 1.5M, 500k) or a duration (90s, 10min, 1h). */
export function parseBudget(
  text: string,
  flag = '--budget',
): Pick<TrainProbeOptions, 'budgetTokens' | 'budgetSeconds'> {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const [number, suffix] = match ? [Number(match[1]), match[2]] : [Number.NaN, ''];
  if (match && suffix in TOKEN_SUFFIXES) return { budgetTokens: Math.round(number * TOKEN_SUFFIXES[suffix]) };
  if (match && suffix in TIME_SUFFIXES) return { budgetSeconds: number * TIME_SUFFIXES[suffix] };
  const hint = suffix === 'm' ? ' (5m is ambiguous: write 5min for minutes or 5M for million tokens)' : '';
  throw new InvalidOptionError(
    'budgetTokens',
    `Expected tokens (1.5M) or a time (10min) for ${flag} but received ${describeValue(text)}${hint}`,
  );
}

function summaryLine(path: string, record: TrainingRecord): string {
  const { heldout, training } = record;
  const xz = heldout.baselines.xzBitsPerByte === null ? '' : `, xz ${heldout.baselines.xzBitsPerByte.toFixed(3)}`;
  return (
    `infoprune train: ${formatCount(training.tokensSeen, { compact: true })} tokens in ${formatDuration(training.seconds)} ` +
    `(${formatCount(training.tokensPerSecond, { compact: true })} tokens/s) → ${path}\n` +
    (training.stoppedEarly ? `  ${earlyStopText(training.stoppedEarly)}\n` : '') +
    `  kept: ${keptWeights(training)}\n` +
    `  held-out: ${heldout.bitsPerByte.toFixed(3)} bits/byte (zlib -9 ${heldout.baselines.zlib9BitsPerByte.toFixed(3)}${xz}), ` +
    `${heldout.bitsPerToken.toFixed(3)} bits/token (bigram ${heldout.baselines.bigramBitsPerToken.toFixed(3)}, unigram ${heldout.baselines.unigramBitsPerToken.toFixed(3)})`
  );
}

/** Which weights the probe ended with (src/train/loop.ts keeps the best held-out point). */
function keptWeights(training: TrainingRecord['training']): string {
  if (training.keptStep === training.steps) return 'the last step';
  if (training.keptStep === 0) return 'the initial bigram fit (training never beat it on held-out text)';
  return `step ${training.keptStep} of ${training.steps} (the best held-out point)`;
}

/** Why training ended before its budget, in words (the summary and the progress display). */
export function earlyStopText(stop: EarlyStop): string {
  return `stopped early at step ${stop.step}: ${stop.patience} held-out curve points in a row no better than the best`;
}

/** A bar of steps on a terminal; otherwise a line every 10 s. */
export class TrainDisplay {
  private bar: cliProgress.SingleBar | undefined;
  private lastLine = 0;
  private phase = '';

  constructor(
    private readonly quiet: boolean,
    private readonly prefix = 'infoprune train',
  ) {}

  update(progress: TrainProgress): void {
    if (this.quiet) return;
    if (progress.phase !== 'training') {
      if (progress.phase !== this.phase) this.line(`${progress.phase}…`);
      this.phase = progress.phase;
      return;
    }
    this.phase = progress.phase;
    if (progress.stoppedEarly) {
      this.stop();
      this.line(earlyStopText(progress.stoppedEarly));
      return;
    }
    const loss =
      progress.heldoutLoss === undefined ? '' : `, held-out ${(progress.heldoutLoss / Math.LN2).toFixed(3)} bits/token`;
    const payload = {
      rate: formatCount(progress.tokensPerSecond, { compact: true }),
      loss,
      eta: formatDuration(progress.etaSeconds),
    };
    if (process.stderr.isTTY) {
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: '{bar} {percentage}% | {value}/{total} steps | {rate} tokens/s{loss} | ETA {eta}',
            hideCursor: true,
            barsize: 24,
            fps: 5,
          },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(progress.totalSteps, progress.steps, payload);
      } else {
        this.bar.setTotal(progress.totalSteps);
        this.bar.update(progress.steps, payload);
      }
      return;
    }
    if (performance.now() - this.lastLine < 10_000) return;
    this.line(`step ${progress.steps}/${progress.totalSteps}, ${payload.rate} tokens/s${loss}, ETA ${payload.eta}`);
  }

  private line(text: string): void {
    this.lastLine = performance.now();
    if (!this.bar) process.stderr.write(`${this.prefix}: ${text}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
