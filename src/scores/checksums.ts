/**
 * What a manifest records about the files beside it, so that a reader (`merge`) can tell they are still the files
 * the run wrote: each file's record count, size and sha256. A shard cut at a line boundary, emptied or edited in
 * place is refused by name instead of merged under a manifest that still says it is whole.
 */
import { existsSync, statSync } from 'node:fs';
import { InfopruneError } from '../errors.js';
import { sha256File } from '../util/hash.js';
import { scoreFilePaths } from './files.js';
import { readLines, readScoreRecords } from './read.js';

export interface FileChecksum {
  /** Score records (rows), or lines of the errors file. */
  records: number;
  bytes: number;
  sha256: string;
}

export interface OutputChecksums {
  scores: FileChecksum;
  errors: FileChecksum;
}

/** The checksums of a finished run's score and errors files (records as its counts say). */
export async function outputChecksums(
  scoresPath: string,
  records: { scores: number; errors: number },
): Promise<OutputChecksums> {
  const { errors } = scoreFilePaths(scoresPath);
  const of = async (path: string, count: number): Promise<FileChecksum> => ({
    records: count,
    bytes: existsSync(path) ? statSync(path).size : 0,
    sha256: await sha256File(path),
  });
  return { scores: await of(scoresPath, records.scores), errors: await of(errors, records.errors) };
}

async function countRecords(path: string, kind: 'scores' | 'errors'): Promise<number> {
  let count = 0;
  if (kind === 'scores') for await (const _ of readScoreRecords(path)) count++;
  else for await (const _ of readLines(path)) count++;
  return count;
}

/**
 * Throws SCORES_INVALID, naming the file, unless the score and errors files beside `scoresPath` are the ones its
 * manifest describes: the record counts always (`expected`), size and sha256 when the manifest has them (older
 * manifests do not). Records are counted only when needed: without checksums, or to say what a mismatch is.
 */
export async function verifyOutputFiles(
  scoresPath: string,
  expected: { scores: number; errors: number },
  checksums: OutputChecksums | undefined,
): Promise<void> {
  const files = { scores: scoresPath, errors: scoreFilePaths(scoresPath).errors };
  for (const kind of ['scores', 'errors'] as const) {
    const path = files[kind];
    const recorded = checksums?.[kind];
    if (recorded) {
      const bytes = statSync(path).size;
      if (bytes === recorded.bytes && (await sha256File(path)) === recorded.sha256) continue;
    }
    const records = await countRecords(path, kind);
    if (records !== expected[kind]) {
      throw new InfopruneError(
        'SCORES_INVALID',
        `${path} holds ${records} records, its manifest says ${expected[kind]}: the file was cut or edited after the run wrote it; score that shard again`,
      );
    }
    if (recorded) {
      throw new InfopruneError(
        'SCORES_INVALID',
        `The sha256 of ${path} differs from its manifest's: the file was edited after the run wrote it; score that shard again`,
      );
    }
  }
}
