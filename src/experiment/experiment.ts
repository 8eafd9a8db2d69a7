/**
 * `runExperiment()` (behind `infoprune experiment`): the paper's comparison on the user's corpus. Which pruning
 * helps is measured by training fresh target models on each strategy's subset and on the full pool, at the same
 * seeds, and evaluating them on held-out documents. The driver reads as its steps; each step is one call.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openScorer } from '../engine/scorer.js';
import { openTokenizer } from '../engine/tokenizer.js';
import { InfopruneError } from '../errors.js';
import { MIN_VOCABULARY_SIZE } from '../gguf/random-model.js';
import { writeInitialProbe } from '../train/initial-model.js';
import { TRAIN_DEFAULTS } from '../train/options.js';
import { readTrainingRecord } from '../train/record.js';
import { joinWithBos, tokenizeAll } from '../train/streams.js';
import { trainProbe } from '../train/train-probe.js';
import { countPreTokens, learnVocabulary } from '../train/vocabulary.js';
import { writeFileAtomic } from '../util/files.js';
import { packageVersion } from '../util/version.js';
import { type Analysis, analyse } from './analysis.js';
import { type ExperimentData, readExperimentData, writeDataFiles } from './data.js';
import { renderExperimentMarkdown } from './markdown.js';
import {
  type ExperimentOptions,
  type ExperimentProgress,
  experimentKey,
  type ResolvedExperimentOptions,
  resolveExperimentOptions,
} from './options.js';
import { FULL, type PlannedRun, planRuns, type RunResult, tokensFor } from './plan.js';
import { renderExperimentReport } from './report.js';
import {
  type ExperimentFiles,
  experimentFiles,
  finishedRun,
  prepareFolder,
  type ResultsFile,
  writeResults,
  writeRun,
} from './results.js';
import { buildSubsets, type PoolScores, type Subset, subsetKey } from './subsets.js';
import { trainAndEvaluateTarget } from './targets.js';

export interface ExperimentResult {
  /** results.json, report.html and summary.md. */
  results: string;
  report: string;
  summary: string;
  runs: RunResult[];
  analysis: Analysis;
  /** Runs an earlier session had finished (not trained again). */
  resumedRuns: number;
}

type Report = (update: Partial<ExperimentProgress>) => void;

export async function runExperiment(options: ExperimentOptions): Promise<ExperimentResult> {
  // 1. Options, and the folder: a new experiment, or the same one continued from its finished runs.
  const run = resolveExperimentOptions(options);
  const files = experimentFiles(run.out);
  prepareFolder(files, experimentKey(run), run.overwrite);
  const plan = planRuns(run);
  const progress = progressReporter(run, plan.length);

  // 2. The documents: the training pool and the held-out slice, disjoint by document.
  progress({ phase: 'reading' });
  const data = await readExperimentData(run);
  const dataFiles = writeDataFiles(files.data, data);

  // 3. The probe: the one given, or one trained on the pool alone (kept from an earlier session).
  const probe = await probeFor(run, files, dataFiles, progress);

  // 4. The targets' vocabulary (learned from the pool, shared by every target) and every document's tokens.
  progress({ phase: 'vocabulary' });
  const targets = await prepareTargets(run, files, data, progress);

  // 5. The probe's scores of the pool, and each strategy × ratio's subset, cut by select() as `prune` cuts, with
  //    budgets in the targets' tokens (each document with its BOS separator, as it is trained).
  progress({ phase: 'scoring' });
  const scores = await poolScores(run, files, probe, data);
  const trainedTokens = targets.poolTokens.map((tokens) => tokens.length + 1);
  const subsets = buildSubsets(data.pool, scores, trainedTokens, run);

  // 6. The runs, seed by seed: trained, evaluated and written one by one (a killed experiment resumes here).
  try {
    const { results, resumed } = await trainRuns(run, files, plan, subsets, targets, progress);

    // 7. What they say: results.json and report.html.
    const analysis = analyse(results);
    const resultsFile: ResultsFile = {
      version: 1,
      createdAt: new Date().toISOString(),
      infoprune: packageVersion,
      setup: setupRecord(run, data, targets, probe),
      runs: results,
      analysis,
    };
    writeResults(files, resultsFile);
    writeFileAtomic(files.report, renderExperimentReport(resultsFile));
    writeFileAtomic(files.summary, renderExperimentMarkdown(resultsFile));
    progress({ phase: 'done', runsDone: plan.length });
    return {
      results: files.results,
      report: files.report,
      summary: files.summary,
      runs: results,
      analysis,
      resumedRuns: resumed,
    };
  } finally {
    if (!run.keepModels) for (const path of targets.initialModels.values()) rmSync(path, { force: true });
  }
}

