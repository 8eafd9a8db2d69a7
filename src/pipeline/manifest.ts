/**
 * The run manifest `<out>.manifest.json`: what was scored, with what, and how it went. Written last: its presence
 * says the outputs beside it are complete. `merge` reads the shards' manifests to check that they belong together.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { nativeBuildInfo } from '../engine/index.js';
import type { Scorer } from '../engine/types.js';
import { packageVersion } from '../version.js';
import type { InputFile } from './inputs.js';
import type { ResolvedReading } from './options.js';
import type { ScoreFileFormat } from './score-files.js';
import type { RunCounts } from './session.js';
import type { ShardSpec } from './shard.js';

export const MANIFEST_FORMAT = 'infoprune-score-manifest';

export interface ModelIdentity {
  path: string;
  sizeBytes: number;
  sha256: string;
}

/**
 * Everything that decides the records' values and which documents they are: two runs (a run and its resume, or two
 * shards) may be combined only when these are equal.
 */
export interface RunIdentity {
  model: { sizeBytes: number; sha256: string };
  scoring: { contextSize: number; stride: number };
  reading: Omit<ResolvedReading, 'format'>;
  wordBuckets: number;
  inputs: { key: string; format: string; compression: string; sizeBytes: number }[];
}

export interface ScoreManifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  infoprune: string;
  llamaCpp: string | null;
  model: ModelIdentity & {
    architecture: string;
    description: string;
    vocabularySize: number;
    trainingContextSize: number;
    parameterCount: number;
    addsBos: boolean;
    bosToken: number;
  };
  scoring: {
    contextSize: number;
    stride: number;
    batchSize: number;
    flashAttention: boolean;
    maxSequences: number;
    threads: number;
    gpuLayers: number;
    /** How BOS is handled, in words (see the engine's exact semantics). */
    bosPolicy: string;
  };
  reading: ResolvedReading;
  wordFrequency: { buckets: number; hash: 'fnv1a32'; file: string };
  inputs: { source: string; key: string; format: string; compression: string; sizeBytes: number }[];
  shard: ShardSpec | null;
  outputs: { scores: string; scoresFormat: ScoreFileFormat; words: string; errors: string };
  counts: RunCounts;
  startedAt: string;
  finishedAt: string;
  /** Seconds spent scoring, over all sessions of the run (a resumed run's downtime is not counted). */
  activeSeconds: number;
  resumes: number;
  /** For a merged output: the shard outputs it was made from. */
  mergedFrom?: string[];
}

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function bosPolicy(addsBos: boolean): string {
  return addsBos
    ? 'the model adds BOS: BOS is prepended and every text token is scored'
    : 'the model adds no BOS: the first text token is context only and is not scored';
}

export function llamaCppVersion(): string | null {
  try {
    return nativeBuildInfo()?.llamaCppTag ?? null;
  } catch {
    return null;
  }
}

export function runIdentity(
  model: { sizeBytes: number; sha256: string },
  scorer: Pick<Scorer, 'options'>,
  reading: ResolvedReading,
  wordBuckets: number,
  inputs: readonly InputFile[],
): RunIdentity {
  const { format: _format, ...readingIdentity } = reading;
  return {
    model: { sizeBytes: model.sizeBytes, sha256: model.sha256 },
    scoring: { contextSize: scorer.options.contextSize, stride: scorer.options.stride },
    reading: readingIdentity,
    wordBuckets,
    inputs: inputs.map(({ key, format, compression, sizeBytes }) => ({ key, format, compression, sizeBytes })),
  };
}

export function identityOfManifest(manifest: ScoreManifest): RunIdentity {
  const { format: _format, ...reading } = manifest.reading;
  return {
    model: { sizeBytes: manifest.model.sizeBytes, sha256: manifest.model.sha256 },
    scoring: { contextSize: manifest.scoring.contextSize, stride: manifest.scoring.stride },
    reading,
    wordBuckets: manifest.wordFrequency.buckets,
    inputs: manifest.inputs.map(({ key, format, compression, sizeBytes }) => ({ key, format, compression, sizeBytes })),
  };
}

/** The first difference between two identities, in words, or undefined when they are equal. */
export function identityDifference(a: RunIdentity, b: RunIdentity): string | undefined {
  if (a.model.sha256 !== b.model.sha256 || a.model.sizeBytes !== b.model.sizeBytes)
    return 'a different model (sha256 differs)';
  for (const key of ['contextSize', 'stride'] as const) {
    if (a.scoring[key] !== b.scoring[key]) return `a different ${key} (${a.scoring[key]} vs ${b.scoring[key]})`;
  }
  for (const key of Object.keys({ ...a.reading, ...b.reading }) as (keyof RunIdentity['reading'])[]) {
    if (a.reading[key] !== b.reading[key])
      return `a different ${key} (${String(a.reading[key])} vs ${String(b.reading[key])})`;
  }
  if (a.wordBuckets !== b.wordBuckets)
    return `a different number of word buckets (${a.wordBuckets} vs ${b.wordBuckets})`;
  if (a.inputs.length !== b.inputs.length) return `different inputs (${a.inputs.length} files vs ${b.inputs.length})`;
  for (let i = 0; i < a.inputs.length; i++) {
    const x = a.inputs[i];
    const y = b.inputs[i];
    if (x.key !== y.key) return `different inputs (file ${i + 1} is ${x.key} vs ${y.key})`;
    if (x.sizeBytes !== y.sizeBytes) return `a changed input (${x.key}: ${x.sizeBytes} vs ${y.sizeBytes} bytes)`;
    if (x.format !== y.format || x.compression !== y.compression) return `a different format for ${x.key}`;
  }
  return undefined;
}

export function manifestPath(scoresPath: string): string {
  return `${scoresPath}.manifest.json`;
}

/** Reads a score file's manifest; a clear error when it is missing (an unfinished run) or not a manifest. */
export function readManifest(scoresPath: string): ScoreManifest {
  const path = manifestPath(scoresPath);
  if (!existsSync(path)) {
    const unfinished = existsSync(`${scoresPath}.checkpoint.json`);
    throw new Error(
      unfinished
        ? `${scoresPath} is not finished (no ${path}, but a checkpoint): complete it with infoprune score ... --resume`
        : `${scoresPath} has no manifest (${path}): it is not the output of a finished infoprune score run`,
    );
  }
  let manifest: ScoreManifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as ScoreManifest;
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (manifest.format !== MANIFEST_FORMAT || manifest.version !== 1)
    throw new Error(`${path} is not an infoprune score manifest`);
  return manifest;
}

/** infoprune's version (for manifests). */
export function infopruneVersion(): string {
  return packageVersion;
}
