/**
 * The score job's options (on top of the pipeline's, src/pipeline/options.ts): their defaults, the one resolver the
 * job calls before it touches anything, and the checks of what the options name (the model, the output's folder).
 */
import { accessSync, constants, existsSync, mkdirSync, type Stats, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isAutoShard, type ShardSpec, shardFileTag } from '../corpus/shard.js';
import { InfopruneError, InvalidOptionError } from '../errors.js';
import { type ScoreFilePaths, SHARD_PLACEHOLDER, scoreFilePaths, shardScoreFile } from '../scores/files.js';
import { checkReplaceable } from '../scores/output-safety.js';
import type { TrainProgress } from '../train/options.js';
import { usableCores } from '../util/cores.js';
import { expectFunction, expectInteger, expectNumberInRange, expectSignal, expectString } from '../util/validate.js';
import { type ResolvedScoreOptions, resolveScoreOptions, SCORE_DEFAULTS, type ScoreCorpusOptions } from './options.js';
import type { PackingOptions } from './pack.js';
import type { ProbeTrainingOptions } from './probe.js';
import type { ScoreProgress } from './session.js';

/** The job's own defaults (the CLI's help shows these). */
export const SCORE_JOB_DEFAULTS = Object.freeze({
  checkpointIntervalMs: 30_000,
  progressIntervalMs: SCORE_DEFAULTS.progressIntervalMs,
  /**
   * A run in which more than this share of the records failed (skipped documents and unreadable files) is reported as
   * failed (`failures.exceeded`; `infoprune score` exits with status 3). 1 % tolerates the odd malformed line of a
   * web crawl while catching a wrong --text-field or a corrupt shard.
   */
  maxErrorRate: 0.01,
});

export interface ScoreJobOptions extends Omit<ScoreCorpusOptions, 'model'> {
  /** The GGUF model. Without one, a probe is trained on the inputs first (`<out>.probe.gguf`; src/pipeline/probe.ts). */
  model?: string;
  /** Without a model: how the probe is trained (shape, budget, seed, sample). */
  probe?: ProbeTrainingOptions;
  /** Without a model: the probe's training progress. */
  onProbeProgress?: (progress: TrainProgress) => void;
  /** The score file: `.parquet` for Parquet, anything else for JSONL. */
  out: string;
  /** Continue the interrupted run writing to `out`. */
  resume?: boolean;
  /** Discard an interrupted run's files at `out` and start over. */
  overwrite?: boolean;
  /** Least time between checkpoints. Default 30 s. */
  checkpointIntervalMs?: number;
  /** Stop cleanly at the next checkpointable position (then `resume` goes on from there). */
  stopSignal?: AbortSignal;
  onProgress?: (progress: ScoreProgress) => void;
  /** Default 1000. */
  progressIntervalMs?: number;
  /** Notes for the user (resuming at ..., nothing to resume, ...). */
  onNotice?: (message: string) => void;
  /** Override the packing (tests, benchmarks). */
  packing?: Partial<PackingOptions>;
  /** Share of failed records above which the run counts as failed (`failures.exceeded`), 0 to 1. Default 0.01. */
  maxErrorRate?: number;
}

export interface ResolvedJob {
  out: string;
  /** `out` was given as a folder for the shards' files (created when missing: the shards start at once). */
  shardFolder: boolean;
  paths: ScoreFilePaths;
  score: ResolvedScoreOptions;
  resume: boolean;
  overwrite: boolean;
  checkpointIntervalMs: number;
  progressIntervalMs: number;
  stopSignal?: AbortSignal;
  onProgress?: (progress: ScoreProgress) => void;
  notice: (message: string) => void;
  packing?: Partial<PackingOptions>;
  maxErrorRate: number;
}

export function resolveJobOptions(options: ScoreJobOptions): ResolvedJob {
  const given = expectString('out', options.out, { nonEmpty: true });
  // Without a model the run scores with the probe it trains first (src/pipeline/probe.ts), kept beside `out`.
  const model = options.model === undefined ? scoreFilePaths(given).probe : options.model;
  const score = resolveScoreOptions({ ...options, model }, usableCores());
  const out = resolveOut(given, options.shard, score.shard);
  return {
    out,
    shardFolder: out !== given && !given.includes(SHARD_PLACEHOLDER),
    paths: scoreFilePaths(out),
    checkpointIntervalMs:
      options.checkpointIntervalMs === undefined
        ? SCORE_JOB_DEFAULTS.checkpointIntervalMs
        : expectInteger('checkpointIntervalMs', options.checkpointIntervalMs, 0),
    progressIntervalMs:
      options.progressIntervalMs === undefined
        ? SCORE_JOB_DEFAULTS.progressIntervalMs
        : expectInteger('progressIntervalMs', options.progressIntervalMs, 0),
    stopSignal: expectSignal('stopSignal', options.stopSignal),
    onProgress: expectFunction<NonNullable<ScoreJobOptions['onProgress']>>('onProgress', options.onProgress),
    notice: expectFunction<NonNullable<ScoreJobOptions['onNotice']>>('onNotice', options.onNotice) ?? (() => undefined),
    resume: options.resume === true,
    overwrite: options.overwrite === true,
    packing: options.packing,
    maxErrorRate:
      options.maxErrorRate === undefined
        ? SCORE_JOB_DEFAULTS.maxErrorRate
        : expectNumberInRange('maxErrorRate', options.maxErrorRate, 0, 1),
    score,
  };
}

/** A shard's own score file when `out` is a folder or holds `{shard}`; `shard: 'auto'` needs one of them. */
function resolveOut(out: string, given: ScoreJobOptions['shard'], shard: ShardSpec | undefined): string {
  if (shard === undefined) {
    if (out.includes(SHARD_PLACEHOLDER)) {
      throw new InvalidOptionError(
        'out',
        (name) => `${name('out')} holds ${SHARD_PLACEHOLDER} but no ${name('shard')} is given`,
      );
    }
    return out;
  }
  const isFolder = existsSync(out) && statSync(out).isDirectory();
  const perShard = shardScoreFile(out, shardFileTag(shard), isFolder);
  if (perShard !== undefined) return perShard;
  if (isAutoShard(given)) {
    throw new InvalidOptionError(
      'out',
      (name) =>
        `With ${name('shard')} auto every shard is given the same ${name('out')}: make it a folder (ending in /) or put ${SHARD_PLACEHOLDER} in its name`,
    );
  }
  return out;
}

/** The model present: a clear message otherwise. */
export function checkModel({ score: { model } }: ResolvedJob): void {
  let stats: Stats;
  try {
    stats = statSync(model);
  } catch {
    throw new InfopruneError('MODEL_NOT_FOUND', `Model not found: ${model}`);
  }
  if (!stats.isFile()) throw new InfopruneError('MODEL_NOT_FOUND', `Model is not a file: ${model}`);
}

/**
 * The output folder writable (a shard's own folder created), and every file the run writes a regular file or absent:
 * a clear message otherwise.
 */
export function checkOutputFolder({ out, paths, shardFolder }: ResolvedJob): void {
  const folder = dirname(resolve(out));
  if (shardFolder) mkdirSync(folder, { recursive: true });
  const unwritable = (why: string) => new InfopruneError('OUTPUT_NOT_WRITABLE', `Cannot write ${out}: ${why}`);
  if (!existsSync(folder)) throw unwritable(`the folder ${folder} does not exist`);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw unwritable(`the folder ${folder} is not writable`);
  }
  if (existsSync(out) && statSync(out).isDirectory()) throw unwritable('it is a folder');
  for (const path of Object.values(paths)) checkReplaceable(path);
}
