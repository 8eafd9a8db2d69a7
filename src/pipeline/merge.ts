/**
 * `infoprune merge`: combines the outputs of `--shard i/N` runs into the output the unsharded run would have written.
 * The shards' manifests must show one run split N ways (same model, options and inputs; every index 0..N-1 exactly
 * once). Each shard's records are in input order, so a k-way merge on (input, line) restores the unsharded order in
 * bounded memory, and two records at one position (overlapping shards) are caught as they meet. Each shard's score
 * and errors files must hold what its manifest records (record counts, sizes, sha256).
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { formatShard } from '../corpus/shard.js';
import { InfopruneError } from '../errors.js';
import { verifyOutputFiles } from '../scores/checksums.js';
import { readDoneMarkers } from '../scores/done.js';
import { type ScoreFilePaths, scoreFilePaths } from '../scores/files.js';
import { finalizeScoreFile } from '../scores/finalize.js';
import { encodeIndexEntry, INDEX_ENTRY_BYTES, SIDECAR_HEADER_BYTES, sidecarHeader } from '../scores/logprobs.js';
import {
  identityDifference,
  identityOfManifest,
  mergedManifest,
  type RunCounts,
  readManifest,
  type ScoreManifest,
} from '../scores/manifest.js';
import { checkReplaceable, OutputLock } from '../scores/output-safety.js';
import { readLines, readScoreRecords } from '../scores/read.js';
import { type ScoreRecord, scoreRecordLine } from '../scores/record.js';
import { WordFrequencyTable } from '../text/word-frequency.js';
import { removeIfPresent } from '../util/files.js';
import { expectString, invalidParameterError } from '../util/validate.js';
import { AppendLog } from './append-log.js';

export interface MergeOptions {
  /**
   * The shards' score files (their manifests, errors and word tables are found beside them), or one folder: the
   * shards are then found by their completion markers (`<shard>.done.json`).
   */
  shards: readonly string[];
  out: string;
}

export interface MergeSummary {
  shards: number;
  counts: RunCounts;
  outputs: { scores: string; errors: string; words: string; manifest: string };
}

interface Positioned {
  source: string;
  line: number;
}

/** Checks the manifests belong to one run split N ways, all present, none twice. Returns them in shard order. */
export function checkShardSet(paths: readonly string[], manifests: readonly ScoreManifest[]): ScoreManifest[] {
  const count = manifests[0].shard?.count;
  manifests.forEach((manifest, i) => {
    if (!manifest.shard) {
      throw new InfopruneError(
        'SHARDS_MISMATCH',
        (name) => `${paths[i]} is not a shard output (it was scored without ${name('shard')})`,
      );
    }
    if (manifest.shard.count !== count) {
      throw new InfopruneError(
        'SHARDS_MISMATCH',
        `${paths[i]} is shard ${formatShard(manifest.shard)} but ${paths[0]} is shard ${formatShard(manifests[0].shard!)}: they come from different splits`,
      );
    }
    const difference = identityDifference(identityOfManifest(manifests[0]), identityOfManifest(manifest));
    if (difference) {
      throw new InfopruneError(
        'SHARDS_MISMATCH',
        `${paths[i]} and ${paths[0]} cannot be merged: ${paths[i]} used ${difference}`,
      );
    }
    if ((manifest.outputs.tokenLogprobs === undefined) !== (manifests[0].outputs.tokenLogprobs === undefined)) {
      throw new InfopruneError(
        'SHARDS_MISMATCH',
        (name) =>
          `${paths[i]} and ${paths[0]} cannot be merged: only one of them was scored with ${name('tokenLogprobs')}`,
      );
    }
    const sources = manifest.inputs.map((input) => input.source).join('\n');
    if (sources !== manifests[0].inputs.map((input) => input.source).join('\n')) {
      throw new InfopruneError(
        'SHARDS_MISMATCH',
        `${paths[i]} and ${paths[0]} name their inputs differently: run every shard with the same input arguments`,
      );
    }
  });
  const byIndex = new Map<number, number>();
  manifests.forEach((manifest, i) => {
    const index = manifest.shard!.index;
    const other = byIndex.get(index);
    if (other !== undefined) {
      throw new InfopruneError(
        'SHARDS_MISMATCH',
        `Shards overlap: ${paths[other]} and ${paths[i]} are both shard ${formatShard(manifest.shard!)}`,
      );
    }
    byIndex.set(index, i);
  });
  const missing: string[] = [];
  for (let index = 0; index < count!; index++) if (!byIndex.has(index)) missing.push(`${index}/${count}`);
  if (missing.length > 0) {
    throw new InfopruneError(
      'SHARDS_MISMATCH',
      `Missing shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: got ${[...byIndex.keys()]
        .sort((a, b) => a - b)
        .map((index) => `${index}/${count}`)
        .join(', ')}`,
    );
  }
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, i]) => manifests[i]);
}

