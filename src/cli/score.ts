/** `infoprune score`: the command-line face of `runScoreJob` (src/pipeline/job.ts). */
import type { Command } from 'commander';
import { runScoreJob, type ScoreJobOptions } from '../pipeline/job.js';
import { DEFAULT_MAX_DOCUMENT_BYTES } from '../pipeline/options.js';
import { formatCount, formatCounts, formatDuration, ProgressReporter } from '../pipeline/progress.js';
import { WordFrequencyTable } from '../text/word-frequency.js';
import { expectInteger, expectOneOf, expectPositiveInteger, invalidParameterError } from '../validate.js';

interface ScoreFlags {
  model: string;
  out: string;
  textField?: string;
  idField?: string;
  textMode?: string;
  format?: string;
  context?: string;
  stride?: string;
  batch?: string;
  threads?: string;
  gpuLayers?: string;
  flashAttention?: boolean;
  workers?: string;
  shard?: string;
  resume?: boolean;
  overwrite?: boolean;
  maxDocumentBytes?: string;
  wordBuckets?: string;
  checkpointEvery?: string;
  quiet?: boolean;
  verbose?: boolean;
}

/** A numeric option's text as a number when it is one, else unchanged (so the validator names the bad value). */
function numeric(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : text;
}

/** Validates the flags under their command-line names, then maps them to the job's options. */
export function scoreOptionsFromFlags(inputs: string[], flags: ScoreFlags): ScoreJobOptions {
  const optional = <T>(value: string | undefined, check: (value: unknown) => T): T | undefined =>
    value === undefined ? undefined : check(numeric(value));
  const gpuLayers =
    flags.gpuLayers === 'max' ? 'max' : optional(flags.gpuLayers, (v) => expectInteger('gpu-layers', v, 0));
  const checkpointEvery = optional(flags.checkpointEvery, (v) => expectInteger('checkpoint-every', v, 0));
  return {
    inputs,
    model: flags.model,
    out: flags.out,
    textField: flags.textField,
    idField: flags.idField,
    textMode:
      flags.textMode === undefined ? undefined : expectOneOf('text-mode', flags.textMode, ['file', 'line'] as const),
    format:
      flags.format === undefined
        ? undefined
        : expectOneOf('format', flags.format, ['auto', 'jsonl', 'parquet', 'text'] as const),
    contextSize: optional(flags.context, (v) => expectInteger('context', v, 2)),
    stride: optional(flags.stride, (v) => expectPositiveInteger('stride', v)),
    batchSize: optional(flags.batch, (v) => expectPositiveInteger('batch', v)),
    threads: optional(flags.threads, (v) => expectPositiveInteger('threads', v, 1024)),
    gpuLayers,
    flashAttention: flags.flashAttention,
    workers: optional(flags.workers, (v) => expectInteger('workers', v, 0, 256)),
    shard: flags.shard,
    resume: flags.resume ?? false,
    overwrite: flags.overwrite ?? false,
    maxDocumentBytes: optional(flags.maxDocumentBytes, (v) => expectPositiveInteger('max-document-bytes', v)),
    wordBuckets: optional(flags.wordBuckets, (v) => {
      const buckets = expectPositiveInteger('word-buckets', v, 2 ** 30);
      if ((buckets & (buckets - 1)) !== 0) throw invalidParameterError('word-buckets', 'power of two', v);
      return buckets;
    }),
    checkpointIntervalMs: checkpointEvery === undefined ? undefined : checkpointEvery * 1000,
    verbose: flags.verbose ?? false,
  };
}

const HELP = `
Inputs: files, folders (read recursively, in name order, hidden files left out) and globs (quote them: 'data/*.jsonl.gz').
Formats, told by name unless --format says: JSONL (.jsonl .ndjson .json, plain, .gz or .zst), Parquet (.parquet, as
Hugging Face datasets publish them), plain text (.txt .text .md, optionally .gz or .zst: one document per file, or
per line with --text-mode line).

Outputs, beside --out:
  <out>                 one score record per document, in input order: id, source, line (1-based line, 0-based
                        Parquet row, 0 for a whole text file), tokens, nll (nats), bytes, bits_per_token,
                        bits_per_byte, perplexity, words. JSONL, or Parquet with the same columns when <out> ends in .parquet
  <out>.errors.jsonl    {"source","line","reason"} for every record that could not be scored, and for unreadable,
                        truncated or corrupt files; the summary states read = scored + skipped
  <out>.words.bin       the corpus word-frequency table (for the ranking's H(W,f)): words are hashed into
                        --word-buckets counters, so its memory and size (32 MiB by default) do not grow with the corpus
  <out>.manifest.json   model (path, size, sha256, architecture, vocabulary), context, stride, BOS policy, versions,
                        inputs with sizes, counts, start and end times. Written last: it marks a complete run

Interruptions: outputs are written as an append log with a checkpoint every --checkpoint-every seconds. After a crash
or kill -9, run the same command with --resume: no document is lost or written twice, and the output is the same as
an uninterrupted run's. Ctrl-C or SIGTERM stops at the next checkpoint (exit code 130); --resume goes on from there.

Sharding over N GPUs or machines: run the same command with --shard 0/N ... --shard N-1/N (each its own --out), then
infoprune merge (see docs/sharding.md for Slurm arrays and Kubernetes Indexed Jobs).

Exit codes: 0 when the run completed (skipped records are reported, not fatal); 1 when it could not run (model
missing, output not writable, bad option); 130 when stopped by a signal (resume it with --resume).

Examples:
  infoprune score data/ --model tiny.gguf --out scores.jsonl
  infoprune score 'shards/*.parquet' --model model.gguf --out scores.parquet --gpu-layers max --context 1024
  infoprune score corpus.jsonl.gz --model model.gguf --out part-2.jsonl --shard 2/8 --resume
`;

