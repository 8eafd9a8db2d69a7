/** `infoprune score`: the command-line face of `runScoreJob` (src/pipeline/job.ts). */
import type { Command } from 'commander';
import { READING_DEFAULTS } from '../corpus/options.js';
import { SCORER_DEFAULTS } from '../engine/options.js';
import { runScoreJob, SCORE_JOB_DEFAULTS, type ScoreJobOptions, type ScoreJobSummary } from '../pipeline/job.js';
import { SCORE_DEFAULTS } from '../pipeline/options.js';
import { PROBE_SHAPE_NAMES, TRAIN_DEFAULTS } from '../train/options.js';
import { formatBytes, formatCount, formatDuration } from '../util/format.js';
import { optionsFromFlags, SCORE_FLAGS, withFlagWording } from './flags.js';
import { formatCounts, ProgressReporter } from './progress.js';
import { parseBudget, TrainDisplay } from './train.js';

const HELP = `
Inputs: files, folders (read recursively, in name order, hidden files left out) and globs (quote them: 'data/*.jsonl.gz').
Formats, told by name unless --format says: JSONL (.jsonl .jsonlines .ndjson .json, plain, .gz or .zst), Parquet
(.parquet, as Hugging Face datasets publish them), plain text (.txt .text .md, optionally .gz or .zst: one document
per file, or per line with --text-mode line). Other files in folders and globs (.xz, .bz2, .csv, ...) are not read,
and each is named on stderr and in the manifest. Compressed data is verified (gzip CRC-32, zstd checksums): the
records of a damaged member or frame, and all after it, are reported with the byte offset where the damage begins,
the records before it are scored; bytes after the last member or frame are reported and ignored (as gzip -d does).
Ids are kept exactly as written, big integers included.

Outputs, beside --out:
  <out>                 one score record per document, in input order: id, source, line (1-based line, 0-based
                        Parquet row, 0 for a whole text file), tokens, nll (nats), bytes, bits_per_token,
                        bits_per_byte, perplexity, words. JSONL, or Parquet with the same columns when <out> ends in .parquet
  <out>.errors.jsonl    {"source","line","reason"} for every record that could not be scored, and for unreadable,
                        truncated or corrupt files; the summary states read = scored + skipped
  <out>.words.bin       the corpus word-frequency table (for the ranking's H(W,f)): words are hashed into
                        --word-buckets counters (${formatBytes(SCORE_DEFAULTS.wordBuckets * 8)} of memory by default); the file holds only the
                        occupied buckets, so it is sized to the corpus and never larger than that
  <out>.manifest.json   model (path, size, sha256, architecture, vocabulary), context, stride, BOS policy, versions,
                        inputs with sizes, counts, start and end times. Written last: it marks a complete run
  <out>.lock            held while the run writes (a second run with the same --out fails at once); removed at the end
Only regular files are ever replaced (never a device, FIFO or link), and only files infoprune wrote (else
--overwrite); files of the run found among the inputs are left out and reported.

Interruptions: outputs are written as an append log with a checkpoint every --checkpoint-every seconds. After a crash
or kill -9, run the same command with --resume: no document is lost or written twice, and the output is the same as
an uninterrupted run's. Ctrl-C or SIGTERM stops at the next checkpoint (exit code 130); --resume goes on from there.

Sharding over N GPUs or machines: run the same command with --shard 0/N ... --shard N-1/N, or --shard auto under a
Slurm job array (SLURM_ARRAY_TASK_ID) and --shard auto/N in a Kubernetes Indexed Job (JOB_COMPLETION_INDEX). With
--out a folder (ending in /) each shard writes <out>/shard-00003-of-00008.jsonl (or put {shard} in --out's name), and
leaves <file>.done.json when it is complete; then infoprune merge <folder> --out scores.jsonl (docs/sharding.md).

Exit codes: 0 when the run completed (skipped records are reported in <out>.errors.jsonl); 3 when it completed but
more than --max-error-rate of the records failed (skipped documents and unreadable files), when the model gave NaN or
infinite log-probabilities for any document, or when nothing at all was scored (the outputs are written either way); 1 when it could not run (model missing, output not writable, bad
option); 130 when stopped by a signal (resume it with --resume).

Examples:
  infoprune score data/ --model tiny.gguf --out scores.jsonl
  infoprune score 'shards/*.parquet' --model model.gguf --out scores.parquet --gpu-layers max --context 1024
  infoprune score corpus.jsonl.gz --model model.gguf --out part-2.jsonl --shard 2/8 --resume
`;

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
    )
    .option('--text-field <name>', 'field holding the text (JSONL, Parquet)', READING_DEFAULTS.textField)
    .option(
      '--id-field <name>',
      `field holding the id (default: ${READING_DEFAULTS.idField} when present, else <file>:<line>)`,
    )
    .option('--text-mode <file|line>', 'plain text: one document per file, or one per line', READING_DEFAULTS.textMode)
    .option('--format <auto|jsonl|parquet|text>', 'input format (auto: from file names)', READING_DEFAULTS.format);
  addEngineOptions(command)
    .option(
      '--shard <i/N|auto|auto/N>',
      "score only shard i of N (0-based), partitioned by document position; auto: the launcher's index (Slurm, Kubernetes)",
    )
    .option('--resume', 'continue the interrupted run writing to --out')
    .option(
      '--overwrite',
      "discard an interrupted run's files at --out and start over; replace an --out file infoprune did not write",
    )
    .option(
      '--max-document-bytes <n>',
      'skip (and report) documents larger than this',
      String(READING_DEFAULTS.maxDocumentBytes),
    )
    .option(
      '--word-buckets <n>',
      'buckets of the word-frequency table, a power of two (8 bytes each)',
      String(SCORE_DEFAULTS.wordBuckets),
    )
    .option(
      '--checkpoint-every <seconds>',
      'least time between checkpoints',
      String(SCORE_JOB_DEFAULTS.checkpointIntervalMs / 1000),
    )
    .option(
      '--max-error-rate <share>',
      'exit with status 3 when more than this share of the records failed (0 to 1)',
      String(SCORE_JOB_DEFAULTS.maxErrorRate),
    )
    .option('-q, --quiet', 'no progress and no summary (errors still go to stderr)')
    .option('-v, --verbose', "notes about checkpoints and resuming, and llama.cpp's own log")
    .addHelpText('after', HELP)
    .action(withFlagWording(SCORE_FLAGS, runScore));
}

