/**
 * The run manifest `<out>.manifest.json`: what was scored, with what, and how it went. Written last: its presence
 * says the outputs beside it are complete. Built here (for a run, and for a merge of shards) and read here; `merge`
 * and `--resume` compare runs by their identity (`RunIdentity`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { inputFingerprint } from '../corpus/fingerprint.js';
import type { InputFile, SkippedInput } from '../corpus/inputs.js';
import type { ResolvedReading } from '../corpus/options.js';
import type { ShardSpec } from '../corpus/shard.js';
import { cpuBackendInfo, nativeBuildInfo } from '../engine/native.js';
import type { ModelInfo, Scorer } from '../engine/types.js';
import { InfopruneError, type OptionNamer } from '../errors.js';
import { WORD_BREAKER_ICU, WORD_DEFINITION_VERSION } from '../text/words.js';
import { packageVersion } from '../util/version.js';
import type { OutputChecksums } from './checksums.js';
import { type ScoreFileFormat, scoreFileFormat, scoreFilePaths } from './files.js';

export const MANIFEST_FORMAT = 'infoprune-score-manifest';

/** What a run did with the documents it read. */
export interface RunCounts {
  /** Documents read (scored + skipped). */
  read: number;
  scored: number;
  /** Documents that could not be scored (malformed, empty, too large, ...). */
  skipped: number;
  /** Faults of files rather than of documents: unreadable, truncated, corrupt. */
  fileErrors: number;
  /**
   * Skipped documents the model failed on (non-finite log-probabilities): a broken model, not bad input, so any of
   * them fails the run whatever share of failures is allowed.
   */
  modelFailures: number;
  /** Scored tokens and UTF-8 bytes of the scored documents, and their words. */
  tokens: number;
  bytes: number;
  words: number;
  /** Scored documents whose result was reused: exact duplicates of a text scored before (in the run or a cache). */
  reused: number;
}

export function zeroCounts(): RunCounts {
  return { read: 0, scored: 0, skipped: 0, fileErrors: 0, modelFailures: 0, tokens: 0, bytes: 0, words: 0, reused: 0 };
}

/** How much of a run failed: skipped documents and faulty files, as a share of the documents read and those files. */
export interface FailureShare {
  /** Documents skipped plus files (or parts of files) that could not be read. */
  failed: number;
  /** failed / (read + fileErrors); 0 for a run that met nothing. */
  rate: number;
  /** Nothing was scored: the run produced no score at all. */
  nothingScored: boolean;
}

export function failureShare(counts: RunCounts): FailureShare {
  const failed = counts.skipped + counts.fileErrors;
  const met = counts.read + counts.fileErrors;
  return { failed, rate: met === 0 ? 0 : failed / met, nothingScored: counts.scored === 0 };
}

export interface ModelIdentity {
  path: string;
  sizeBytes: number;
  sha256: string;
}

/** The scorer options that can change a value (threads cannot: sums run in a fixed order). */
export const VALUE_OPTIONS = [
  'contextSize',
  'stride',
  'batchSize',
  'maxSequences',
  'flashAttention',
  'gpuLayers',
] as const;
export type ValueOptions = Pick<Scorer['options'], (typeof VALUE_OPTIONS)[number]>;

/** An input as a run's identity knows it: what it is called, how it is read, and its content's fingerprint. */
export interface InputIdentity {
  key: string;
  format: string;
  compression: string;
  sizeBytes: number;
  /** src/corpus/fingerprint.ts (absent in manifests of older versions). */
  fingerprint?: string;
}

/**
 * Everything that decides the records' values and which documents they are: two runs (a run and its resume, or two
 * shards) may be combined only when these are equal.
 */
export interface RunIdentity {
  model: { sizeBytes: number; sha256: string };
  scoring: ValueOptions;
  reading: Omit<ResolvedReading, 'format'>;
  wordBuckets: number;
  inputs: InputIdentity[];
}

/** The probe a run trained for itself (when no model was given): where it is and how good it measured. */
export interface ManifestProbe {
  path: string;
  trainingRecord: string;
  /** Found beside the scores, trained for the same request, and used again. */
  reused: boolean;
  shape: string;
  tokensSeen: number;
  heldoutBitsPerByte: number;
  heldoutBitsPerToken: number;
  zlib9BitsPerByte: number;
  bigramBitsPerToken: number;
}

