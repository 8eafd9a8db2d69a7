/**
 * Putting a run's outputs in place, for `infoprune score` (at the end of a run, or when a resume finds only this
 * left to do) and for `merge`: the word table, the errors, the scores (the append log renamed, or converted to
 * Parquet), the manifest (with the record counts and checksums of the files beside it), whose presence says the
 * rest is complete, and for a shard its completion marker. Every step can be redone: a crash part-way leaves a
 * state that running this again completes.
 */
import { existsSync, renameSync } from 'node:fs';
import type { WordFrequencyTable } from '../text/word-frequency.js';
import { removeIfPresent, replaceAtomically, writeFileAtomic } from '../util/files.js';
import { outputChecksums } from './checksums.js';
import { writeDoneMarker } from './done.js';
import { scoreFileFormat, scoreFilePaths } from './files.js';
import type { ScoreManifest } from './manifest.js';
import { checkReplaceable } from './output-safety.js';
import { writeParquetFromJsonl } from './parquet.js';

export interface Finalization {
  /** The run's word-frequency table. */
  table: WordFrequencyTable;
  /** The manifest, built once the scores are in place. */
  manifest: () => ScoreManifest;
}

export async function finalizeScoreFile(out: string, { table, manifest }: Finalization): Promise<void> {
  const paths = scoreFilePaths(out);
  // Checked again just before the renames: nothing but a regular file is ever replaced.
  for (const path of [paths.words, paths.errors, out, paths.manifest]) checkReplaceable(path);
  table.save(paths.words);
  if (existsSync(paths.partialErrors)) renameSync(paths.partialErrors, paths.errors);
  // The token log-probability sidecar (when written) beside the scores; the log of first occurrences was only for
  // resuming.
  if (existsSync(paths.partialTokenLogprobs)) renameSync(paths.partialTokenLogprobs, paths.tokenLogprobs);
  if (existsSync(paths.partialTokenIndex)) renameSync(paths.partialTokenIndex, paths.tokenIndex);
  removeIfPresent(paths.partialDedup);
  if (existsSync(paths.partialScores)) {
    if (scoreFileFormat(out) === 'parquet') {
      await replaceAtomically(out, (temporary) => writeParquetFromJsonl(paths.partialScores, temporary));
      removeIfPresent(paths.partialScores);
    } else renameSync(paths.partialScores, out);
  }
  // What the files hold, so a reader can tell them from a cut or edited copy.
  const described = manifest();
  const { counts } = described;
  const checksums = await outputChecksums(out, {
    scores: counts.scored,
    errors: counts.skipped + counts.fileErrors,
  });
  const built: ScoreManifest = { ...described, checksums };
  writeFileAtomic(paths.manifest, `${JSON.stringify(built, null, 2)}\n`, { durable: true });
  // A shard's completion marker comes after its manifest: its presence says the shard is whole.
  writeDoneMarker(out, built);
}