/** The engine's flags: window, batch, attention, threads, GPU layers and the parsing workers. */
function addEngineOptions(command: Command): Command {
  const engine = SCORER_DEFAULTS;
  return command
    .option(
      '--context <tokens>',
      `tokens per evaluation window (default ${engine.contextSize}, at most the model's training context)`,
    )
    .option('--stride <tokens>', 'sliding-window step for longer documents (default context/2)')
    .option(
      '--batch <tokens>',
      `tokens per llama.cpp decode (default max(context, ${engine.cpuBatchSize}) on CPU, max(context, ${engine.gpuBatchSize}) with --gpu-layers; less for huge vocabularies)`,
    )
    .option('--flash-attention', 'use llama.cpp flash attention (default: off on CPU, on with --gpu-layers)')
    .option('--no-flash-attention', 'do not use flash attention')
    .option(
      '--threads <n>',
      'CPU threads for the engine (default: the usable cores (affinity, cgroup quota) less the --workers; at most the usable cores)',
    )
    .option('--force-threads', 'allow more --threads than usable cores (llama.cpp then runs many times slower)')
    .option('--gpu-layers <n|max>', "layers offloaded to the GPU (0: CPU only; 'max': all)", String(engine.gpuLayers))
    .option(
      '--workers <n>',
      `threads that parse, tokenize and count words (0: on the main thread; default a quarter of the usable cores, ${SCORE_DEFAULTS.minWorkers} to ${SCORE_DEFAULTS.maxWorkers}, 0 on one core)`,
    );
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
