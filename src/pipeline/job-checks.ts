/**
 * What a score job checks before it runs, and how it says it stopped: the outputs at `out` replaced only when
 * infoprune wrote them, the model's identity (hashed while the model loads, stopped at once on a failure), and a
 * model file that changed under the run.
 */
import { existsSync, statSync } from 'node:fs';
import { InfopruneError } from '../errors.js';
import type { ScoreFilePaths } from '../scores/files.js';
import { readManifest } from '../scores/manifest.js';
import { sha256File } from '../util/hash.js';
import type { Checkpoint, RunDescription } from './checkpoint.js';

/**
 * A fresh run replaces the outputs at `out` only when infoprune wrote them (a valid manifest beside them says so) or
 * when asked to (`overwrite`): a user's own file given as `--out` by mistake is refused.
 */
export function checkOwnOutputs({
  out,
  paths,
  overwrite,
}: {
  out: string;
  paths: ScoreFilePaths;
  overwrite: boolean;
}): void {
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
