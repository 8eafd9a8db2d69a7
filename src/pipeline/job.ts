/**
 * Step 5, the writer: `runScoreJob` (behind `infoprune score`) writes the outcomes, in input order, to files that
 * survive being killed at any instant:
 *
 * - records go to the append log `<out>.partial.jsonl`, bad positions to `<out>.errors.jsonl.partial`;
 * - at a window end (see pack.ts) at most every `checkpointIntervalMs`, both logs are fsynced, the word-frequency
 *   table is saved as `<out>.checkpoint.words-<n>`, and `<out>.checkpoint.json` is atomically replaced: it records
 *   the logs' valid lengths, the read position after the last saved document, the counts and the table's file;
 * - `--resume` cuts the logs back to the checkpoint's lengths and reads on from its position, so every document is
 *   written exactly once, and (windows being cut the same way) with the same values as an uninterrupted run;
 * - at the end, the final files are put in place by renames (JSONL) or a conversion (Parquet), the manifest last.
 */
import {
  accessSync,
  constants,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  type Stats,
  statSync,
} from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { WordFrequencyTable } from '../text/word-frequency.js';
import { expectInteger, expectString, invalidParameterError } from '../validate.js';
import { AppendLog, removeIfPresent, writeFileDurably } from './durable.js';
import {
  bosPolicy,
  identityDifference,
  infopruneVersion,
  llamaCppVersion,
  type ModelIdentity,
  manifestPath,
  type RunIdentity,
  runIdentity,
  type ScoreManifest,
  sha256File,
} from './manifest.js';
import type { ScoreCorpusOptions } from './options.js';
import type { PackingOptions } from './pack.js';
import { countWordBuckets } from './prepare.js';
import { scoreFileFormat, scoreRecordLine, writeParquetFromJsonl } from './score-files.js';
import { type RunCounts, type ScoreProgress, ScoreSession, type SkippedRecord } from './session.js';
import { type ReadPosition, START_POSITION } from './units.js';

export interface ScoreJobOptions extends ScoreCorpusOptions {
  /** The score file: `.parquet` for Parquet, anything else for JSONL. */
  out: string;
  /** Continue the interrupted run writing to `out`. */
  resume?: boolean;
  /** Discard an interrupted run's files at `out` and start over. */
  overwrite?: boolean;
  /** Least time between checkpoints. Default 30 s. */
  checkpointIntervalMs?: number;
  /** Stop cleanly at the next checkpointable position (then `--resume` goes on from there). */
  stopSignal?: AbortSignal;
  onProgress?: (progress: ScoreProgress) => void;
  /** Default 1000. */
  progressIntervalMs?: number;
  /** Notes for the user (resuming at ..., nothing to resume, ...). */
  onNotice?: (message: string) => void;
  /** Override the packing (tests, benchmarks). */
  packing?: Partial<PackingOptions>;
}

export interface ScoreJobSummary {
  /** `completed`: all outputs written. `stopped`: stopped on request after a checkpoint (resume to finish). */
  status: 'completed' | 'stopped';
  /** The run was already complete when `--resume` was asked for: nothing was done. */
  alreadyComplete: boolean;
  counts: RunCounts;
  /** This session's seconds, and its scored tokens per second. */
  seconds: number;
  tokensPerSecond: number;
  resumedFrom?: ReadPosition;
  outputs: OutputPaths;
}

export interface OutputPaths {
  scores: string;
  errors: string;
  words: string;
  manifest: string;
  partialScores: string;
  partialErrors: string;
  checkpoint: string;
}

export function outputPaths(out: string): OutputPaths {
  return {
    scores: out,
    errors: `${out}.errors.jsonl`,
    words: `${out}.words.bin`,
    manifest: manifestPath(out),
    partialScores: `${out}.partial.jsonl`,
    partialErrors: `${out}.errors.jsonl.partial`,
    checkpoint: `${out}.checkpoint.json`,
  };
}

const CHECKPOINT_FORMAT = 'infoprune-score-checkpoint';

interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  generation: number;
  /** All outcomes are saved: only finalizing (renames, conversion, manifest) is left. */
  finished: boolean;
  position: ReadPosition;
  scoresBytes: number;
  errorsBytes: number;
  /** The word-frequency table as of this checkpoint, beside the output. */
  wordsFile: string;
  counts: RunCounts;
  identity: RunIdentity;
  model: ModelIdentity & { mtimeMs: number };
  sources: string[];
  shard: { index: number; count: number } | null;
  scoresFormat: string;
  startedAt: string;
  activeSeconds: number;
  resumes: number;
}

