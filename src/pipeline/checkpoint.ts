/**
 * A scoring run's checkpoints, which make it survive being killed at any instant:
 *
 * - at a window end (see pack.ts) at most every `checkpointIntervalMs`, both append logs are fsynced, the
 *   word-frequency table is saved as `<out>.checkpoint.words-<n>` (only when it changed), and
 *   `<out>.checkpoint.json` is atomically replaced: it records the logs' valid lengths, the read position after the
 *   last saved document, the counts, the table's file and the run's identity;
 * - a resume checks that it continues the same run (same model, options and inputs), cuts the logs back to the
 *   checkpoint's lengths and reads on from its position, so every document is written exactly once;
 * - a finished run's checkpoint says only finalizing is left (src/scores/finalize.ts), which a resume redoes.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { ShardSpec } from '../corpus/shard.js';
import type { ReadPosition } from '../corpus/units.js';
import { InfopruneError } from '../errors.js';
import { type ScoreFileFormat, scoreFilePaths, wordsSnapshotName, wordsSnapshotPrefix } from '../scores/files.js';
import { identityDifference, type ModelIdentity, type RunCounts, type RunIdentity } from '../scores/manifest.js';
import type { WordFrequencyTable } from '../text/word-frequency.js';
import { removeIfPresent, TEMPORARY_NAME, writeFileAtomic } from '../util/files.js';
import type { ExtraLogLengths, RunWriter } from './run-writer.js';

const CHECKPOINT_FORMAT = 'infoprune-score-checkpoint';

/** What decides whether a resume continues the same run. */
export interface RunDescription {
  identity: RunIdentity;
  model: ModelIdentity & { mtimeMs: number };
  sources: string[];
  /** The inputs' modification times when the run started (a resume refuses an input changed since). */
  inputTimes: number[];
  shard: ShardSpec | null;
  scoresFormat: ScoreFileFormat;
  /** What decides which documents are scored and which reuse a duplicate's score, and what is written beside. */
  outputs?: { dedupEntries: number; tokenLogprobs: boolean };
}

export interface Checkpoint extends RunDescription {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  generation: number;
  /** All outcomes are saved: only finalizing (renames, conversion, manifest) is left. */
  finished: boolean;
  position: ReadPosition;
  scoresBytes: number;
  errorsBytes: number;
  /** Lengths of the other logs (first occurrences, token log-probabilities), when the run writes them. */
  extraLogs?: ExtraLogLengths;
  /** The word-frequency table as of this checkpoint, beside the output. */
  wordsFile: string;
  counts: RunCounts;
  startedAt: string;
  activeSeconds: number;
  resumes: number;
}

/** The checkpoint at `out`, if an interrupted run left one. */
export function readCheckpoint(out: string): Checkpoint | undefined {
  const path = scoreFilePaths(out).checkpoint;
  if (!existsSync(path)) return undefined;
  let checkpoint: Checkpoint | undefined;
  try {
    checkpoint = JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
  } catch {
    checkpoint = undefined;
  }
  if (checkpoint?.format !== CHECKPOINT_FORMAT || checkpoint.version !== 1) {
    throw new InfopruneError('SCORES_INVALID', `${path} is not an infoprune checkpoint`);
  }
  return checkpoint;
}

/** Throws RESUME_MISMATCH unless `run` continues the run that wrote `previous`. */
export function checkSameRun(previous: Checkpoint, run: RunDescription, out: string): void {
  const difference = (name: (option: string) => string): string | undefined =>
    identityDifference(previous.identity, run.identity, name) ??
    (JSON.stringify(previous.sources) !== JSON.stringify(run.sources) ? 'inputs named differently' : undefined) ??
    changedInput(previous, run) ??
    (JSON.stringify(previous.shard) !== JSON.stringify(run.shard)
      ? `a different shard (${JSON.stringify(previous.shard)} vs ${JSON.stringify(run.shard)})`
      : undefined) ??
    (previous.scoresFormat !== run.scoresFormat
      ? `a different output format (${previous.scoresFormat} vs ${run.scoresFormat})`
      : undefined) ??
    (JSON.stringify(previous.outputs ?? null) !== JSON.stringify(run.outputs ?? null)
      ? `other ${name('dedupEntries')} or ${name('tokenLogprobs')} (${JSON.stringify(previous.outputs ?? null)} vs ${JSON.stringify(run.outputs ?? null)})`
      : undefined);
  if (difference((option) => option) === undefined) return;
  throw new InfopruneError(
    'RESUME_MISMATCH',
    (name) =>
      `Cannot resume ${out}: the interrupted run used ${difference(name)}. Resume with the same inputs and options, or start over with ${name('overwrite')}`,
  );
}

