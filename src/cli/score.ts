/** `infoprune score`: the command-line face of `runScoreJob` (src/pipeline/job.ts). */
import type { Command } from 'commander';
import { InvalidOptionError } from '../errors.js';
import { runScoreJob, type ScoreJobOptions, type ScoreJobSummary } from '../pipeline/job.js';
import { PROBE_SHAPE_NAMES, TRAIN_DEFAULTS } from '../train/options.js';
import { formatCount, formatDuration } from '../util/format.js';
import { annotateTo } from './annotate.js';
import { optionsFromFlags, SCORE_FLAGS, withFlagWording } from './flags.js';
import { prepareStdin, STDOUT_ARGUMENT, type StdoutTarget, stdoutTarget } from './pipes.js';
import { formatCounts, ProgressReporter } from './progress.js';
import { addEngineOptions, addOutputOptions, addReadingOptions, addRunOptions, SCORE_HELP } from './score-options.js';
import { stopThenAbortOnSignals } from './signals.js';
import { parseBudget, TrainDisplay } from './train.js';

export function registerScoreCommand(program: Command): void {
  const command = program
    .command('score')
    .summary('score every document of a corpus with a GGUF model (negative log-likelihood)')
    .description(
      'Stream a corpus through the scoring engine: one score record per document, in input order, with memory that does ' +
        'not grow with the corpus, resumable after any interruption.',
    )
    .argument('<inputs...>', 'files, folders and globs')
    .option(
      '-m, --model <file.gguf>',
      'the GGUF model to score with (default: train a probe on the inputs first, kept as <out>.probe.gguf)',
    )
    .option(
      '--probe-shape <name>',
      `without --model: the probe's shape (${PROBE_SHAPE_NAMES.join(', ')})`,
      TRAIN_DEFAULTS.shape,
    )
    .option('--probe-budget <tokens|time>', 'without --model: what the probe trains on (see infoprune train --help)')
    .option(
      '--probe-patience <points>',
      "without --model: stop the probe's training after this many held-out points without a new best (0: never; see infoprune train --help)",
    )
    .requiredOption(
      '-o, --out <file>',
      'the score file: scores.jsonl, or scores.parquet for Parquet; with --shard, a folder or a name holding {shard}',
    );
  addOutputOptions(addRunOptions(addEngineOptions(addReadingOptions(command))))
    .addHelpText('after', SCORE_HELP)
    .action(withFlagWording(SCORE_FLAGS, runScore));
}

/** `-` handled (standard input spooled, standard output as a temporary file copied out), then the run. */
async function runScore(inputs: string[], flags: Record<string, unknown>): Promise<void> {
  const { annotate, annotateKey, ...scoreFlags } = flags;
  if (annotate === STDOUT_ARGUMENT && flags.out === STDOUT_ARGUMENT) {
    throw new InvalidOptionError(
      'annotate',
      (name) => `${name('annotate')} - and ${name('out')} - both name standard output: write one to a file`,
    );
  }
  await prepareStdin(inputs);
  const toStdout = flags.out === STDOUT_ARGUMENT ? stdoutTarget(flags) : undefined;
  try {
    const out = toStdout?.out ?? (flags.out as string);
    const summary = await runWithProgress(inputs, { ...scoreFlags, out }, toStdout);
    if (summary?.status !== 'completed') return;
    if (typeof annotate === 'string') {
      await annotateTo(out, annotate, annotateKey as string | undefined, flags.quiet === true, 'infoprune score');
    }
    await toStdout?.copyOut();
  } finally {
    toStdout?.remove();
  }
}

