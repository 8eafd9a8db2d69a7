/** `infoprune score`: the command-line face of `runScoreJob` (src/pipeline/job.ts). */
import type { Command } from 'commander';
import { runScoreJob, type ScoreJobOptions, type ScoreJobSummary } from '../pipeline/job.js';
import { PROBE_SHAPE_NAMES, TRAIN_DEFAULTS } from '../train/options.js';
import { formatCount, formatDuration } from '../util/format.js';
import { optionsFromFlags, SCORE_FLAGS, withFlagWording } from './flags.js';
import { formatCounts, ProgressReporter } from './progress.js';
import { addEngineOptions, addOutputOptions, addReadingOptions, addRunOptions, SCORE_HELP } from './score-options.js';
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
    .requiredOption(
      '-o, --out <file>',
      'the score file: scores.jsonl, or scores.parquet for Parquet; with --shard, a folder or a name holding {shard}',
    );
  addOutputOptions(addRunOptions(addEngineOptions(addReadingOptions(command))))
    .addHelpText('after', SCORE_HELP)
    .action(withFlagWording(SCORE_FLAGS, runScore));
}

/** The flags as the job's options, the job run with a progress display, the outcome in one line and an exit code. */
async function runScore(inputs: string[], flags: Record<string, unknown>): Promise<void> {
  const { shape, budgetTokens: _t, budgetSeconds: _s, ...fromFlags } = optionsFromFlags(SCORE_FLAGS, flags);
  const probe =
    fromFlags.model === undefined
      ? { shape, ...(typeof flags.probeBudget === 'string' ? parseBudget(flags.probeBudget, '--probe-budget') : {}) }
      : undefined;
  const options = { inputs, ...fromFlags, probe } as unknown as ScoreJobOptions;
  const quiet = flags.quiet === true;
  const reporter = new ProgressReporter(ProgressReporter.modeFor(process.stderr, quiet));
  const probeDisplay = new TrainDisplay(quiet, 'infoprune score: probe');
  // First Ctrl-C / SIGTERM: stop at the next checkpoint (seconds). Second: abort at once (resume still works).
  const stop = new AbortController();
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!stop.signal.aborted) {
      reporter.notice(`${signal}: stopping at the next checkpoint (send it again to stop at once)`);
      stop.abort();
    } else abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runScoreJob({
      ...options,
      stopSignal: stop.signal,
      signal: abort.signal,
      onProgress: (progress) => reporter.update(progress),
      onProbeProgress: (progress) => probeDisplay.update(progress),
      onNotice: (message) => reporter.notice(message),
    });
    reporter.stop();
    probeDisplay.stop();
    if (summary.alreadyComplete) {
      reportFailures(summary);
      return;
    }
    const { counts } = summary;
    if (summary.status === 'stopped') {
      process.stderr.write(
        `infoprune score: stopped after ${formatCounts(counts)}; run the same command with --resume to finish\n`,
      );
      process.exitCode = 130;
      return;
    }
    if (!quiet) {
      const skipped = counts.skipped + counts.fileErrors > 0 ? `; see ${summary.outputs.errors}` : '';
      const rate = formatCount(summary.tokensPerSecond, { compact: true });
      process.stderr.write(
        `infoprune score: ${formatCounts(counts)}${skipped}. ${formatCount(counts.tokens, { compact: true })} tokens in ${formatDuration(summary.seconds)} ` +
          `(${rate} tokens/s) → ${summary.outputs.scores}\n`,
      );
    }
    reportFailures(summary);
  } catch (error) {
    reporter.stop();
    probeDisplay.stop();
    if (abort.signal.aborted) {
      process.stderr.write(
        'infoprune score: stopped at once; run the same command with --resume to go on from the last checkpoint\n',
      );
      process.exitCode = 130;
      return;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Exit status 3, with the reason on stderr, when too many records failed (or none was scored). */
function reportFailures({ failures, outputs, counts }: ScoreJobSummary): void {
  if (!failures.exceeded) return;
  const share = `${(100 * failures.rate).toFixed(failures.rate < 0.1 ? 2 : 1)}%`;
  const why = failures.nothingScored
    ? 'no document was scored'
    : counts.modelFailures > 0
      ? `the model gave non-finite log-probabilities for ${formatCount(counts.modelFailures)} documents`
      : `${formatCount(failures.failed)} records failed (${share}), more than --max-error-rate ${failures.maxErrorRate}`;
  process.stderr.write(`infoprune score: ${why}; see ${outputs.errors}\n`);
  process.exitCode = 3;
}