async function probeFor(
  run: ResolvedExperimentOptions,
  files: ExperimentFiles,
  dataFiles: { pool: string; heldout: string },
  progress: Report,
): Promise<string> {
  if (run.model !== undefined) return run.model;
  if (existsSync(files.probe)) return files.probe;
  progress({ phase: 'probe' });
  await trainProbe({
    inputs: [dataFiles.pool],
    heldout: [dataFiles.heldout],
    out: files.probe,
    shape: run.probeShape,
    budgetTokens: run.probeBudgetTokens,
    threads: run.threads,
    signal: run.signal,
    onProgress: (update) => progress({ phase: 'probe', steps: update.steps, totalSteps: update.totalSteps }),
  });
  return files.probe;
}

/** The probe's scores of every pool document, as `score` computes them (kept for a resumed session). */
async function poolScores(
  run: ResolvedExperimentOptions,
  files: ExperimentFiles,
  probe: string,
  data: ExperimentData,
): Promise<PoolScores[]> {
  if (existsSync(files.poolScores)) {
    const cached = JSON.parse(readFileSync(files.poolScores, 'utf8')) as PoolScores[];
    if (cached.length === data.pool.length) return cached;
  }
  const scorer = await openScorer({ model: probe, threads: run.threads });
  try {
    const results = await scorer.score(data.pool.map((document) => document.text));
    const scores = results.map(({ tokens, nll, bytes, bitsPerToken, bitsPerByte }) => ({
      tokens,
      nll,
      bytes,
      bitsPerToken,
      bitsPerByte,
    }));
    writeFileAtomic(files.poolScores, JSON.stringify(scores));
    return scores;
  } finally {
    await scorer.close();
  }
}

interface Targets {
  /** Each seed's model before training: one vocabulary, one shape, the seed's random weights. */
  initialModels: Map<number, string>;
  bosToken: number;
  vocabularySize: number;
  /** Every pool document's tokens, the full pool's stream, and the held-out documents. */
  poolTokens: Int32Array[];
  fullStream: Int32Array;
  heldoutStream: Int32Array;
  heldoutTexts: string[];
  heldoutTokens: number;
}

async function prepareTargets(
  run: ResolvedExperimentOptions,
  files: ExperimentFiles,
  data: ExperimentData,
  progress: Report,
): Promise<Targets> {
  const vocabulary = learnVocabulary(
    countPreTokens(data.pool.map((document) => document.text)),
    run.shape.vocabularySize,
  );
  if (vocabulary.tokens.length < MIN_VOCABULARY_SIZE) {
    throw new InfopruneError(
      'CORPUS_TOO_SMALL',
      `The pool yields only ${vocabulary.tokens.length} tokens of vocabulary (at least ${MIN_VOCABULARY_SIZE} needed): give the experiment more text`,
    );
  }
  const initialModels = new Map<number, string>();
  for (const seed of run.seeds) {
    const path = join(files.models, `initial-seed${seed}.gguf`);
    writeInitialProbe(path, run.shape, vocabulary, TRAIN_DEFAULTS.contextSize, seed);
    initialModels.set(seed, path);
  }
  progress({ phase: 'tokenizing' });
  const tokenizer = openTokenizer(initialModels.get(run.seeds[0])!);
  try {
    const poolTokens = await tokenizeAll(
      tokenizer,
      data.pool.map((document) => document.text),
      run.signal,
    );
    const heldoutDocuments = await tokenizeAll(tokenizer, data.heldout, run.signal);
    return {
      initialModels,
      bosToken: vocabulary.bosToken,
      vocabularySize: vocabulary.tokens.length,
      poolTokens,
      fullStream: joinWithBos(poolTokens, vocabulary.bosToken),
      heldoutStream: joinWithBos(heldoutDocuments, vocabulary.bosToken),
      heldoutTexts: data.heldout,
      heldoutTokens: heldoutDocuments.reduce((sum, tokens) => sum + tokens.length, 0),
    };
  } finally {
    tokenizer.close();
  }
}

/** A planned run with what it trains on: its kept documents and its tokens. */
interface Job {
  run: PlannedRun;
  kept: number[] | null;
  keptTokens: number;
  keptDocuments: number;
  keptFraction: number;
  tokens: number;
  done: RunResult | undefined;
}

function jobsFor(
  run: ResolvedExperimentOptions,
  files: ExperimentFiles,
  plan: PlannedRun[],
  subsets: Map<string, Subset>,
  targets: Targets,
): Job[] {
  const fullTokens = targets.fullStream.length;
  return plan.map((planned) => {
    const subset =
      planned.strategy === FULL ? null : subsets.get(subsetKey(planned.strategy, planned.ratio, planned.seed))!;
    const keptTokens = subset === null ? fullTokens : subset.keptTokens;
    const keptFraction = keptTokens / fullTokens;
    return {
      run: planned,
      kept: subset?.kept ?? null,
      keptTokens,
      keptDocuments: subset?.kept.length ?? targets.poolTokens.length,
      keptFraction,
      tokens: tokensFor(planned, run.budgetTokens, keptFraction),
      done: finishedRun(files, planned),
    };
  });
}

