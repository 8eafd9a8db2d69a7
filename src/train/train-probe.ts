/**
 * `trainProbe()` (behind `infoprune train`, and `infoprune score` without a model): the paper's data probe, a small
 * language model trained on the corpus it will score. The driver reads as its steps; each step is one call.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { nativeBinding } from '../engine/native.js';
import { openTokenizer } from '../engine/tokenizer.js';
import { InfopruneError } from '../errors.js';
import { MIN_VOCABULARY_SIZE } from '../gguf/random-model.js';
import { temporaryPathFor } from '../util/files.js';
import { sha256File } from '../util/hash.js';
import { packageVersion } from '../util/version.js';
import { writeInitialProbe } from './initial-model.js';
import { measureProbe } from './measure.js';
import {
  type ResolvedTrainOptions,
  resolveTrainOptions,
  TRAIN_DEFAULTS,
  type TrainProbeOptions,
  type TrainProgress,
  trainingRequestKey,
} from './options.js';
import { type TrainingRecord, writeTrainingRecord } from './record.js';
import { type ProbeCorpus, sampleCorpus } from './sample.js';
import { defaultBudgetTokens, planTraining, sampleTokensFor, type TrainingPlan } from './schedule.js';
import { type TokenStreams, tokenizeStreams } from './streams.js';
import { type TrainedModel, trainModel } from './train-model.js';
import { countPreTokens, learnVocabulary, type Vocabulary } from './vocabulary.js';

export interface TrainProbeResult {
  /** The probe's GGUF file. */
  path: string;
  record: TrainingRecord;
}

/** Text bytes per token assumed before the vocabulary exists (to size the sample). */
const ASSUMED_BYTES_PER_TOKEN = 4.5;

export async function trainProbe(options: TrainProbeOptions): Promise<TrainProbeResult> {
  // 1. Options, and an output we may write.
  const run = resolveTrainOptions(options);
  checkOutput(run);
  const started = performance.now();
  const progress = progressReporter(run, started);
  nativeBinding().setVerbose(run.verbose);

  // 2. The documents: a seeded sample of the corpus, split into training text and a held-out slice.
  const corpus = await readProbeCorpus(run, progress);

  // 3. The vocabulary, learned from the training text.
  progress({ phase: 'vocabulary' });
  const vocabulary = learnVocabulary(countPreTokens(vocabularySample(corpus)), run.shape.vocabularySize);
  checkVocabulary(vocabulary, run);

  // 4. The model before training: the vocabulary and seeded random weights.
  const initialPath = `${temporaryPathFor(run.out)}.initial`;
  try {
    const initial = writeInitialProbe(initialPath, run.shape, vocabulary, TRAIN_DEFAULTS.contextSize, run.seed);

    // 5. The documents as llama.cpp tokenizes them with that vocabulary, and the plan they allow.
    progress({ phase: 'tokenizing' });
    const streams = await tokenizeWith(initialPath, corpus, vocabulary.bosToken, run.signal);
    const plan = planFor(run, corpus, streams);

    // 6. Training, from the corpus's bigram statistics on; the probe written atomically and checked.
    const { seed, threads, gpuLayers, learningRate, warmupSteps, bigramFitIterations, patience, signal } = run;
    const trained = await trainModel({
      initialModel: initialPath,
      out: run.out,
      training: streams.training,
      heldout: streams.heldout,
      plan,
      ...{ seed, threads, gpuLayers, learningRate, warmupSteps, bigramFitIterations, patience, signal },
      keepBest: true,
      onProgress: progress,
    });

    // 7. The probe measured on the held-out documents, as `score` will load it.
    progress({ phase: 'measuring' });
    const vocabularyInfo = { bosToken: vocabulary.bosToken, size: vocabulary.tokens.length };
    const heldout = await measureProbe(run.out, corpus.heldout, streams, vocabularyInfo, run.threads);

    // 8. The training record beside it.
    const parts = {
      corpus,
      vocabulary,
      streams,
      plan,
      trained,
      heldout,
      started,
      request: trainingRequestKey(options),
    };
    const record = await buildRecord(run, { ...parts, parameterCount: initial.parameterCount });
    writeTrainingRecord(run.out, record);
    return { path: run.out, record };
  } catch (error) {
    throw asTrainingError(error);
  } finally {
    rmSync(initialPath, { force: true });
  }
}

async function tokenizeWith(
  model: string,
  corpus: ProbeCorpus,
  bosToken: number,
  signal?: AbortSignal,
): Promise<TokenStreams> {
  const tokenizer = openTokenizer(model);
  try {
    return await tokenizeStreams(tokenizer, corpus, bosToken, signal);
  } finally {
    tokenizer.close();
  }
}

async function readProbeCorpus(
  run: ResolvedTrainOptions,
  progress: (update: Partial<TrainProgress>) => void,
): Promise<ProbeCorpus> {
  progress({ phase: 'reading', documents: 0, bytes: 0 });
  const wantedTokens =
    sampleTokensFor(run.budgetTokens, run.budgetSeconds, run.gpuLayers) || TRAIN_DEFAULTS.budgetTokens;
  return sampleCorpus({
    inputs: run.inputs,
    reading: run.reading,
    trainingBytes: Math.min(TRAIN_DEFAULTS.maxSampleBytes, wantedTokens * ASSUMED_BYTES_PER_TOKEN),
    share: run.sample,
    heldoutInputs: run.heldout,
    seed: run.seed,
    signal: run.signal,
    onProgress: (read) => progress({ phase: 'reading', ...read }),
  });
}

