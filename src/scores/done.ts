/**
 * A shard's completion marker `<out>.done.json`: written after the manifest when a `--shard` run finishes, it names
 * the run (a hash of everything two shards must share to be merged), the shard and the counts. `merge <folder>` finds
 * a split's shards by their markers, and a launcher can test for the file to know a shard is done.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ShardSpec } from '../corpus/shard.js';
import { InfopruneError } from '../errors.js';
import { writeFileAtomic } from '../util/files.js';
import { scoreFilePaths } from './files.js';
import { identityOfManifest, type RunCounts, type ScoreManifest } from './manifest.js';

export const DONE_FORMAT = 'infoprune-shard-done';
const DONE_SUFFIX = '.done.json';

export interface DoneMarker {
  format: typeof DONE_FORMAT;
  version: 1;
  /** The run's identity: equal for every shard of one split (model, options, inputs as named, shard count). */
  run: string;
  shard: ShardSpec;
  /** The score file, beside the marker. */
  scores: string;
  counts: RunCounts;
  finishedAt: string;
}

/** The identity every shard of one split shares, as a short hash. */
export function runIdOf(manifest: ScoreManifest): string {
  const shared = {
    identity: identityOfManifest(manifest),
    sources: manifest.inputs.map((input) => input.source),
    count: manifest.shard?.count ?? 1,
  };
  return createHash('sha256').update(JSON.stringify(shared)).digest('hex').slice(0, 16);
}

/** Writes the marker of a finished shard run (after its manifest). */
export function writeDoneMarker(out: string, manifest: ScoreManifest): void {
  if (manifest.shard === null) return;
  const marker: DoneMarker = {
    format: DONE_FORMAT,
    version: 1,
    run: runIdOf(manifest),
    shard: manifest.shard,
    scores: basename(out),
    counts: manifest.counts,
    finishedAt: manifest.finishedAt,
  };
  writeFileAtomic(scoreFilePaths(out).done, `${JSON.stringify(marker, null, 2)}\n`, { durable: true });
}

/** The markers in a folder (not its subfolders), with the score files they name, in name order. */
export function readDoneMarkers(folder: string): { path: string; marker: DoneMarker; scores: string }[] {
  const found: { path: string; marker: DoneMarker; scores: string }[] = [];
  for (const name of readdirSync(folder).sort()) {
    if (!name.endsWith(DONE_SUFFIX)) continue;
    const path = join(folder, name);
    let marker: DoneMarker;
    try {
      marker = JSON.parse(readFileSync(path, 'utf8')) as DoneMarker;
    } catch {
      throw new InfopruneError('SCORES_INVALID', `${path} is not a completion marker (malformed JSON)`);
    }
    if (marker.format !== DONE_FORMAT || marker.version !== 1) {
      throw new InfopruneError('SCORES_INVALID', `${path} is not an infoprune completion marker`);
    }
    const scores = join(folder, marker.scores);
    if (!existsSync(scores)) {
      throw new InfopruneError('SCORES_NOT_FOUND', `${path} names ${marker.scores}, which is missing from ${folder}`);
    }
    found.push({ path, marker, scores });
  }
  return found;
}