export interface ScoreManifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  infoprune: string;
  llamaCpp: string | null;
  /** llama.cpp's CPU backend the run computed on: `native (<file>)`, compiled for the machine by the build, or
   * `prebuilt (<file>)`, node-llama-cpp's variant for the CPU (src/engine/addon.ts); null when unknown. */
  cpuBackend: string | null;
  model: ModelIdentity & Omit<ModelInfo, 'path' | 'sizeBytes'>;
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
  wordFrequency: {
    buckets: number;
    hash: 'fnv1a32';
    file: string;
    /** The word definition (src/text/words.ts) and the ICU version of its word breaker. */
    words: { definition: number; icu: string | null };
  };
  inputs: (InputIdentity & { source: string })[];
  /** Files the input folders and globs hold that were not read, with why. */
  skippedInputs: SkippedInput[];
  shard: ShardSpec | null;
  outputs: {
    scores: string;
    scoresFormat: ScoreFileFormat;
    words: string;
    errors: string;
    /** The token log-probability sidecar and its index (src/scores/logprobs.ts), when the run wrote them. */
    tokenLogprobs?: { data: string; index: string };
  };
  /**
   * The score and errors files as written: records, bytes and sha256 each (`merge` verifies them). Absent in
   * manifests of older versions.
   */
  checksums?: OutputChecksums;
  /** Exact duplicates: distinct texts the dedup index remembered at most (0: off) and the cache folder, if any. */
  reuse?: { dedupEntries: number; cache: string | null };
  counts: RunCounts;
  startedAt: string;
  finishedAt: string;
  /** Seconds spent scoring, over all sessions of the run (a resumed run's downtime is not counted). */
  activeSeconds: number;
  resumes: number;
  /** For a merged output: the shard outputs it was made from. */
  mergedFrom?: string[];
  /** When no model was given: the probe trained on the corpus for this run. */
  probe?: ManifestProbe;
}

/** What a finished run hands `buildManifest`. */
export interface FinishedRun {
  out: string;
  model: ModelIdentity;
  scorer: Pick<Scorer, 'model' | 'options'>;
  reading: ResolvedReading;
  wordBuckets: number;
  inputs: readonly InputFile[];
  /** The identity of the run (the inputs' fingerprints come from it). */
  identity: RunIdentity;
  skippedInputs: readonly SkippedInput[];
  shard: ShardSpec | null;
  counts: RunCounts;
  startedAt: string;
  activeSeconds: number;
  resumes: number;
  probe?: ManifestProbe;
  /** Deduplication and the sidecar, as the run was asked for them. */
  reuse?: { dedupEntries: number; cache: string | null; tokenLogprobs: boolean };
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

function cpuBackendName(): string | null {
  const backend = cpuBackendInfo();
  return backend === null
    ? null
    : `${backend.kind} (${backend.file === null ? 'file unknown' : basename(backend.file)})`;
}

/** The manifest of a finished run (finishedAt is now). */
export function buildManifest(run: FinishedRun): ScoreManifest {
  const { model, options } = run.scorer;
  const paths = scoreFilePaths(run.out);
  return {
    format: MANIFEST_FORMAT,
    version: 1,
    infoprune: packageVersion,
    llamaCpp: llamaCppVersion(),
    cpuBackend: cpuBackendName(),
    model: {
      path: run.model.path,
      sizeBytes: run.model.sizeBytes,
      sha256: run.model.sha256,
      architecture: model.architecture,
      description: model.description,
      vocabularySize: model.vocabularySize,
      trainingContextSize: model.trainingContextSize,
      parameterCount: model.parameterCount,
      addsBos: model.addsBos,
      bosToken: model.bosToken,
    },
    scoring: {
      contextSize: options.contextSize,
      stride: options.stride,
      batchSize: options.batchSize,
      flashAttention: options.flashAttention,
      maxSequences: options.maxSequences,
      threads: options.threads,
      gpuLayers: options.gpuLayers,
      bosPolicy: bosPolicy(model.addsBos),
    },
    reading: run.reading,
    wordFrequency: {
      buckets: run.wordBuckets,
      hash: 'fnv1a32',
      file: basename(paths.words),
      words: { definition: WORD_DEFINITION_VERSION, icu: WORD_BREAKER_ICU },
    },
    inputs: run.inputs.map(({ source }, i) => ({ source, ...run.identity.inputs[i] })),
    skippedInputs: run.skippedInputs.map(({ path, reason }) => ({ path, reason })),
    shard: run.shard,
    outputs: outputsOf(run.out, run.reuse?.tokenLogprobs === true),
    reuse: { dedupEntries: run.reuse?.dedupEntries ?? 0, cache: run.reuse?.cache ?? null },
    counts: { ...run.counts },
    startedAt: run.startedAt,
    finishedAt: new Date().toISOString(),
    activeSeconds: run.activeSeconds,
    resumes: run.resumes,
    ...(run.probe ? { probe: run.probe } : {}),
  };
}

/** The manifest of shards merged into `out` (the shards' manifests in shard order, their score files). */
export function mergedManifest(out: string, shards: readonly ScoreManifest[], shardPaths: string[]): ScoreManifest {
  const counts = zeroCounts();
  for (const manifest of shards) {
    for (const key of Object.keys(counts) as (keyof RunCounts)[]) counts[key] += manifest.counts[key] ?? 0;
  }
  return {
    ...shards[0],
    shard: null,
    outputs: outputsOf(out, shards[0].outputs.tokenLogprobs !== undefined),
    counts,
    startedAt: shards.map((manifest) => manifest.startedAt).sort()[0],
    finishedAt: shards
      .map((manifest) => manifest.finishedAt)
      .sort()
      .at(-1)!,
    activeSeconds: shards.reduce((sum, manifest) => sum + manifest.activeSeconds, 0),
    resumes: shards.reduce((sum, manifest) => sum + manifest.resumes, 0),
    mergedFrom: shardPaths,
  };
}

function outputsOf(out: string, tokenLogprobs = false): ScoreManifest['outputs'] {
  const paths = scoreFilePaths(out);
  return {
    scores: basename(out),
    scoresFormat: scoreFileFormat(out),
    words: basename(paths.words),
    errors: basename(paths.errors),
    ...(tokenLogprobs
      ? { tokenLogprobs: { data: basename(paths.tokenLogprobs), index: basename(paths.tokenIndex) } }
      : {}),
  };
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
    scoring: valueOptionsOf(scorer.options),
    reading: readingIdentity,
    wordBuckets,
    inputs: inputs.map(({ source, path, key, format, compression, sizeBytes }) => ({
      key,
      format,
      compression,
      sizeBytes,
      fingerprint: inputFingerprint(path ?? source),
    })),
  };
}

