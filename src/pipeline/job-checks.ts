/**
 * What a score job checks before it runs, and how it says it stopped: the model file and the output paths (every
 * one a regular file or absent, and replaced only when infoprune wrote it), the model's identity (hashed while the
 * model loads, stopped at once on a failure), and a model file that changed under the run.
 */
import { accessSync, constants, existsSync, mkdirSync, type Stats, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InfopruneError } from '../errors.js';
import type { ScoreFilePaths } from '../scores/files.js';
import { readManifest } from '../scores/manifest.js';
import { checkReplaceable } from '../scores/output-safety.js';
import { sha256File } from '../util/hash.js';
import type { Checkpoint, RunDescription } from './checkpoint.js';

/** The paths a job writes, and the model it reads. */
export interface JobPaths {
  score: { model: string };
  out: string;
  paths: ScoreFilePaths;
  /** `out` is a shard's file in a folder the job creates. */
  shardFolder: boolean;
}

/** The model present, the output folder writable, every file the run writes a regular file or absent. */
export function checkCanRun({ score: { model }, out, paths, shardFolder }: JobPaths): void {
  let stats: Stats;
  try {
    stats = statSync(model);
  } catch {
    throw new InfopruneError('MODEL_NOT_FOUND', `Model not found: ${model}`);
  }
  if (!stats.isFile()) throw new InfopruneError('MODEL_NOT_FOUND', `Model is not a file: ${model}`);
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

/**
 * A fresh run replaces the outputs at `out` only when infoprune wrote them (a valid manifest beside them says so) or
 * when asked to (`overwrite`): a user's own file given as `--out` by mistake is refused.
 */
export function checkOwnOutputs({
  out,
  paths,
  overwrite,
}: Omit<JobPaths, 'score' | 'shardFolder'> & { overwrite: boolean }): void {
  if (overwrite) return;
  const present = [paths.scores, paths.errors, paths.words, paths.manifest].filter((path) => existsSync(path));
  if (present.length === 0) return;
  try {
    readManifest(out);
    return;
  } catch {
    throw new InfopruneError(
      'OUTPUT_EXISTS',
      (name) =>
        `${present[0]} exists and was not written by infoprune score (no valid ${paths.manifest} beside it): pass ${name('overwrite')} to replace it, or choose another ${name('out')}`,
    );
  }
}

/** The model's size, time and sha256: hashed while the model loads (seconds for a large file), or reused on resume. */
export async function identifyModel(
  path: string,
  previous: Checkpoint | undefined,
  signal: AbortSignal,
): Promise<RunDescription['model']> {
  const stats = statSync(path);
  const unchanged = previous && previous.model.sizeBytes === stats.size && previous.model.mtimeMs === stats.mtimeMs;
  const sha256 = unchanged ? previous.model.sha256 : await sha256File(path, signal);
  return { path, sizeBytes: stats.size, sha256, mtimeMs: stats.mtimeMs };
}

/** A model file that changed under the run: the run stopped, and its last checkpoint is where a resume goes on. */
export function stoppedAtCheckpoint(error: unknown): unknown {
  if (!(error instanceof InfopruneError) || error.code !== 'MODEL_CHANGED') return error;
  return new InfopruneError(
    'MODEL_CHANGED',
    (name) =>
      `${error.message}. The run stopped at its last checkpoint, which is intact: once the model file is whole ` +
      `again, run the same command with ${name('resume')} to go on from there`,
    { cause: error },
  );
}
