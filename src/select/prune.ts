/**
 * `pruneCorpus` (behind `infoprune prune`): join the scores to the corpus, measure, select, and write the kept corpus,
 * the pruned list, `selection.json` and `report.html`, atomically. Every pass is sequential and in bounded memory:
 *
 * 1. join (src/select/join.ts): the corpus and the score file into a spill file, every id checked;
 * 2. cut search (src/select/cuts.ts): 2–9 scans of the spill file find the exact boundary documents;
 * 3. output (src/select/output-pass.ts): the corpus again beside the spill file, each record kept or pruned;
 * 4. the summary and the report.
 *
 * Everything is written into a temporary folder beside `<out>` and renamed to `<out>` only when complete; on any
 * error it is removed, so `<out>` either does not exist or is whole. An existing `<out>` is refused.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type ReadingOptions, resolveReadingOptions } from '../corpus/options.js';
import { type ReadCorpusOptions, readCorpus } from '../corpus/read.js';
import { BufferedFileWriter, KeptCorpusWriter } from '../corpus/write.js';
import { InfopruneError, InvalidOptionError } from '../errors.js';
import { scoreFilePaths } from '../scores/files.js';
import { readManifest, type ScoreManifest } from '../scores/manifest.js';
import { OutputLock } from '../scores/output-safety.js';
import { WordFrequencyTable } from '../text/word-frequency.js';
import { WORD_BREAKER_ICU, WORD_DEFINITION_VERSION } from '../text/words.js';
import { replaceAtomically } from '../util/files.js';
import { expectBoolean, expectFunction, expectSignal, expectString, invalidParameterError } from '../util/validate.js';
import { type CorpusReader, type JoinResult, joinScoresToCorpus } from './join.js';
import { MeasuredSpill } from './measured.js';
import { METRICS, type MetricDefinition } from './metrics.js';
import { type OutputPassResult, outputPass } from './output-pass.js';
import { type CutPoint, type Cuts, KeepRule } from './plan.js';
import { renderReport } from './report.js';
import { groupShares, nearCuts, quantileRows, setUpReportViews } from './report-inputs.js';
import { scoredRecords } from './score-skips.js';
import { DuplicateIdFinder, SpillFile } from './spill.js';
import { resolveSelectionSpec, type SelectionOptions, type SelectionSpec } from './strategies.js';
import {
  buildSelectionSummary,
  HistogramAccumulator,
  type ModelFacts,
  type SelectionFacts,
  type SelectionSummary,
} from './summary.js';
import type { NearCut, ReportViews } from './views.js';

export type { CorpusReader };

export interface PruneOptions extends SelectionOptions, ReadingOptions {
  /** Corpus files, folders or globs, as given to `infoprune score`. */
  inputs: readonly string[];
  /** Output folder; must not exist. */
  out: string;
  /** Score file (JSONL or Parquet) from `infoprune score`; needed by every metric but `zlib-ratio` and `word-entropy`. */
  scores?: string;
  /** Word-frequency table; default `<scores>.words.bin`. */
  wordFrequencies?: string;
  /** Group documents by this field (JSONL) or column (Parquet), e.g. a domain or subset; default: by source file. */
  groupField?: string;
  /** Write only `selection.json` and `report.html`. */
  dryRun?: boolean;
  readCorpus?: CorpusReader;
  /** Progress and notes, one line each. */
  log?: (message: string) => void;
  signal?: AbortSignal;
}

export interface PruneResult {
  out: string;
  summary: SelectionSummary;
}

/** A prune's options resolved, and the files its metric needs found and loaded. */
interface PrunePlan {
  out: string;
  spec: SelectionSpec;
  metric: MetricDefinition;
  inputs: string[];
  scoresPath: string | null;
  wordFrequencyPath: string | null;
  wordFrequencies?: WordFrequencyTable;
  reader: CorpusReader;
  readOptions: ReadCorpusOptions;
  configuration: SelectionFacts['configuration'];
  /** What the inputs make worth saying before any pass (an old word table). */
  warnings: string[];
  /** The probe model behind the scores, from their manifest. */
  model: ModelFacts | null;
  dryRun: boolean;
  log: (message: string) => void;
  signal?: AbortSignal;
}