export function registerScoreCommand(program: Command): void {
  program
    .command('score')
    .summary('score every document of a corpus with a GGUF model (negative log-likelihood)')
    .description(
      'Stream a corpus through the scoring engine: one score record per document, in input order, with memory that does ' +
        'not grow with the corpus, resumable after any interruption.',
    )
    .argument('<inputs...>', 'files, folders and globs')
    .requiredOption('-m, --model <file.gguf>', 'the GGUF model to score with')
    .requiredOption('-o, --out <file>', 'the score file: scores.jsonl, or scores.parquet for Parquet')
    .option('--text-field <name>', 'field holding the text (JSONL, Parquet)', 'text')
    .option('--id-field <name>', 'field holding the id (default: id when present, else <file>:<line>)')
    .option('--text-mode <file|line>', 'plain text: one document per file, or one per line', 'file')
    .option('--format <auto|jsonl|parquet|text>', 'input format (auto: from file names)', 'auto')
    .option('--context <tokens>', "tokens per evaluation window (default 512, at most the model's training context)")
    .option('--stride <tokens>', 'sliding-window step for longer documents (default context/2)')
    .option(
      '--batch <tokens>',
      'tokens per llama.cpp decode (default max(context, 512) on CPU, max(context, 2048) with --gpu-layers; less for huge vocabularies)',
    )
    .option('--flash-attention', 'use llama.cpp flash attention (default: off on CPU, on with --gpu-layers)')
    .option('--no-flash-attention', 'do not use flash attention')
    .option('--threads <n>', "CPU threads for the engine (default: the machine's cores)")
    .option('--gpu-layers <n|max>', "layers offloaded to the GPU (0: CPU only; 'max': all)", '0')
    .option(
      '--workers <n>',
      'threads that parse, tokenize and count words (0: on the main thread; default cores-1, 1 to 8)',
    )
    .option('--shard <i/N>', 'score only shard i of N (0-based), partitioned by document position')
    .option('--resume', 'continue the interrupted run writing to --out')
    .option('--overwrite', "discard an interrupted run's files at --out and start over")
    .option(
      '--max-document-bytes <n>',
      'skip (and report) documents larger than this',
      String(DEFAULT_MAX_DOCUMENT_BYTES),
    )
    .option(
      '--word-buckets <n>',
      'buckets of the word-frequency table, a power of two (8 bytes each)',
      String(WordFrequencyTable.DEFAULT_BUCKETS),
    )
    .option('--checkpoint-every <seconds>', 'least time between checkpoints', '30')
    .option('-q, --quiet', 'no progress and no summary (errors still go to stderr)')
    .option('-v, --verbose', "notes about checkpoints and resuming, and llama.cpp's own log")
    .addHelpText('after', HELP)
    .action(async (inputs: string[], flags: ScoreFlags) => {
      const options = scoreOptionsFromFlags(inputs, flags);
      const reporter = new ProgressReporter(ProgressReporter.modeFor(process.stderr, flags.quiet ?? false));
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
          onNotice: (message) => reporter.notice(message),
        });
        reporter.stop();
        if (summary.alreadyComplete) return;
        const { counts } = summary;
        if (summary.status === 'stopped') {
          process.stderr.write(
            `infoprune score: stopped after ${formatCounts(counts)}; run the same command with --resume to finish\n`,
          );
          process.exitCode = 130;
          return;
        }
        if (!flags.quiet) {
          const skipped = counts.skipped + counts.fileErrors > 0 ? `; see ${summary.outputs.errors}` : '';
          process.stderr.write(
            `infoprune score: ${formatCounts(counts)}${skipped}. ${formatCount(counts.tokens)} tokens in ${formatDuration(summary.seconds)} ` +
              `(${formatCount(summary.tokensPerSecond)} tokens/s) → ${summary.outputs.scores}\n`,
          );
        }
      } catch (error) {
        reporter.stop();
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
    });
}