/**
 * Merges streams that are each in input order into one, by (input index, line). Throws when two items share a
 * position: their shards overlap.
 */
async function* mergeByPosition<T extends Positioned>(
  streams: AsyncGenerator<T>[],
  inputIndex: Map<string, number>,
  names: readonly string[],
  what: string,
): AsyncGenerator<T> {
  const key = (item: T): [number, number] => {
    const input = inputIndex.get(item.source);
    if (input === undefined) {
      throw new InfopruneError(
        'SHARDS_MISMATCH',
        `A ${what} names ${item.source}, which is not among the shards' inputs`,
      );
    }
    return [input, item.line];
  };
  // Each stream must be in strictly increasing position (as the scoring run writes it), else the merge is unsound.
  const advance = async (i: number, previous?: [number, number]) => {
    const next = await streams[i].next();
    if (next.done) return undefined;
    const nextKey = key(next.value);
    if (previous && (nextKey[0] - previous[0] || nextKey[1] - previous[1]) <= 0) {
      throw new InfopruneError(
        'SHARDS_MISMATCH',
        `${names[i]} is not in input order at ${next.value.source} line ${next.value.line}: the file was edited or is corrupt`,
      );
    }
    return { item: next.value, key: nextKey };
  };
  const heads: ({ item: T; key: [number, number] } | undefined)[] = await Promise.all(
    streams.map((_, i) => advance(i)),
  );
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      if (!head) continue;
      if (best < 0) {
        best = i;
        continue;
      }
      const b = heads[best]!.key;
      const order = head.key[0] - b[0] || head.key[1] - b[1];
      if (order === 0) {
        throw new InfopruneError(
          'SHARDS_MISMATCH',
          `Shards overlap: ${names[best]} and ${names[i]} both hold the ${what} at ${head.item.source} line ${head.item.line}`,
        );
      }
      if (order < 0) best = i;
    }
    if (best < 0) return;
    const { item, key: bestKey } = heads[best]!;
    yield item;
    heads[best] = await advance(best, bestKey);
  }
}

async function* readErrors(path: string): AsyncGenerator<Positioned & { reason: string }> {
  for await (const line of readLines(path)) yield JSON.parse(line) as Positioned & { reason: string };
}

export async function mergeShards(options: MergeOptions): Promise<MergeSummary> {
  // 1. Options; the output never one of the shards' files, never anything but a regular file, and locked.
  const { shardPaths, out } = resolveMergeOptions(options);
  checkMergeOutput(shardPaths, out);
  const lock = OutputLock.acquire(out, `The merged output ${out}`);
  try {
    return await mergeLocked(shardPaths, out);
  } finally {
    lock.release();
  }
}

async function mergeLocked(shardPaths: string[], out: string): Promise<MergeSummary> {
  // 2. The shards' manifests: one run split N ways, every shard there once, with all its files.
  const manifests = shardPaths.map((path) => readManifest(path));
  const ordered = checkShardSet(shardPaths, manifests);
  const orderedPaths = ordered.map((manifest) => shardPaths[manifests.indexOf(manifest)]);
  checkShardFiles(orderedPaths);
  // 2b. Each shard's files are the ones its manifest describes (record counts, sizes, checksums): never a shard
  //     that lost lines, was emptied or was edited since.
  for (const [i, manifest] of ordered.entries()) {
    const { scored, skipped, fileErrors } = manifest.counts;
    await verifyOutputFiles(orderedPaths[i], { scores: scored, errors: skipped + fileErrors }, manifest.checksums);
  }
  // 3. Records, then errors, merged in input order into the append logs.
  await mergeLogs(orderedPaths, ordered[0], out);
  // 4. The word tables summed; the outputs put in place, the merged manifest last.
  const table = WordFrequencyTable.load(scoreFilePaths(orderedPaths[0]).words);
  for (const path of orderedPaths.slice(1)) table.merge(WordFrequencyTable.load(scoreFilePaths(path).words));
  const merged = mergedManifest(out, ordered, orderedPaths);
  await finalizeScoreFile(out, { table, manifest: () => merged });
  const { errors, words, manifest } = scoreFilePaths(out);
  return { shards: ordered.length, counts: merged.counts, outputs: { scores: out, errors, words, manifest } };
}