function errorLine(skipped: SkippedRecord): string {
  return `${JSON.stringify({ source: skipped.source, line: skipped.line, reason: skipped.reason })}\n`;
}

function readCheckpoint(path: string): Checkpoint | undefined {
  if (!existsSync(path)) return undefined;
  const checkpoint = JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
  if (checkpoint.format !== CHECKPOINT_FORMAT || checkpoint.version !== 1)
    throw new Error(`${path} is not an infoprune checkpoint`);
  return checkpoint;
}

/** Whether a path is one of the run's own files (`out` or `out.<anything>`): never read as input. */
function ownOutput(out: string): (absolutePath: string) => boolean {
  const base = resolve(out);
  return (path) => path === base || path.startsWith(`${base}.`);
}

/** Checks that the run can start: model present, output folder writable. Throws a clear message otherwise. */
function checkCanRun(model: string, out: string): void {
  let stats: Stats;
  try {
    stats = statSync(model);
  } catch {
    throw new Error(`Model not found: ${model}`);
  }
  if (!stats.isFile()) throw new Error(`Model is not a file: ${model}`);
  const folder = dirname(resolve(out));
  if (!existsSync(folder)) throw new Error(`Cannot write ${out}: the folder ${folder} does not exist`);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new Error(`Cannot write ${out}: the folder ${folder} is not writable`);
  }
  if (existsSync(out) && statSync(out).isDirectory()) throw new Error(`Cannot write ${out}: it is a folder`);
}