/** Runs a whole prune (see the module comment). Resolves with the output folder and the summary. */
export async function pruneCorpus(options: PruneOptions): Promise<PruneResult> {
  const started = performance.now();
  // 1. Options resolved once; the scores and word table the metric needs found and loaded.
  const plan = resolvePrunePlan(options);
  // 2. The output locked for this run (a second prune writing it fails at once), then everything written into a
  //    temporary folder, renamed to `out` once complete (and refused if `out` appeared).
  mkdirSync(dirname(plan.out), { recursive: true });
  const lock = OutputLock.acquire(plan.out, `The output folder ${options.out}`);
  let summary: SelectionSummary;
  try {
    if (existsSync(plan.out)) throw outputExists(options.out, (name) => `remove it or choose another ${name('out')}`);
    summary = await replaceAtomically(plan.out, (temporary) => pruneInto(plan, temporary, started), {
      beforeRename: () => {
        if (existsSync(plan.out)) throw outputExists(options.out, () => 'it appeared while prune was running');
      },
    });
  } finally {
    lock.release();
  }
  plan.log(`Kept ${summary.counts.kept} of ${summary.counts.documents} documents; wrote ${options.out}`);
  return { out: plan.out, summary };
}

/** The passes, writing into `folder`. */
async function pruneInto(plan: PrunePlan, folder: string, started: number): Promise<SelectionSummary> {
  mkdirSync(folder);
  const spill = new SpillFile(join(folder, '.spill.bin'));
  const duplicates = new DuplicateIdFinder(folder);
  try {
    // 3. Join the scores to the corpus through the spill file, every id checked.
    const { reader, inputs, readOptions, signal, log } = plan;
    const joined = await joinScoresToCorpus({ ...plan, reader, inputs, readOptions, spill, duplicates, signal, log });
    duplicates.close();
    if (joined.documents === 0) {
      throw new InfopruneError('NO_DOCUMENTS', `No readable documents in ${plan.inputs.join(', ')}`);
    }
    log(`Joined ${joined.documents} documents (${joined.mode})`);
    // 4. Measure, and find the rule's exact cuts with a few scans of the spill file.
    const measured = new MeasuredSpill(spill, plan.metric, joined);
    const rule = new KeepRule(plan.spec, joined.documents, joined.tokens, joined.groupTotals);
    const values = measured.valueRange();
    rule.resolve(measured.totalWeight(rule), measured.keyScan(rule));
    const cuts = rule.cuts(measured.sortedSources);
    log(`Cut search: ${rule.scans} scan(s) of the spill file`);
    // 5. The report's views (quantiles: a few more scans), then the output pass: kept corpus, pruned list, views.
    const tokensKnown = joined.tokens !== null;
    const setup = setUpReportViews(measured, rule, cuts, joined.groups, tokensKnown, values);
    const written = await writeSelection(plan, folder, { measured, rule, cuts, values, joined, views: setup.views });
    spill.close();
    // 6. selection.json and report.html.
    const { spec, metric, configuration } = plan;
    const seconds = (performance.now() - started) / 1000;
    for (const warning of plan.warnings) log(`Warning: ${warning}`);
    const unit = tokensKnown ? ('tokens' as const) : ('bytes' as const);
    const views = {
      groups: groupShares(setup, cuts, tokensKnown),
      lengthBias: { unit, buckets: setup.views.lengths.result() },
      quantiles: quantileRows(setup, measured, tokensKnown),
      curve: { unit, points: setup.views.curve.points() },
    };
    const facts = { spec, metric, configuration, warnings: plan.warnings, model: plan.model, views };
    const summary = buildSelectionSummary({ ...facts, joined, rule, cuts, values, written, seconds });
    writeReportFiles(folder, summary, written, values, nearCuts(setup));
    return summary;
  } catch (error) {
    try {
      spill.close();
    } catch {
      // already closed
    }
    duplicates.close();
    throw error;
  }
}

