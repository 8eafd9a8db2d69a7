/**
 * `infoprune merge`: combines the outputs of `--shard i/N` runs into the output the unsharded run would have written.
 * The shards' manifests must show one run split N ways (same model, options and inputs; every index 0..N-1 exactly
 * once). Each shard's records are in input order, so a k-way merge on (input, line) restores the unsharded order in
 * bounded memory, and two records at one position (overlapping shards) are caught as they meet.
 */
import { existsSync, renameSync } from 'node:fs';
import type { ScoreRecord } from '../records.js';
import { WordFrequencyTable } from '../text/word-frequency.js';
import { expectString, invalidParameterError } from '../validate.js';
import { AppendLog, removeIfPresent, writeFileDurably } from './durable.js';
import { outputPaths } from './job.js';
import { identityDifference, identityOfManifest, readManifest, type ScoreManifest } from './manifest.js';
import { readLines, readScoreRecords, scoreFileFormat, scoreRecordLine, writeParquetFromJsonl } from './score-files.js';
import { type RunCounts, zeroCounts } from './session.js';
import { formatShard } from './shard.js';

export interface MergeOptions {
  /** The shards' score files (their manifests, errors and word tables are found beside them). */
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
    if (!manifest.shard) throw new Error(`${paths[i]} is not a shard output (it was scored without --shard)`);
    if (manifest.shard.count !== count) {
      throw new Error(
        `${paths[i]} is shard ${formatShard(manifest.shard)} but ${paths[0]} is shard ${formatShard(manifests[0].shard!)}: they come from different splits`,
      );
    }
    const difference = identityDifference(identityOfManifest(manifests[0]), identityOfManifest(manifest));
    if (difference) throw new Error(`${paths[i]} and ${paths[0]} cannot be merged: ${paths[i]} used ${difference}`);
    const sources = manifest.inputs.map((input) => input.source).join('\n');
    if (sources !== manifests[0].inputs.map((input) => input.source).join('\n')) {
      throw new Error(
        `${paths[i]} and ${paths[0]} name their inputs differently: run every shard with the same input arguments`,
      );
    }
  });
  const byIndex = new Map<number, number>();
  manifests.forEach((manifest, i) => {
    const index = manifest.shard!.index;
    const other = byIndex.get(index);
    if (other !== undefined) {
      throw new Error(`Shards overlap: ${paths[other]} and ${paths[i]} are both shard ${formatShard(manifest.shard!)}`);
    }
    byIndex.set(index, i);
  });
  const missing: string[] = [];
  for (let index = 0; index < count!; index++) if (!byIndex.has(index)) missing.push(`${index}/${count}`);
  if (missing.length > 0) {
    throw new Error(
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
    if (input === undefined) throw new Error(`A ${what} names ${item.source}, which is not among the shards' inputs`);
    return [input, item.line];
  };
  // Each stream must be in strictly increasing position (as the scoring run writes it), else the merge is unsound.
  const advance = async (i: number, previous?: [number, number]) => {
    const next = await streams[i].next();
    if (next.done) return undefined;
    const nextKey = key(next.value);
    if (previous && (nextKey[0] - previous[0] || nextKey[1] - previous[1]) <= 0) {
      throw new Error(
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
        throw new Error(
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
  if (!Array.isArray(options.shards) || options.shards.length === 0) {
    throw invalidParameterError('shards', 'non-empty array of shard score files', options.shards);
  }
  const shardPaths = options.shards.map((shard, i) => expectString(`shards[${i}]`, shard, { nonEmpty: true }));
  const out = expectString('out', options.out, { nonEmpty: true });
  const manifests = shardPaths.map((path) => readManifest(path));
  const ordered = checkShardSet(shardPaths, manifests);
  const pathOf = new Map(manifests.map((manifest, i) => [manifest, shardPaths[i]]));
  const orderedPaths = ordered.map((manifest) => pathOf.get(manifest)!);
  for (const path of orderedPaths) {
    for (const file of [path, outputPaths(path).errors, outputPaths(path).words]) {
      if (!existsSync(file)) throw new Error(`${file} is missing: the shard's outputs are incomplete`);
    }
  }
  if (orderedPaths.some((path) => outputPaths(path).scores === out))
    throw new Error(`The merged output ${out} would overwrite a shard`);

  const paths = outputPaths(out);
  const inputIndex = new Map(ordered[0].inputs.map((input, i) => [input.source, i]));

  // Records, then errors: JSONL logs first, put in place by rename (or converted to Parquet) once complete.
  const scores = AppendLog.create(paths.partialScores);
  const errors = AppendLog.create(paths.partialErrors);
  try {
    const recordStreams = orderedPaths.map((path) => readScoreRecords(path));
    for await (const record of mergeByPosition<ScoreRecord>(recordStreams, inputIndex, orderedPaths, 'record')) {
      scores.append(scoreRecordLine(record));
    }
    const errorStreams = orderedPaths.map((path) => readErrors(outputPaths(path).errors));
    for await (const error of mergeByPosition(errorStreams, inputIndex, orderedPaths, 'error')) {
      errors.append(`${JSON.stringify({ source: error.source, line: error.line, reason: error.reason })}\n`);
    }
    scores.sync();
    errors.sync();
  } catch (error) {
    scores.close();
    errors.close();
    removeIfPresent(paths.partialScores);
    removeIfPresent(paths.partialErrors);
    throw error;
  }
  scores.close();
  errors.close();

  const table = WordFrequencyTable.load(outputPaths(orderedPaths[0]).words);
  for (const path of orderedPaths.slice(1)) table.merge(WordFrequencyTable.load(outputPaths(path).words));
  table.save(paths.words);
  renameSync(paths.partialErrors, paths.errors);
  if (scoreFileFormat(out) === 'parquet') {
    const temporary = `${out}.tmp-${process.pid}`;
    await writeParquetFromJsonl(paths.partialScores, temporary);
    renameSync(temporary, out);
    removeIfPresent(paths.partialScores);
  } else renameSync(paths.partialScores, out);

  const counts = zeroCounts();
  for (const manifest of ordered) {
    for (const key of Object.keys(counts) as (keyof RunCounts)[]) counts[key] += manifest.counts[key];
  }
  const first = ordered[0];
  const merged: ScoreManifest = {
    ...first,
    shard: null,
    outputs: {
      scores: out.split(/[/\\]/).pop()!,
      scoresFormat: scoreFileFormat(out),
      words: paths.words.split(/[/\\]/).pop()!,
      errors: paths.errors.split(/[/\\]/).pop()!,
    },
    counts,
    startedAt: ordered.map((manifest) => manifest.startedAt).sort()[0],
    finishedAt: ordered
      .map((manifest) => manifest.finishedAt)
      .sort()
      .at(-1)!,
    activeSeconds: ordered.reduce((sum, manifest) => sum + manifest.activeSeconds, 0),
    resumes: ordered.reduce((sum, manifest) => sum + manifest.resumes, 0),
    mergedFrom: orderedPaths,
  };
  writeFileDurably(paths.manifest, `${JSON.stringify(merged, null, 2)}\n`);
  return {
    shards: ordered.length,
    counts,
    outputs: { scores: out, errors: paths.errors, words: paths.words, manifest: paths.manifest },
  };
}