function valueOptionsOf(options: ValueOptions): ValueOptions {
  const { contextSize, stride, batchSize, maxSequences, flashAttention, gpuLayers } = options;
  return { contextSize, stride, batchSize, maxSequences, flashAttention, gpuLayers };
}

export function identityOfManifest(manifest: ScoreManifest): RunIdentity {
  const { format: _format, ...reading } = manifest.reading;
  return {
    model: { sizeBytes: manifest.model.sizeBytes, sha256: manifest.model.sha256 },
    scoring: valueOptionsOf(manifest.scoring),
    reading,
    wordBuckets: manifest.wordFrequency.buckets,
    inputs: manifest.inputs.map(({ key, format, compression, sizeBytes, fingerprint }) => ({
      key,
      format,
      compression,
      sizeBytes,
      fingerprint,
    })),
  };
}

/**
 * The first difference between two identities, in words (options named by `name`), or undefined when they are
 * equal.
 */
export function identityDifference(
  a: RunIdentity,
  b: RunIdentity,
  name: OptionNamer = (option) => option,
): string | undefined {
  if (a.model.sha256 !== b.model.sha256 || a.model.sizeBytes !== b.model.sizeBytes) {
    return 'a different model (sha256 differs)';
  }
  for (const key of VALUE_OPTIONS) {
    if (a.scoring[key] !== b.scoring[key]) return `a different ${name(key)} (${a.scoring[key]} vs ${b.scoring[key]})`;
  }
  for (const key of Object.keys({ ...a.reading, ...b.reading }) as (keyof RunIdentity['reading'])[]) {
    if (a.reading[key] !== b.reading[key]) {
      return `a different ${name(key)} (${String(a.reading[key])} vs ${String(b.reading[key])})`;
    }
  }
  if (a.wordBuckets !== b.wordBuckets) {
    return `a different number of word buckets (${a.wordBuckets} vs ${b.wordBuckets})`;
  }
  if (a.inputs.length !== b.inputs.length) return `different inputs (${a.inputs.length} files vs ${b.inputs.length})`;
  for (let i = 0; i < a.inputs.length; i++) {
    const x = a.inputs[i];
    const y = b.inputs[i];
    if (x.key !== y.key) return `different inputs (file ${i + 1} is ${x.key} vs ${y.key})`;
    if (x.sizeBytes !== y.sizeBytes) return `a changed input (${x.key}: ${x.sizeBytes} vs ${y.sizeBytes} bytes)`;
    if (x.format !== y.format || x.compression !== y.compression) return `a different format for ${x.key}`;
    if (x.fingerprint !== y.fingerprint) {
      return `a changed input (${x.key}: its content differs, at the same size; its fingerprint is ${x.fingerprint ?? 'not recorded'} vs ${y.fingerprint ?? 'not recorded'})`;
    }
  }
  return undefined;
}

/** Reads a score file's manifest; a clear error when it is missing (an unfinished run) or not a manifest. */
export function readManifest(scoresPath: string): ScoreManifest {
  const paths = scoreFilePaths(scoresPath);
  const path = paths.manifest;
  if (!existsSync(path)) {
    if (existsSync(paths.checkpoint)) {
      throw new InfopruneError(
        'RUN_INCOMPLETE',
        (name) =>
          `${scoresPath} is not finished (no ${path}, but a checkpoint): complete it by scoring again with ${name('resume')}`,
      );
    }
    throw new InfopruneError(
      'SCORES_NOT_FOUND',
      `${scoresPath} has no manifest (${path}): it is not the output of a finished infoprune score run`,
    );
  }
  let manifest: ScoreManifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as ScoreManifest;
  } catch (error) {
    throw new InfopruneError(
      'SCORES_INVALID',
      `${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (manifest.format !== MANIFEST_FORMAT || manifest.version !== 1) {
    throw new InfopruneError('SCORES_INVALID', `${path} is not an infoprune score manifest`);
  }
  return manifest;
}