function resolvePrunePlan(options: PruneOptions): PrunePlan {
  if (typeof options !== 'object' || options === null) throw invalidParameterError('options', 'object', options);
  const inputs = resolveInputs(options.inputs);
  expectString('out', options.out, { nonEmpty: true });
  if (options.scores !== undefined) expectString('scores', options.scores, { nonEmpty: true });
  if (options.wordFrequencies !== undefined) {
    expectString('wordFrequencies', options.wordFrequencies, { nonEmpty: true });
  }
  const reading = resolveReadingOptions(options);
  const dryRun = options.dryRun === undefined ? false : expectBoolean('dryRun', options.dryRun);
  const reader = expectFunction<CorpusReader>('readCorpus', options.readCorpus) ?? readCorpus;
  const log = expectFunction<(message: string) => void>('log', options.log) ?? (() => {});
  const signal = expectSignal('signal', options.signal);
  const spec = resolveSelectionSpec(options);
  const metric = METRICS[spec.metric];
  const out = resolve(options.out);
  if (existsSync(out)) throw outputExists(options.out, (name) => `remove it or choose another ${name('out')}`);
  const scoresPath = findScores(options, spec, metric);
  const { wordFrequencyPath, wordFrequencies } = loadWordFrequencies(options, spec, metric, scoresPath);
  const { textField, idField, maxDocumentBytes } = options;
  const groupField =
    options.groupField === undefined ? null : expectString('groupField', options.groupField, { nonEmpty: true });
  const readOptions: ReadCorpusOptions = { textField, idField, textMode: reading.textMode, format: reading.format };
  if (maxDocumentBytes !== undefined) readOptions.maxDocumentBytes = maxDocumentBytes;
  if (groupField !== null) readOptions.groupField = groupField;
  const configuration = {
    scores: scoresPath,
    wordFrequencies: wordFrequencyPath,
    inputs,
    textField: textField ?? null,
    idField: idField ?? null,
    textMode: reading.textMode,
    format: reading.format,
    groupField,
    dryRun,
  };
  return {
    out,
    spec,
    metric,
    inputs,
    scoresPath,
    wordFrequencyPath,
    wordFrequencies,
    reader,
    readOptions,
    configuration,
    warnings: wordTableWarnings(wordFrequencies),
    model: modelOfScores(scoresPath),
    dryRun,
    log,
    signal,
  };
}

function resolveInputs(inputs: unknown): string[] {
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw invalidParameterError('inputs', 'non-empty array of paths', inputs);
  }
  for (let i = 0; i < inputs.length; i++) expectString(`inputs[${i}]`, inputs[i], { nonEmpty: true });
  return [...inputs];
}

function outputExists(out: string, why: (name: (option: string) => string) => string): InfopruneError {
  return new InfopruneError('OUTPUT_EXISTS', (name) => `Output folder already exists: ${out} (${why(name)})`);
}

/** The score file, when given; required by model-based metrics and by token budgets. */
function findScores(options: PruneOptions, spec: SelectionSpec, metric: MetricDefinition): string | null {
  const scoresPath = options.scores ?? null;
  if ((metric.needsScores || spec.budget.kind === 'keep-tokens') && scoresPath === null) {
    throw new InvalidOptionError(
      'scores',
      spec.budget.kind === 'keep-tokens' && !metric.needsScores
        ? (name) => `${name('keepTokens')} needs token counts: pass the scores file (${name('scores')})`
        : (name) => `Metric "${spec.metric}" needs the scores file (${name('scores')})`,
    );
  }
  if (scoresPath !== null && !existsSync(scoresPath)) {
    throw new InfopruneError('SCORES_NOT_FOUND', `Scores file not found: ${scoresPath}`);
  }
  return scoresPath;
}