function resolveMergeOptions(options: MergeOptions): { shardPaths: string[]; out: string } {
  if (!Array.isArray(options.shards) || options.shards.length === 0) {
    throw invalidParameterError('shards', 'non-empty array of shard score files or one folder', options.shards);
  }
  const given = options.shards.map((shard, i) => expectString(`shards[${i}]`, shard, { nonEmpty: true }));
  const out = expectString('out', options.out, { nonEmpty: true });
  const folder = given.length === 1 && existsSync(given[0]) && statSync(given[0]).isDirectory() ? given[0] : null;
  return { shardPaths: folder === null ? given : findShards(folder), out };
}

/**
 * The shards of the one split whose completion markers lie in `folder`. Refuses a folder holding shards of several
 * runs, and names the shards that are missing (with the checkpoint of any still running or interrupted).
 */
function findShards(folder: string): string[] {
  const found = readDoneMarkers(folder);
  const runs = new Map<string, typeof found>();
  for (const entry of found) runs.set(entry.marker.run, [...(runs.get(entry.marker.run) ?? []), entry]);
  if (runs.size === 0) {
    throw new InfopruneError('SCORES_NOT_FOUND', `${folder} holds no finished shard (no *.done.json marker)`);
  }
  if (runs.size > 1) {
    const described = [...runs.values()].map(
      (entries) => `${entries.length} of ${entries[0].marker.shard.count} shards like ${basename(entries[0].scores)}`,
    );
    throw new InfopruneError(
      'SHARDS_MISMATCH',
      `${folder} holds shards of ${runs.size} different runs (${described.join('; ')}): pass the score files of one run`,
    );
  }
  const entries = [...runs.values()][0];
  const count = entries[0].marker.shard.count;
  const present = new Set(entries.map((entry) => entry.marker.shard.index));
  const missing = Array.from({ length: count }, (_, i) => i).filter((index) => !present.has(index));
  if (missing.length > 0) {
    const running = unfinishedShards(folder);
    const describe = (index: number) =>
      `${index}/${count}${running.has(index) ? ` (unfinished: ${running.get(index)})` : ''}`;
    throw new InfopruneError(
      'SHARDS_MISMATCH',
      `${folder} is missing shard${missing.length > 1 ? 's' : ''} ${missing.map(describe).join(', ')} of ${count}: finish ${missing.length > 1 ? 'them' : 'it'} (rerun with --resume), then merge`,
    );
  }
  return entries.map((entry) => entry.scores);
}

/** Shards of a folder that left a checkpoint (running, or interrupted), by index. */
function unfinishedShards(folder: string): Map<number, string> {
  const found = new Map<number, string>();
  for (const name of readdirSync(folder)) {
    if (!name.endsWith('.checkpoint.json')) continue;
    try {
      const checkpoint = JSON.parse(readFileSync(join(folder, name), 'utf8')) as { shard?: { index?: number } | null };
      if (typeof checkpoint.shard?.index === 'number') found.set(checkpoint.shard.index, name);
    } catch {
      // being replaced right now, or not ours: it only adds detail to the message
    }
  }
  return found;
}

function checkShardFiles(shardPaths: readonly string[]): void {
  for (const path of shardPaths) {
    const { errors, words } = scoreFilePaths(path);
    for (const file of [path, errors, words]) {
      if (!existsSync(file)) {
        throw new InfopruneError('SCORES_NOT_FOUND', `${file} is missing: the shard's outputs are incomplete`);
      }
    }
  }
}

/** Whether two paths name one file: the same resolved path (`./s0.jsonl` is `s0.jsonl`), or the same inode. */
function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false;
  }
}

/** The merged output's files are none of the shards' files, and each is a regular file or absent. */
function checkMergeOutput(shardPaths: readonly string[], out: string): void {
  const written = Object.values(scoreFilePaths(out));
  for (const shard of shardPaths) {
    const { scores, errors, words, manifest } = scoreFilePaths(shard);
    for (const file of [scores, errors, words, manifest]) {
      const clash = written.find((path) => sameFile(path, file));
      if (clash) {
        throw new InfopruneError(
          'OUTPUT_EXISTS',
          `The merged output ${out} would overwrite ${file}, a file of shard ${shard}`,
        );
      }
    }
  }
  for (const path of written) checkReplaceable(path);
  if (existsSync(out)) {
    try {
      readManifest(out); // an earlier merge's or run's output: infoprune wrote it, so it may be replaced
    } catch {
      throw new InfopruneError(
        'OUTPUT_EXISTS',
        `${out} exists and was not written by infoprune (no valid manifest beside it): choose another output, or remove it`,
      );
    }
  }
}