/** The flags as the job's options, the job run with a progress display, the outcome in one line and an exit code. */
async function runWithProgress(
  inputs: string[],
  flags: Record<string, unknown>,
  toStdout: StdoutTarget | undefined,
): Promise<ScoreJobSummary | undefined> {
  const { shape, patience, budgetTokens: _t, budgetSeconds: _s, ...fromFlags } = optionsFromFlags(SCORE_FLAGS, flags);
  const budget = typeof flags.probeBudget === 'string' ? parseBudget(flags.probeBudget, '--probe-budget') : {};
  const probe =
    fromFlags.model === undefined ? { shape, ...budget, ...(patience !== undefined && { patience }) } : undefined;
  const options = { inputs, ...fromFlags, probe } as unknown as ScoreJobOptions;
  const quiet = flags.quiet === true;
  const reporter = new ProgressReporter(ProgressReporter.modeFor(process.stderr, quiet));
  const probeDisplay = new TrainDisplay(quiet, 'infoprune score: probe');
  // First Ctrl-C / SIGTERM: stop at the next checkpoint (seconds). Second: abort at once (resume still works).
  const signals = stopThenAbortOnSignals((signal) =>
    reporter.notice(`${signal}: stopping at the next checkpoint (send it again to stop at once)`),
  );
  try {
    const summary = await runScoreJob({
      ...options,
      stopSignal: signals.stop,
      signal: signals.signal,
      onProgress: (progress) => reporter.update(progress),
      onProbeProgress: (progress) => probeDisplay.update(progress),
      onNotice: (message) => reporter.notice(message),
    });
    reporter.stop();
    probeDisplay.stop();
    reportOutcome(summary, quiet, toStdout);
    return summary;
  } catch (error) {
    reporter.stop();
    probeDisplay.stop();
    if (signals.signal.aborted) {
      process.stderr.write(
        'infoprune score: stopped at once; run the same command with --resume to go on from the last checkpoint\n',
      );
      process.exitCode = 130;
      return undefined;
    }
    throw error;
  } finally {
    signals.dispose();
  }
}

/** The outcome in one line on stderr (stdout is for data), and the exit code. */
function reportOutcome(summary: ScoreJobSummary, quiet: boolean, toStdout: StdoutTarget | undefined): void {
  const { counts } = summary;
  if (summary.status === 'stopped') {
    process.stderr.write(
      `infoprune score: stopped after ${formatCounts(counts)}; run the same command with --resume to finish\n`,
    );
    process.exitCode = 130;
    return;
  }
  const failed = counts.skipped + counts.fileErrors > 0;
  if (!quiet && !summary.alreadyComplete) {
    const skipped = failed ? `; see ${toStdout ? 'below' : summary.outputs.errors}` : '';
    const rate = formatCount(summary.tokensPerSecond, { compact: true });
    process.stderr.write(
      `infoprune score: ${formatCounts(counts)}${skipped}. ${formatCount(counts.tokens, { compact: true })} tokens in ${formatDuration(summary.seconds)} ` +
        `(${rate} tokens/s) → ${toStdout ? 'standard output' : summary.outputs.scores}\n`,
    );
  }
  if (toStdout && failed && !quiet) {
    const shown = toStdout.errorLines(ERRORS_SHOWN);
    process.stderr.write(`${shown.map((line) => `  not scored: ${line}`).join('\n')}\n`);
    const more = counts.skipped + counts.fileErrors - shown.length;
    if (more > 0) process.stderr.write(`  ... and ${formatCount(more)} more\n`);
  }
  reportFailures(summary, toStdout);
}

/** Records that could not be scored, listed on stderr when the run's files are not kept (--out -). */
const ERRORS_SHOWN = 10;

/** Exit status 3, with the reason on stderr, when too many records failed (or none was scored). */
function reportFailures({ failures, outputs, counts }: ScoreJobSummary, toStdout: StdoutTarget | undefined): void {
  if (!failures.exceeded) return;
  const share = `${(100 * failures.rate).toFixed(failures.rate < 0.1 ? 2 : 1)}%`;
  const why = failures.nothingScored
    ? 'no document was scored'
    : counts.modelFailures > 0
      ? `the model gave non-finite log-probabilities for ${formatCount(counts.modelFailures)} documents`
      : `${formatCount(failures.failed)} records failed (${share}), more than --max-error-rate ${failures.maxErrorRate}`;
  process.stderr.write(`infoprune score: ${why}${toStdout ? '' : `; see ${outputs.errors}`}\n`);
  process.exitCode = 3;
}