/** The word-frequency table, for the metrics that read it: given, or beside the scores. */
function loadWordFrequencies(
  options: PruneOptions,
  spec: SelectionSpec,
  metric: MetricDefinition,
  scoresPath: string | null,
): { wordFrequencyPath: string | null; wordFrequencies?: WordFrequencyTable } {
  if (!metric.needsWordFrequencies) return { wordFrequencyPath: null };
  const path = options.wordFrequencies ?? (scoresPath === null ? null : scoreFilePaths(scoresPath).words);
  if (path === null) {
    throw new InvalidOptionError(
      'wordFrequencies',
      (name) =>
        `Metric "${spec.metric}" needs the word-frequency table: pass ${name('wordFrequencies')}, or ${name('scores')} with <scores>.words.bin beside it`,
    );
  }
  if (!existsSync(path)) {
    throw new InfopruneError(
      'SCORES_NOT_FOUND',
      (name) =>
        `Word-frequency table not found: ${path} (written by infoprune score beside the scores; or pass ${name('wordFrequencies')})`,
    );
  }
  return { wordFrequencyPath: path, wordFrequencies: WordFrequencyTable.load(path) };
}

/** The probe model of the scores, from their manifest (absent for hand-made score files). */
function modelOfScores(scoresPath: string | null): ModelFacts | null {
  if (scoresPath === null) return null;
  let manifest: ScoreManifest;
  try {
    manifest = readManifest(scoresPath);
  } catch {
    return null;
  }
  const { path, sha256, architecture, description, parameterCount } = manifest.model;
  const { contextSize, stride } = manifest.scoring;
  return { path, sha256, architecture, description, parameterCount, contextSize, stride };
}

/** What the user should know about the word table: counted under another word definition or word breaker. */
function wordTableWarnings(table: WordFrequencyTable | undefined): string[] {
  if (table === undefined) return [];
  if (table.wordDefinition !== WORD_DEFINITION_VERSION) {
    return [
      `The word-frequency table was counted under word definition ${table.wordDefinition} (an older infoprune, which kept runs of Han, Kana, Thai, Lao, Khmer and Myanmar text whole), while H(W,f) now splits them into words: score again for consistent word entropies of such texts.`,
    ];
  }
  if (table.icu !== null && WORD_BREAKER_ICU !== null && table.icu !== WORD_BREAKER_ICU) {
    return [
      `The word-frequency table was counted with ICU ${table.icu}, this process splits words with ICU ${WORD_BREAKER_ICU}: word entropies of Han, Kana, Thai, Lao, Khmer and Myanmar texts may differ slightly.`,
    ];
  }
  return [];
}

interface Measured {
  measured: MeasuredSpill;
  rule: KeepRule;
  cuts: Cuts;
  values: { min: number; max: number };
  joined: JoinResult;
  views: ReportViews;
}

/** The output pass, with the kept-corpus and pruned-list writers (none on a dry run). */
async function writeSelection(
  plan: PrunePlan,
  folder: string,
  { measured, rule, cuts, values, joined, views }: Measured,
): Promise<OutputPassResult & { keptFiles: string[] }> {
  const { textMode, format } = plan.configuration;
  const forced = format === 'auto' ? undefined : format;
  const keptWriter = plan.dryRun ? null : new KeptCorpusWriter(folder, joined.sources, textMode, forced);
  const prunedWriter = plan.dryRun ? null : new BufferedFileWriter(join(folder, 'pruned.jsonl'));
  const written = await outputPass({
    records: scoredRecords(
      plan.reader(plan.inputs, { ...plan.readOptions, signal: plan.signal, onError: () => {} }),
      joined.unscoredPositions,
    ),
    measured,
    rule,
    cutPoints: [cuts.lower, cuts.upper].filter((point): point is CutPoint => point?.source !== undefined),
    histogram: new HistogramAccumulator(values.min, values.max),
    keptWriter,
    prunedWriter,
    tokensKnown: joined.tokens !== null,
    views,
  });
  await keptWriter?.close();
  prunedWriter?.close();
  return { ...written, keptFiles: keptWriter?.files ?? [] };
}

function writeReportFiles(
  folder: string,
  summary: SelectionSummary,
  written: OutputPassResult,
  values: { min: number; max: number },
  near: NearCut[],
): void {
  writeFileSync(join(folder, 'selection.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const report = renderReport({
    summary,
    histogram: { min: values.min, max: values.max, bins: written.histogram.bins },
    leastInformative: written.extremes.leastInformative(),
    mostInformative: written.extremes.mostInformative(),
    nearCuts: near,
  });
  writeFileSync(join(folder, 'report.html'), report);
}
