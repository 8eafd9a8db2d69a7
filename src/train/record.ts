/**
 * The training record: a JSON file beside the probe (`<probe>.training.json`) that says how it was made and how good
 * it is: shape, vocabulary, data, budget, the loss curve, held-out bits per byte and per token against zlib, xz and a
 * bigram model of the same tokens, seed and time. `score` reads it to reuse a probe on `--resume`.
 */
import { readFileSync } from 'node:fs';
import { InfopruneError } from '../errors.js';
import { writeFileAtomic } from '../util/files.js';
import type { CompressorBaselines, CountModelBaselines } from './baselines.js';
import type { EarlyStop, ProbeShape } from './options.js';

export const TRAINING_RECORD_VERSION = 1;

export interface CurvePoint {
  step: number;
  tokens: number;
  seconds: number;
  /** Mean training loss since the previous point, nats per token (null at step 0). */
  trainLoss: number | null;
  /** Loss on windows of the held-out stream, nats per token (null when the held-out text is under one window). */
  heldoutLoss: number | null;
}

export interface TrainingRecord {
  version: number;
  createdAt: string;
  infoprune: string;
  model: { path: string; sha256: string; bytes: number; parameterCount: number };
  inputs: string[];
  /** The options that decided this training (`score` reuses a probe only for the same ones). */
  request: Record<string, unknown>;
  shape: ProbeShape & { name: string; contextSize: number };
  vocabulary: { size: number; merges: number; sampleBytes: number; bytesPerToken: number };
  data: {
    documentsRead: number;
    share: number;
    trainingDocuments: number;
    trainingBytes: number;
    trainingTokens: number;
    heldoutDocuments: number;
    heldoutBytes: number;
    heldoutTokens: number;
  };
  training: {
    seed: number;
    threads: number;
    gpuLayers: number;
    budget: { tokens: number | null; seconds: number | null };
    steps: number;
    /** The step whose weights the probe has: the best held-out curve point (step 0 is the bigram initialisation). */
    keptStep: number;
    /** Curve points in a row without a new best after which the run stops (0: it never stops early). */
    patience: number;
    /** Where the run stopped before its budget because patience ran out (`steps` is then that step), or null. */
    stoppedEarly: EarlyStop | null;
    tokensSeen: number;
    epochs: number;
    learningRate: number;
    warmupSteps: number;
    /** The spectral factorisation of the bigram, then (bigram-fit) that many full-batch steps fitting it. */
    initialisation: 'bigram-spectral' | 'bigram-fit';
    bigramFitIterations: number;
    embeddingChange: number;
    seconds: number;
    tokensPerSecond: number;
    curve: CurvePoint[];
  };
  heldout: {
    bitsPerByte: number;
    bitsPerToken: number;
    baselines: CompressorBaselines & CountModelBaselines;
    /** The probe's bits per byte relative to zlib -9's (0.8 = 20 % fewer bits). */
    vsZlib9: number;
    /** The probe's bits per token minus the bigram's (negative = better). */
    vsBigramBitsPerToken: number;
  };
  totalSeconds: number;
}

export function trainingRecordPath(probePath: string): string {
  return `${probePath}.training.json`;
}

export function writeTrainingRecord(probePath: string, record: TrainingRecord): void {
  writeFileAtomic(trainingRecordPath(probePath), `${JSON.stringify(record, null, 2)}\n`, { durable: true });
}

/** The record beside a probe, or null when there is none; throws SCORES_INVALID-like errors for a malformed one. */
export function readTrainingRecord(probePath: string): TrainingRecord | null {
  let text: string;
  try {
    text = readFileSync(trainingRecordPath(probePath), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const record = JSON.parse(text) as TrainingRecord;
  if (record.version !== TRAINING_RECORD_VERSION || typeof record.model?.sha256 !== 'string') {
    throw new InfopruneError(
      'TRAINING_FAILED',
      `${trainingRecordPath(probePath)} is not a training record of this version`,
    );
  }
  return record;
}
