/** The options of `infoprune score`, declared in groups (each group's defaults come from the layer that owns them). */
import type { Command } from 'commander';
import { READING_DEFAULTS } from '../corpus/options.js';
import { SCORER_DEFAULTS } from '../engine/options.js';
import { ANNOTATE_DEFAULTS } from '../pipeline/annotate.js';
import { SCORE_JOB_DEFAULTS } from '../pipeline/job.js';
import { SCORE_DEFAULTS } from '../pipeline/options.js';
import { formatBytes } from '../util/format.js';

export const SCORE_HELP = `
Inputs: files, folders (read recursively, in name order, hidden files left out) and globs (quote them: 'data/*.jsonl.gz').
Formats, told by name unless --format says: JSONL (.jsonl .jsonlines .ndjson .json, plain, .gz or .zst), Parquet
(.parquet, as Hugging Face datasets publish them), plain text (.txt .text .md, optionally .gz or .zst: one document
per file, or per line with --text-mode line). Other files in folders and globs (.xz, .bz2, .csv, ...) are not read,
and each is named on stderr and in the manifest. Compressed data is verified (gzip CRC-32, zstd checksums): the
records of a damaged member or frame, and all after it, are reported with the byte offset where the damage begins,
the records before it are scored; bytes after the last member or frame are reported and ignored (as gzip -d does).
Ids are kept exactly as written, big integers included. The input - is standard input (spooled to a temporary file
under TMPDIR; gzip, zstd and Parquet told by their first bytes, JSONL otherwise), e.g.
  zstdcat shard.jsonl.zst | infoprune score - --model m.gguf --out - | jq .bits_per_token

Outputs, beside --out (--out - writes the score records to standard output when the run completes; the other files
are then not kept, records that failed are listed on stderr, and the run cannot be resumed):
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
  <out>.logprobs.bin    with --token-logprobs: per scored document its token ids (int32) then their log-probabilities
  <out>.logprobs.idx    (float32, NaN for a first token without BOS); the index holds (offset, n) as two int64 per
                        record of <out>, in its order, after a 256-byte header (numpy: np.fromfile(..., offset=256))
  <out>.lock            held while the run writes (a second run with the same --out fails at once); removed at the end
Only regular files are ever replaced (never a device, FIFO or link), and only files infoprune wrote (else
--overwrite); files of the run found among the inputs are left out and reported.

With --annotate <dest>, the inputs are also written back out at the end, each record with its scores under one key
(--annotate-key, default infoprune): {"tokens","nll","bits_per_token","bits_per_byte","word_entropy","model"}, in the
input's format (JSONL keeps every other byte; Parquet gains a JSON column; .gz and .zst stay so). <dest>: a folder/
(one file per input), one file, or - (JSONL on standard output). See infoprune annotate --help.

Exact duplicates (the same text, by content hash) are scored once: later copies reuse the first one's score (the
summary says how many). --cache DIR extends this across runs: scores are kept under DIR by model sha256, context,
stride and flash attention, and any later run with the same setup reuses them.

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

/** Which records are read, and how. */
export function addReadingOptions(command: Command): Command {
  return command
    .option('--text-field <name>', 'field holding the text (JSONL, Parquet)', READING_DEFAULTS.textField)
    .option(
      '--id-field <name>',
      `field holding the id (default: ${READING_DEFAULTS.idField} when present, else <file>:<line>)`,
    )
    .option('--text-mode <file|line>', 'plain text: one document per file, or one per line', READING_DEFAULTS.textMode)
    .option('--format <auto|jsonl|parquet|text>', 'input format (auto: from file names)', READING_DEFAULTS.format);
}

/** The engine: context, batch, threads, GPU, and the parsing workers. */
export function addEngineOptions(command: Command): Command {
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

/** The run: shards, resuming, limits. */
export function addRunOptions(command: Command): Command {
  return command
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
    );
}

/** What is written besides the scores, and when the run counts as failed. */
export function addOutputOptions(command: Command): Command {
  return command
    .option(
      '--token-logprobs',
      'also write every scored token id and its log-probability: <out>.logprobs.bin and .idx (see docs)',
    )
    .option(
      '--annotate <dest>',
      "also write the inputs back out with each record's scores under one key: a folder/ (one file per input), one file, or -",
    )
    .option('--annotate-key <key>', 'the key (JSONL) or column (Parquet) --annotate adds', ANNOTATE_DEFAULTS.key)
    .option(
      '--cache <dir>',
      'remember scores across runs in this folder (by model, context, stride): texts scored before are not scored again',
    )
    .option(
      '--dedup-entries <n>',
      "distinct texts remembered to reuse exact duplicates' scores (0: score every document)",
      String(SCORE_DEFAULTS.dedupEntries),
    )
    .option(
      '--max-error-rate <share>',
      'exit with status 3 when more than this share of the records failed (0 to 1)',
      String(SCORE_JOB_DEFAULTS.maxErrorRate),
    )
    .option('-q, --quiet', 'no progress and no summary (errors still go to stderr)')
    .option('-v, --verbose', "notes about checkpoints and resuming, and llama.cpp's own log");
}