export async function runScoreJob(options: ScoreJobOptions): Promise<ScoreJobSummary> {
  const out = expectString('out', options.out, { nonEmpty: true });
  const checkpointIntervalMs =
    options.checkpointIntervalMs === undefined
      ? 30_000
      : expectInteger('checkpointIntervalMs', options.checkpointIntervalMs, 0);
  const progressIntervalMs =
    options.progressIntervalMs === undefined
      ? 1000
      : expectInteger('progressIntervalMs', options.progressIntervalMs, 0);
  if (options.stopSignal !== undefined && !(options.stopSignal instanceof AbortSignal))
    throw invalidParameterError('stopSignal', 'AbortSignal', options.stopSignal);
  const paths = outputPaths(out);
  const notice = options.onNotice ?? (() => undefined);
  expectString('model', options.model, { nonEmpty: true });
  checkCanRun(options.model, out);

  let previous = readCheckpoint(paths.checkpoint);
  if (previous && !options.resume && !options.overwrite) {
    throw new Error(
      `An interrupted run left ${paths.checkpoint}: pass --resume to continue it, or --overwrite to discard it and start over`,
    );
  }
  if (previous && options.overwrite && !options.resume) {
    removeRunState(paths, out);
    previous = undefined;
  }
  if (!previous && options.resume) {
    if (existsSync(paths.manifest) && existsSync(paths.scores)) {
      notice(`${out} is already complete (see ${paths.manifest}): nothing to resume`);
      const manifest = JSON.parse(readFileSync(paths.manifest, 'utf8')) as ScoreManifest;
      return {
        status: 'completed',
        alreadyComplete: true,
        counts: manifest.counts,
        seconds: 0,
        tokensPerSecond: 0,
        outputs: paths,
      };
    }
    notice(`No checkpoint at ${paths.checkpoint}: starting from the beginning`);
  }

  // The model's sha256 is computed while the model loads (a multi-GB file takes seconds), or reused on resume.
  const modelStats = statSync(options.model);
  const sha256 =
    previous && previous.model.sizeBytes === modelStats.size && previous.model.mtimeMs === modelStats.mtimeMs
      ? Promise.resolve(previous.model.sha256)
      : sha256File(options.model);
  sha256.catch(() => undefined);
  const session = await ScoreSession.open(options, { exclude: ownOutput(out), packing: options.packing });
  let scores: AppendLog | undefined;
  let errors: AppendLog | undefined;
  try {
    const model: ModelIdentity & { mtimeMs: number } = {
      path: options.model,
      sizeBytes: modelStats.size,
      sha256: await sha256,
      mtimeMs: modelStats.mtimeMs,
    };
    const reading = session.options.reading;
    const identity = runIdentity(model, session.scorer, reading, session.options.wordBuckets, session.inputs);
    const shard = session.options.shard ?? null;
    const sources = session.inputs.map((input) => input.source);
    const scoresFormat = scoreFileFormat(out);
    if (previous) {
      const difference =
        identityDifference(previous.identity, identity) ??
        (JSON.stringify(previous.sources) !== JSON.stringify(sources) ? 'inputs named differently' : undefined) ??
        (JSON.stringify(previous.shard) !== JSON.stringify(shard)
          ? `a different shard (${JSON.stringify(previous.shard)} vs ${JSON.stringify(shard)})`
          : undefined) ??
        (previous.scoresFormat !== scoresFormat
          ? `a different output format (${previous.scoresFormat} vs ${scoresFormat})`
          : undefined);
      if (difference) {
        throw new Error(
          `Cannot resume ${out}: the interrupted run used ${difference}. Resume with the same inputs and options, or start over with --overwrite`,
        );
      }
    }

    const table = previous
      ? WordFrequencyTable.load(resolve(dirname(out), previous.wordsFile))
      : new WordFrequencyTable(session.options.wordBuckets);
    const from = previous?.position ?? START_POSITION;
    const state = {
      generation: previous?.generation ?? 0,
      startedAt: previous?.startedAt ?? new Date().toISOString(),
      activeSecondsBefore: previous?.activeSeconds ?? 0,
      resumes: previous ? previous.resumes + 1 : 0,
      wordsFile: previous?.wordsFile,
      wordsTotal: table.total,
    };
    const sessionStart = performance.now();
    const activeSeconds = () => state.activeSecondsBefore + (performance.now() - sessionStart) / 1000;

    const writeCheckpoint = (position: ReadPosition, finished: boolean): void => {
      scores!.sync();
      errors!.sync();
      state.generation++;
      // The table is saved only when it changed (it is 8 bytes per bucket: 32 MiB by default).
      let wordsFile = state.wordsFile;
      const oldWordsFile = wordsFile;
      if (wordsFile === undefined || table.total !== state.wordsTotal) {
        wordsFile = `${basename(out)}.checkpoint.words-${state.generation}`;
        writeFileDurably(resolve(dirname(out), wordsFile), table.toBuffer());
      }
      const checkpoint: Checkpoint = {
        format: CHECKPOINT_FORMAT,
        version: 1,
        generation: state.generation,
        finished,
        position,
        scoresBytes: scores!.length,
        errorsBytes: errors!.length,
        wordsFile,
        counts: { ...session.counts },
        identity,
        model,
        sources,
        shard,
        scoresFormat,
        startedAt: state.startedAt,
        activeSeconds: activeSeconds(),
        resumes: state.resumes,
      };
      writeFileDurably(paths.checkpoint, `${JSON.stringify(checkpoint, null, 1)}\n`);
      if (oldWordsFile !== undefined && oldWordsFile !== wordsFile)
        removeIfPresent(resolve(dirname(out), oldWordsFile));
      state.wordsFile = wordsFile;
      state.wordsTotal = table.total;
    };

    if (previous) {
      if (!previous.finished) {
        scores = AppendLog.reopen(paths.partialScores, previous.scoresBytes);
        errors = AppendLog.reopen(paths.partialErrors, previous.errorsBytes);
      }
      session.restoreCounts(previous.counts, from);
      removeStaleWordSnapshots(out, previous.wordsFile);
      if (!previous.finished)
        notice(
          `Resuming ${out} after ${previous.counts.read} documents (${sources[from.input] ?? 'end'}, position ${from.units})`,
        );
    } else {
      removeStaleWordSnapshots(out, undefined);
      scores = AppendLog.create(paths.partialScores);
      errors = AppendLog.create(paths.partialErrors);
      writeCheckpoint(START_POSITION, false);
    }

    if (scores && errors) {
      let lastCheckpoint = performance.now();
      let lastProgress = performance.now();
      let position = from;
      let stopped = false;
      for await (const outcome of session.outcomes(from)) {
        if (outcome.kind === 'scored') {
          scores.append(scoreRecordLine(outcome.record));
          countWordBuckets(table, outcome.wordBuckets);
        } else {
          errors.append(errorLine(outcome.skipped));
        }
        if (outcome.windowEnd) {
          position = outcome.next;
          const stopping = options.stopSignal?.aborted === true;
          if (stopping || performance.now() - lastCheckpoint >= checkpointIntervalMs) {
            writeCheckpoint(position, false);
            lastCheckpoint = performance.now();
          }
          if (stopping) {
            stopped = true;
            break;
          }
        }
        if (options.onProgress && performance.now() - lastProgress >= progressIntervalMs) {
          lastProgress = performance.now();
          options.onProgress(session.progress());
        }
      }
      if (stopped) {
        options.onProgress?.(session.progress());
        const progress = session.progress();
        return {
          status: 'stopped',
          alreadyComplete: false,
          counts: progress.counts,
          seconds: progress.elapsedSeconds,
          tokensPerSecond: progress.tokensPerSecond,
          resumedFrom: previous ? from : undefined,
          outputs: paths,
        };
      }
      writeCheckpoint({ input: session.inputs.length, units: 0, offset: 0 }, true);
    }
    options.onProgress?.(session.progress());
    scores?.close();
    errors?.close();
    scores = undefined;
    errors = undefined;

    // Finalizing: each step can be redone (a resume of a finished checkpoint repeats what a crash left undone).
    table.save(paths.words);
    if (existsSync(paths.partialErrors)) renameSync(paths.partialErrors, paths.errors);
    if (existsSync(paths.partialScores)) {
      if (scoresFormat === 'parquet') {
        const temporary = `${out}.tmp-${process.pid}`;
        await writeParquetFromJsonl(paths.partialScores, temporary);
        renameSync(temporary, out);
        removeIfPresent(paths.partialScores);
      } else renameSync(paths.partialScores, out);
    }
    const scorer = session.scorer;
    const manifest: ScoreManifest = {
      format: 'infoprune-score-manifest',
      version: 1,
      infoprune: infopruneVersion(),
      llamaCpp: llamaCppVersion(),
      model: {
        path: model.path,
        sizeBytes: model.sizeBytes,
        sha256: model.sha256,
        architecture: scorer.model.architecture,
        description: scorer.model.description,
        vocabularySize: scorer.model.vocabularySize,
        trainingContextSize: scorer.model.trainingContextSize,
        parameterCount: scorer.model.parameterCount,
        addsBos: scorer.model.addsBos,
        bosToken: scorer.model.bosToken,
      },
      scoring: {
        contextSize: scorer.options.contextSize,
        stride: scorer.options.stride,
        batchSize: scorer.options.batchSize,
        flashAttention: scorer.options.flashAttention,
        maxSequences: scorer.options.maxSequences,
        threads: scorer.options.threads,
        gpuLayers: scorer.options.gpuLayers,
        bosPolicy: bosPolicy(scorer.model.addsBos),
      },
      reading,
      wordFrequency: { buckets: table.buckets, hash: 'fnv1a32', file: basename(paths.words) },
      inputs: session.inputs.map(({ source, key, format, compression, sizeBytes }) => ({
        source,
        key,
        format,
        compression,
        sizeBytes,
      })),
      shard,
      outputs: { scores: basename(out), scoresFormat, words: basename(paths.words), errors: basename(paths.errors) },
      counts: { ...session.counts },
      startedAt: state.startedAt,
      finishedAt: new Date().toISOString(),
      activeSeconds: activeSeconds(),
      resumes: state.resumes,
    };
    writeFileDurably(paths.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
    removeIfPresent(paths.checkpoint);
    if (state.wordsFile) removeIfPresent(resolve(dirname(out), state.wordsFile));
    const progress = session.progress();
    return {
      status: 'completed',
      alreadyComplete: false,
      counts: { ...session.counts },
      seconds: progress.elapsedSeconds,
      tokensPerSecond: progress.tokensPerSecond,
      resumedFrom: previous ? from : undefined,
      outputs: paths,
    };
  } finally {
    scores?.close();
    errors?.close();
    await session.close();
  }
}

/**
 * What a crash can leave beside the output: word snapshots never referenced by a checkpoint (or superseded), and
 * temporary files of atomic writes that never got renamed.
 */
function removeStaleWordSnapshots(out: string, keep: string | undefined): void {
  const snapshot = `${basename(out)}.checkpoint.words-`;
  const own = `${basename(out)}.`;
  for (const name of readdirSync(dirname(resolve(out)))) {
    const stale = (name.startsWith(snapshot) && name !== keep) || (name.startsWith(own) && /\.tmp-\d+$/.test(name));
    if (stale) removeIfPresent(resolve(dirname(out), name));
  }
}

/** Everything an interrupted run left (for --overwrite); final outputs of an earlier complete run stay until replaced. */
function removeRunState(paths: OutputPaths, out: string): void {
  removeIfPresent(paths.checkpoint);
  removeIfPresent(paths.partialScores);
  removeIfPresent(paths.partialErrors);
  removeStaleWordSnapshots(out, undefined);
}