/** The first input modified since the interrupted run started, in words. */
function changedInput(previous: Checkpoint, run: RunDescription): string | undefined {
  const at = (ms: number | undefined) => (ms === undefined ? 'an unrecorded time' : new Date(ms).toISOString());
  for (let i = 0; i < run.inputTimes.length; i++) {
    if (previous.inputTimes?.[i] === run.inputTimes[i]) continue;
    const key = run.identity.inputs[i].key;
    return `a changed input (${key}: modified at ${at(previous.inputTimes?.[i])}, now at ${at(run.inputTimes[i])})`;
  }
  return undefined;
}

/** Writes the run's checkpoints, and keeps what they carry from one session of the run to the next. */
export class Checkpoints {
  readonly startedAt: string;
  readonly resumes: number;
  private generation: number;
  private readonly activeSecondsBefore: number;
  private readonly sessionStart = performance.now();
  private wordsFile: string | undefined;
  private wordsTotal: number;

  constructor(
    private readonly out: string,
    private readonly run: RunDescription,
    table: WordFrequencyTable,
    previous?: Checkpoint,
  ) {
    this.generation = previous?.generation ?? 0;
    this.startedAt = previous?.startedAt ?? new Date().toISOString();
    this.activeSecondsBefore = previous?.activeSeconds ?? 0;
    this.resumes = previous ? previous.resumes + 1 : 0;
    this.wordsFile = previous?.wordsFile;
    this.wordsTotal = table.total;
  }

  /** Seconds spent scoring over every session of the run. */
  activeSeconds(): number {
    return this.activeSecondsBefore + (performance.now() - this.sessionStart) / 1000;
  }

  /** Makes the logs durable up to here and records `position` as where a resume starts. */
  save(position: ReadPosition, finished: boolean, logs: RunWriter, counts: RunCounts, table: WordFrequencyTable): void {
    logs.sync();
    this.generation++;
    // The table is saved only when it changed (it is 8 bytes per bucket: 32 MiB by default).
    const oldWordsFile = this.wordsFile;
    let wordsFile = oldWordsFile;
    if (wordsFile === undefined || table.total !== this.wordsTotal) {
      wordsFile = wordsSnapshotName(this.out, this.generation);
      writeFileAtomic(this.besideOut(wordsFile), table.toBuffer(), { durable: true });
    }
    const checkpoint: Checkpoint = {
      format: CHECKPOINT_FORMAT,
      version: 1,
      generation: this.generation,
      finished,
      position,
      scoresBytes: logs.scores.length,
      errorsBytes: logs.errors.length,
      extraLogs: logs.extraLengths(),
      wordsFile,
      counts: { ...counts },
      identity: this.run.identity,
      model: this.run.model,
      sources: this.run.sources,
      inputTimes: this.run.inputTimes,
      shard: this.run.shard,
      scoresFormat: this.run.scoresFormat,
      outputs: this.run.outputs,
      startedAt: this.startedAt,
      activeSeconds: this.activeSeconds(),
      resumes: this.resumes,
    };
    writeFileAtomic(scoreFilePaths(this.out).checkpoint, `${JSON.stringify(checkpoint, null, 1)}\n`, { durable: true });
    if (oldWordsFile !== undefined && oldWordsFile !== wordsFile) removeIfPresent(this.besideOut(oldWordsFile));
    this.wordsFile = wordsFile;
    this.wordsTotal = table.total;
  }

  /** Once the run is finalized: the checkpoint and its word table. */
  remove(): void {
    removeIfPresent(scoreFilePaths(this.out).checkpoint);
    if (this.wordsFile) removeIfPresent(this.besideOut(this.wordsFile));
  }

  private besideOut(name: string): string {
    return resolve(dirname(this.out), name);
  }
}

/** The word table a checkpoint saved, beside the output. */
export function checkpointWordsPath(out: string, checkpoint: Checkpoint): string {
  return resolve(dirname(out), checkpoint.wordsFile);
}

/**
 * What a crash can leave beside the output: word snapshots never referenced by a checkpoint (or superseded), and
 * temporary files of atomic writes that never got renamed.
 */
export function removeStaleFiles(out: string, keep: string | undefined): void {
  const snapshot = wordsSnapshotPrefix(out);
  const own = `${basename(out)}.`;
  for (const name of readdirSync(dirname(resolve(out)))) {
    const stale = (name.startsWith(snapshot) && name !== keep) || (name.startsWith(own) && TEMPORARY_NAME.test(name));
    if (stale) removeIfPresent(resolve(dirname(out), name));
  }
}

/** Everything an interrupted run left (for `overwrite`); final outputs of an earlier complete run stay until replaced. */
export function removeRunState(out: string): void {
  const paths = scoreFilePaths(out);
  removeIfPresent(paths.checkpoint);
  removeIfPresent(paths.partialScores);
  removeIfPresent(paths.partialErrors);
  removeIfPresent(paths.partialDedup);
  removeIfPresent(paths.partialTokenLogprobs);
  removeIfPresent(paths.partialTokenIndex);
  removeStaleFiles(out, undefined);
}
