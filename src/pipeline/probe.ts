/**
 * `score` without a model: the paper's data probe is trained on the corpus about to be scored (src/train), kept
 * beside the scores (`<out>.probe.gguf` and its training record) and named in the manifest. A probe already there,
 * trained on the same inputs with the same settings, defaults and trainer revision (trainingRequestKey), is reused
 * (so `resume` and reruns do not train again; a probe from an older infoprune is trained again).
 */
import { existsSync } from 'node:fs';
import { InvalidOptionError } from '../errors.js';
import { scoreFilePaths } from '../scores/files.js';
import type { ManifestProbe } from '../scores/manifest.js';
import { type TrainProbeOptions, type TrainProgress, trainingRequestKey } from '../train/options.js';
import { readTrainingRecord, type TrainingRecord } from '../train/record.js';
import { trainProbe } from '../train/train-probe.js';
import { sha256File } from '../util/hash.js';
import { expectObject, expectString } from '../util/validate.js';

/** What `score` may set of the probe's training (the rest follows the scoring run: inputs, reading, threads). */
export type ProbeTrainingOptions = Pick<
  TrainProbeOptions,
  'shape' | 'budgetTokens' | 'budgetSeconds' | 'seed' | 'sample' | 'patience'
>;

export interface ProbeRequest {
  path: string;
  training: TrainProbeOptions;
}

const PROBE_OPTION_KEYS = new Set(['shape', 'budgetTokens', 'budgetSeconds', 'seed', 'sample', 'patience']);

/** The probe to train for a run without a model, checked before anything is read; undefined when a model is given. */
export function probeRequestOf(options: {
  model?: string;
  out: string;
  inputs: readonly string[];
  shard?: unknown;
  probe?: ProbeTrainingOptions;
  threads?: number;
  gpuLayers?: number | 'max';
  verbose?: boolean;
  textField?: string;
  idField?: string;
  textMode?: 'file' | 'line';
  format?: TrainProbeOptions['format'];
  maxDocumentBytes?: number;
}): ProbeRequest | undefined {
  if (options.model !== undefined) {
    if (options.probe !== undefined) throw new InvalidOptionError('probe', 'probe applies only when no model is given');
    return undefined;
  }
  if (options.shard !== undefined) {
    throw new InvalidOptionError(
      'model',
      (name) =>
        `Sharded runs need ${name('model')}: every shard must score with the same probe (train one first with \`infoprune train\`)`,
    );
  }
  const probe = options.probe === undefined ? {} : expectObject('probe', options.probe);
  for (const key of Object.keys(probe)) {
    if (!PROBE_OPTION_KEYS.has(key))
      throw new InvalidOptionError(`probe.${key}`, `probe.${key} is not an option of the probe`);
  }
  const path = scoreFilePaths(expectString('out', options.out, { nonEmpty: true })).probe;
  const { textField, idField, textMode, format, maxDocumentBytes, threads, gpuLayers, verbose } = options;
  const training = {
    ...(probe as ProbeTrainingOptions),
    inputs: [...options.inputs],
    out: path,
    textField,
    idField,
    textMode,
    format,
    maxDocumentBytes,
    threads,
    gpuLayers,
    verbose,
  };
  return { path, training: dropUndefined(training) };
}

/** The probe at `request.path`: reused when it was trained for this very request, trained (again) otherwise. */
export async function ensureProbe(
  request: ProbeRequest,
  callbacks: {
    notice: (message: string) => void;
    onProgress?: (progress: TrainProgress) => void;
    signal?: AbortSignal;
  },
): Promise<ManifestProbe> {
  const existing = await reusableRecord(request);
  if (existing) {
    callbacks.notice(`Reusing the probe trained for this run: ${request.path}`);
    return manifestProbe(request.path, existing, true);
  }
  callbacks.notice(`No model given: training a probe on the corpus first (${request.path})`);
  const { record } = await trainProbe({
    ...request.training,
    overwrite: true,
    signal: callbacks.signal,
    onProgress: callbacks.onProgress,
  });
  return manifestProbe(request.path, record, false);
}

async function reusableRecord(request: ProbeRequest): Promise<TrainingRecord | null> {
  if (!existsSync(request.path)) return null;
  const record = readTrainingRecord(request.path);
  if (!record || record.model.sha256 !== (await sha256File(request.path))) return null;
  return JSON.stringify(record.request) === JSON.stringify(trainingRequestKey(request.training)) ? record : null;
}

function manifestProbe(path: string, record: TrainingRecord, reused: boolean): ManifestProbe {
  return {
    path,
    trainingRecord: `${path}.training.json`,
    reused,
    shape: record.shape.name,
    tokensSeen: record.training.tokensSeen,
    heldoutBitsPerByte: record.heldout.bitsPerByte,
    heldoutBitsPerToken: record.heldout.bitsPerToken,
    zlib9BitsPerByte: record.heldout.baselines.zlib9BitsPerByte,
    bigramBitsPerToken: record.heldout.baselines.bigramBitsPerToken,
  };
}

function dropUndefined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}