async function trainRuns(
  run: ResolvedExperimentOptions,
  files: ExperimentFiles,
  plan: PlannedRun[],
  subsets: Map<string, Subset>,
  targets: Targets,
  progress: Report,
): Promise<{ results: RunResult[]; resumed: number }> {
  const jobs = jobsFor(run, files, plan, subsets, targets);
  const resumed = jobs.filter((job) => job.done !== undefined).length;
  let remainingTokens = jobs.reduce((sum, job) => sum + (job.done ? 0 : job.tokens), 0);
  const speed = { tokens: 0, seconds: 0 };
  const results: RunResult[] = [];
  progress({ phase: 'training', runsDone: resumed, runsResumed: resumed });
  for (const job of jobs) {
    if (job.done) {
      results.push(job.done);
      continue;
    }
    const training =
      job.kept === null
        ? targets.fullStream
        : joinWithBos(
            job.kept.map((i) => targets.poolTokens[i]),
            targets.bosToken,
          );
    const target = await trainAndEvaluateTarget({
      initialModel: targets.initialModels.get(job.run.seed)!,
      out: join(files.models, `${job.run.key}.gguf`),
      keep: run.keepModels,
      training,
      heldoutStream: targets.heldoutStream,
      heldoutTexts: targets.heldoutTexts,
      tokens: job.tokens,
      seed: job.run.seed,
      threads: run.threads,
      signal: run.signal,
      onProgress: (update) => {
        if (update.phase !== 'training') return;
        const perSecond = speed.seconds > 0 ? speed.tokens / speed.seconds : (update.tokensPerSecond ?? 0);
        const left = remainingTokens - (update.tokens ?? 0);
        const etaSeconds = perSecond > 0 ? left / perSecond : undefined;
        progress({
          run: job.run.key,
          steps: update.steps,
          totalSteps: update.totalSteps,
          tokensPerSecond: perSecond,
          etaSeconds,
        });
      },
    });
    const result = resultOf(job, target);
    writeRun(files, result);
    results.push(result);
    speed.tokens += result.tokens_trained;
    speed.seconds += result.seconds;
    remainingTokens -= job.tokens;
    progress({ runsDone: results.length });
  }
  return { results, resumed };
}

function resultOf(job: Job, target: Awaited<ReturnType<typeof trainAndEvaluateTarget>>): RunResult {
  const { key, strategy, ratio, regime, seed } = job.run;
  return {
    key,
    strategy,
    ratio,
    regime,
    seed,
    tokens_trained: target.tokensTrained,
    heldout_bits_per_byte: target.heldoutBitsPerByte,
    heldout_bits_per_token: target.heldoutBitsPerToken,
    seconds: target.seconds,
    kept_fraction: job.keptFraction,
    kept_tokens: job.keptTokens,
    kept_documents: job.keptDocuments,
    steps: target.steps,
  };
}

function setupRecord(
  run: ResolvedExperimentOptions,
  data: ExperimentData,
  targets: Targets,
  probe: string,
): Record<string, unknown> {
  const probeRecord = readTrainingRecord(probe);
  return {
    inputs: run.inputs,
    pool: { documents: data.pool.length, bytes: data.poolBytes, tokens: targets.fullStream.length },
    heldout: {
      documents: data.heldout.length,
      bytes: data.heldoutBytes,
      tokens: targets.heldoutTokens,
      from: run.heldout ?? 'a seeded slice of the inputs',
    },
    probe: {
      path: probe,
      trained: run.model === undefined,
      heldoutBitsPerByte: probeRecord?.heldout.bitsPerByte ?? null,
    },
    targets: { shape: run.shape, vocabularySize: targets.vocabularySize, budgetTokens: run.budgetTokens },
    strategies: run.strategies,
    pruneRatios: run.pruneRatios,
    pruneBy: run.pruneBy,
    regimes: run.regimes,
    seeds: run.seeds,
    threads: run.threads,
  };
}

function progressReporter(run: ResolvedExperimentOptions, runsTotal: number): Report {
  const started = performance.now();
  const state: ExperimentProgress = { phase: 'reading', runsDone: 0, runsTotal, runsResumed: 0, elapsedSeconds: 0 };
  return (update) => {
    // A new phase starts without the last one's steps (the probe's steps were shown as a run's, named undefined).
    if (update.phase !== undefined && update.phase !== state.phase) {
      state.run = state.steps = state.totalSteps = undefined;
    }
    Object.assign(state, update, { elapsedSeconds: (performance.now() - started) / 1000 });
    run.onProgress?.({ ...state });
  };
}