/**
 * The shards' records and errors, each merged in input order, into the merged run's append logs; with token
 * log-probabilities, each record's sidecar data copied along (duplicates a shard shared become copies of their own).
 */
async function mergeLogs(shardPaths: string[], first: ScoreManifest, out: string): Promise<void> {
  const paths = scoreFilePaths(out);
  const inputIndex = new Map(first.inputs.map((input, i) => [input.source, i]));
  const scores = AppendLog.create(paths.partialScores);
  const errors = AppendLog.create(paths.partialErrors);
  const sidecar = first.outputs.tokenLogprobs ? SidecarMerge.open(shardPaths, paths, first.model.addsBos) : null;
  try {
    const recordStreams = shardPaths.map((path, shard) => tagged(readScoreRecords(path), shard));
    for await (const { record, shard } of mergeByPosition(recordStreams, inputIndex, shardPaths, 'record')) {
      scores.append(scoreRecordLine(record));
      sidecar?.copyNext(shard);
    }
    const errorStreams = shardPaths.map((path) => readErrors(scoreFilePaths(path).errors));
    for await (const error of mergeByPosition(errorStreams, inputIndex, shardPaths, 'error')) {
      errors.append(`${JSON.stringify({ source: error.source, line: error.line, reason: error.reason })}\n`);
    }
    scores.sync();
    errors.sync();
    sidecar?.close();
  } catch (error) {
    scores.close();
    errors.close();
    sidecar?.close();
    for (const path of [paths.partialScores, paths.partialErrors, paths.partialTokenLogprobs, paths.partialTokenIndex])
      removeIfPresent(path);
    throw error;
  }
  scores.close();
  errors.close();
}

/** A shard's records, each with its shard and its position (what the merge orders by). */
async function* tagged(
  records: AsyncGenerator<ScoreRecord>,
  shard: number,
): AsyncGenerator<{ source: string; line: number; record: ScoreRecord; shard: number }> {
  for await (const record of records) yield { source: record.source, line: record.line, record, shard };
}

/** The merged sidecar, written as the records are merged: each shard's next entry and its data copied over. */
class SidecarMerge {
  private readonly entries: number[];
  private readonly entry = Buffer.alloc(INDEX_ENTRY_BYTES);

  private constructor(
    private readonly shards: { data: number; index: number; path: string }[],
    private readonly data: AppendLog,
    private readonly index: AppendLog,
  ) {
    this.entries = shards.map(() => 0);
  }

  static open(shardPaths: string[], out: ScoreFilePaths, addsBos: boolean): SidecarMerge {
    const shards = shardPaths.map((path) => {
      const files = scoreFilePaths(path);
      for (const file of [files.tokenLogprobs, files.tokenIndex]) {
        if (!existsSync(file)) {
          throw new InfopruneError('SCORES_NOT_FOUND', `${file} is missing: the shard's outputs are incomplete`);
        }
      }
      return { data: openSync(files.tokenLogprobs, 'r'), index: openSync(files.tokenIndex, 'r'), path };
    });
    const data = AppendLog.create(out.partialTokenLogprobs);
    const index = AppendLog.create(out.partialTokenIndex);
    data.append(sidecarHeader('data', addsBos));
    index.append(sidecarHeader('index', addsBos));
    return new SidecarMerge(shards, data, index);
  }

  copyNext(shard: number): void {
    const files = this.shards[shard];
    const at = SIDECAR_HEADER_BYTES + this.entries[shard]++ * INDEX_ENTRY_BYTES;
    if (readSync(files.index, this.entry, 0, INDEX_ENTRY_BYTES, at) !== INDEX_ENTRY_BYTES) {
      throw new InfopruneError(
        'SHARDS_MISMATCH',
        `${files.path}'s token log-probability index ends before its records`,
      );
    }
    const n = Number(this.entry.readBigInt64LE(8));
    const bytes = Buffer.alloc(8 * n);
    if (n > 0 && readSync(files.data, bytes, 0, bytes.length, Number(this.entry.readBigInt64LE(0))) !== bytes.length) {
      throw new InfopruneError('SHARDS_MISMATCH', `${files.path}'s token log-probabilities are truncated`);
    }
    this.index.append(encodeIndexEntry(this.data.length, n));
    this.data.append(bytes);
  }

  close(): void {
    this.data.sync();
    this.index.sync();
    this.data.close();
    this.index.close();
    for (const files of this.shards) {
      closeSync(files.data);
      closeSync(files.index);
    }
  }
}