/** A time budget plans up to the epoch cap and re-plans as the speed becomes known (src/train/loop.ts). */
function planFor(run: ResolvedTrainOptions, corpus: ProbeCorpus, streams: TokenStreams): TrainingPlan {
  if (run.budgetSeconds !== undefined) {
    return planTraining(Number.MAX_SAFE_INTEGER, run.budgetSeconds, streams.training.length);
  }
  const corpusTokens = corpus.estimatedTextBytes / streams.bytesPerToken;
  const budget = run.budgetTokens ?? defaultBudgetTokens(run.gpuLayers, corpusTokens);
  return planTraining(budget, undefined, streams.training.length);
}

function checkOutput(run: ResolvedTrainOptions): void {
  if (existsSync(run.out) && !run.overwrite) {
    throw new InfopruneError('OUTPUT_EXISTS', (name) => `${run.out} exists: pass ${name('overwrite')} to replace it`);
  }
  if (!existsSync(dirname(run.out)) || !statSync(dirname(run.out)).isDirectory()) {
    throw new InfopruneError('OUTPUT_NOT_WRITABLE', `The folder of ${run.out} does not exist`);
  }
}

/** A text that repeats too little to learn merges from (one short line, the same word over and over) is too small. */
function checkVocabulary(vocabulary: Vocabulary, run: ResolvedTrainOptions): void {
  if (vocabulary.tokens.length < MIN_VOCABULARY_SIZE) {
    throw new InfopruneError(
      'CORPUS_TOO_SMALL',
      `The training text yields only ${vocabulary.tokens.length} tokens of vocabulary (${run.shape.vocabularySize} asked, at least ${MIN_VOCABULARY_SIZE} needed): give the probe more, or more varied, text`,
    );
  }
}

/** The first `vocabularySampleBytes` of the training text (the sample is already spread over the corpus). */
function* vocabularySample(corpus: ProbeCorpus): Generator<string> {
  let bytes = 0;
  for (const text of corpus.training) {
    if (bytes >= TRAIN_DEFAULTS.vocabularySampleBytes) return;
    bytes += text.length;
    yield text;
  }
}

function progressReporter(run: ResolvedTrainOptions, started: number): (update: Partial<TrainProgress>) => void {
  const state: TrainProgress = {
    phase: 'reading',
    steps: 0,
    totalSteps: 0,
    tokens: 0,
    totalTokens: 0,
    tokensPerSecond: 0,
    elapsedSeconds: 0,
  };
  return (update) => {
    Object.assign(state, update, { elapsedSeconds: (performance.now() - started) / 1000 });
    run.onProgress?.({ ...state });
  };
}

/** llama.cpp's own failures (it could not build, train or save the model) become TRAINING_FAILED. */
function asTrainingError(error: unknown): unknown {
  if (
    error instanceof InfopruneError ||
    (error as Error)?.name === 'AbortError' ||
    (error as Error)?.name === 'TypeError'
  )
    return error;
  return new InfopruneError('TRAINING_FAILED', `Training the probe failed: ${(error as Error).message}`, {
    cause: error,
  });
}

interface RecordParts {
  corpus: ProbeCorpus;
  vocabulary: Vocabulary;
  streams: TokenStreams;
  plan: TrainingPlan;
  trained: TrainedModel;
  heldout: TrainingRecord['heldout'];
  parameterCount: number;
  started: number;
  request: Record<string, unknown>;
}

async function buildRecord(run: ResolvedTrainOptions, parts: RecordParts): Promise<TrainingRecord> {
  const { corpus, vocabulary, streams } = parts;
  const trained = parts.trained.loop;
  return {
    version: 1,
    createdAt: new Date().toISOString(),
    infoprune: packageVersion,
    model: {
      path: run.out,
      sha256: await sha256File(run.out),
      bytes: statSync(run.out).size,
      parameterCount: parts.parameterCount,
    },
    inputs: run.inputs,
    request: parts.request,
    shape: {
      name: run.shapeName,
      ...run.shape,
      vocabularySize: vocabulary.tokens.length,
      contextSize: TRAIN_DEFAULTS.contextSize,
    },
    vocabulary: {
      size: vocabulary.tokens.length,
      merges: vocabulary.merges.length,
      sampleBytes: Math.min(corpus.trainingBytes, TRAIN_DEFAULTS.vocabularySampleBytes),
      bytesPerToken: streams.bytesPerToken,
    },
    data: {
      documentsRead: corpus.documentsRead,
      share: corpus.share,
      trainingDocuments: corpus.training.length,
      trainingBytes: corpus.trainingBytes,
      trainingTokens: streams.training.length,
      heldoutDocuments: corpus.heldout.length,
      heldoutBytes: corpus.heldoutBytes,
      heldoutTokens: streams.heldoutDocuments.reduce((sum, tokens) => sum + tokens.length, 0),
    },
    training: {
      seed: run.seed,
      threads: run.threads,
      gpuLayers: run.gpuLayers,
      budget: {
        tokens: run.budgetSeconds === undefined ? parts.plan.budgetTokens : null,
        seconds: run.budgetSeconds ?? null,
      },
      steps: trained.steps,
      keptStep: trained.keptStep,
      patience: run.patience,
      stoppedEarly: trained.stoppedEarly,
      tokensSeen: trained.tokensSeen,
      epochs: trained.tokensSeen / streams.training.length,
      learningRate: run.learningRate,
      warmupSteps: run.warmupSteps,
      initialisation: run.bigramFitIterations > 0 ? 'bigram-fit' : 'bigram-spectral',
      bigramFitIterations: run.bigramFitIterations,
      embeddingChange: parts.trained.embeddingChange,
      seconds: trained.seconds,
      tokensPerSecond: trained.tokensSeen / trained.seconds,
      curve: trained.curve,
    },
    heldout: parts.heldout,
    totalSeconds: (performance.now() - parts.started) / 1000,
  };
}
