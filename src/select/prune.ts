/**
 * `infoprune prune` as a function: join the scores to the corpus, measure, select, write the kept corpus, the
 * pruned list, the selection summary and the report, atomically.
 *
 * Passes, each sequential and in bounded memory:
 * 1. join: the corpus (via `readCorpus`, the same reader `infoprune score` uses) walked together with the score
 *    file. When the scores are in corpus order (what `infoprune score` writes for the same inputs) they are matched
 *    one by one, checking that the ids agree; at the first disagreement the join starts over by id, holding every
 *    score record's id and numbers in memory (about 200 bytes a record, at most 10 million records: larger score
 *    files must be in corpus order, which is what `infoprune score` and `infoprune merge` write). Each document's metric terms, tokens, bytes and
 *    position go to a spill file (src/select/spill.ts); ids go to the duplicate finder.
 *    Every bad-input error (unmatched ids, duplicates, NaN or negative scores) is raised here, before any output.
 * 2. cut search: 2–9 scans of the spill file (src/select/cuts.ts) find the exact boundary documents.
 * 3. output: the corpus again with the spill file, writing kept records, `pruned.jsonl`, the histogram and the
 *    extremes; then `selection.json` and `report.html`.
 * Everything is written into `<out>.tmp-<pid>` and renamed to `<out>` only when complete; on any error the
 * temporary folder is removed, so `<out>` either does not exist or is whole. An existing `<out>` is refused.
 */

import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  type CorpusRecord,
  type ReadCorpusExtraOptions,
  type ReadCorpusOptions,
  type RecordError,
  readCorpus,
} from '../pipeline/corpus.js';
import type { InputFormat } from '../pipeline/inputs.js';
import { WordFrequencyTable } from '../text/word-frequency.js';
import { expectBoolean, expectOneOf, expectString, invalidParameterError } from '../validate.js';
import { packageVersion } from '../version.js';
import type { KeyScan } from './cuts.js';
import { KEY_WORDS, rankSources, writeKey } from './keys.js';
import {
  informationOrder,
  METRICS,
  type MetricDefinition,
  type MetricScores,
  TermAccumulator,
  type TermStatistics,
} from './metrics.js';
import { BufferedFileWriter, KeptCorpusWriter } from './outputs.js';
import { type CutPoint, KeepRule, randomKeyFor } from './plan.js';
import { renderReport } from './report.js';
import { type LocatedScoreRecord, readScoreFile, wordFrequencyPathFor } from './scores-file.js';
import { CHUNK_RECORDS, DuplicateIdFinder, SPILL_FIELDS, SPILL_WIDTH, SpillFile, SpillReader } from './spill.js';
import {
  resolveSelectionSpec,
  type SelectionOptions,
  type SelectionSpec,
  STRATEGY_DESCRIPTIONS,
} from './strategies.js';
import { ExtremesTracker, HistogramAccumulator, type SelectionSummary, snippetOf } from './summary.js';

/** Reads corpus records: `readCorpus` from src/pipeline/corpus.ts unless a caller supplies its own (tests, services). */
export type CorpusReader = (
  inputs: readonly string[],
  options: ReadCorpusOptions & ReadCorpusExtraOptions,
) => AsyncIterable<CorpusRecord>;

export interface PruneOptions extends SelectionOptions {
  /** Corpus files, folders or globs, as given to `infoprune score`. */
  inputs: readonly string[];
  /** Output folder; must not exist. */
  out: string;
  /** Score file (JSONL or Parquet) from `infoprune score`; needed by every metric but `zlib-ratio` and `word-entropy`. */
  scores?: string;
  /** Word-frequency table; default `<scores>.words.bin`. */
  wordFrequencies?: string;
  textField?: string;
  idField?: string;
  textMode?: 'file' | 'line';
  /** Force the input format instead of telling it from file names (as `infoprune score --format`). Default `auto`. */
  format?: InputFormat | 'auto';
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

const EXAMPLES = 5;
/** Most score records the join by id holds (about 200 bytes each with their ids: 2 GB). */
const MAX_JOIN_BY_ID = 10_000_000;

interface JoinContext {
  spec: SelectionSpec;
  metric: MetricDefinition;
  wordFrequencies?: WordFrequencyTable;
  scoresPath: string | null;
  reader: CorpusReader;
  inputs: string[];
  readOptions: ReadCorpusOptions & ReadCorpusExtraOptions;
  spill: SpillFile;
  duplicates: DuplicateIdFinder;
  signal?: AbortSignal;
}

interface JoinResult {
  mode: 'in-order' | 'by-id' | 'none';
  documents: number;
  tokens: number | null;
  bytes: number;
  /** Sources in the order first seen. */
  sources: string[];
  termStatistics: TermStatistics[];
  unreadable: number;
  unreadableExamples: RecordError[];
}

class OrderMismatch extends Error {
  constructor(
    readonly position: number,
    readonly corpusId: string,
    readonly scoreId: string,
  ) {
    super('scores are not in corpus order');
  }
}

/** Every score record in memory, by id: the join for scores not in corpus order. */
class ScoreIndex {
  readonly byId = new Map<string, number>();
  readonly ids: string[] = [];
  private columns = {
    tokens: new Float64Array(1024),
    nll: new Float64Array(1024),
    bytes: new Float64Array(1024),
    bpt: new Float64Array(1024),
    bpb: new Float64Array(1024),
  };
  used = new Uint8Array(1024);

  static async load(path: string, signal?: AbortSignal): Promise<ScoreIndex> {
    const index = new ScoreIndex();
    for await (const located of readScoreFile(path, signal)) index.add(located);
    index.used = new Uint8Array(index.ids.length);
    return index;
  }

  private add({ record, where }: LocatedScoreRecord): void {
    if (this.ids.length === MAX_JOIN_BY_ID) {
      throw new Error(
        `The scores are not in corpus order and hold more than ${MAX_JOIN_BY_ID} records, too many to join by id in memory: ` +
          'score the inputs in the order given to prune (infoprune score writes them in input order; merge shards with infoprune merge)',
      );
    }
    const first = this.byId.get(record.id);
    if (first !== undefined) {
      throw new Error(
        `Duplicate id ${JSON.stringify(record.id)} in the scores: score records ${first + 1} and ${this.ids.length + 1} (${where})`,
      );
    }
    const i = this.ids.length;
    if (i === this.columns.tokens.length) {
      for (const name of Object.keys(this.columns) as (keyof typeof this.columns)[]) {
        const grown = new Float64Array(i * 2);
        grown.set(this.columns[name]);
        this.columns[name] = grown;
      }
    }
    this.byId.set(record.id, i);
    this.ids.push(record.id);
    this.columns.tokens[i] = record.tokens;
    this.columns.nll[i] = record.nll;
    this.columns.bytes[i] = record.bytes;
    this.columns.bpt[i] = record.bits_per_token;
    this.columns.bpb[i] = record.bits_per_byte;
  }

  scoresAt(i: number): MetricScores {
    const c = this.columns;
    return { tokens: c.tokens[i], nll: c.nll[i], bytes: c.bytes[i], bits_per_token: c.bpt[i], bits_per_byte: c.bpb[i] };
  }
}

function describeIds(ids: readonly string[], total: number): string {
  const shown = ids.map((id) => JSON.stringify(id)).join(', ');
  return total > ids.length ? `${shown}, …` : shown;
}

function mismatchError(
  missingInScores: number,
  missingExamples: string[],
  missingInCorpus: number,
  extraExamples: string[],
): Error {
  const parts: string[] = [];
  if (missingInScores > 0) {
    parts.push(
      `${missingInScores} corpus record${missingInScores === 1 ? ' has' : 's have'} no score (${describeIds(missingExamples, missingInScores)})`,
    );
  }
  if (missingInCorpus > 0) {
    parts.push(
      `${missingInCorpus} score record${missingInCorpus === 1 ? ' has an id' : 's have ids'} not in the corpus (${describeIds(extraExamples, missingInCorpus)})`,
    );
  }
  return new Error(
    `The scores do not match the corpus: ${parts.join('; ')}. Pass the scores of these inputs, scored with the same --id-field and --text-field (ids default to <source>:<line>, so give the inputs as they were given to infoprune score).`,
  );
}

async function runJoin(context: JoinContext, mode: JoinResult['mode']): Promise<JoinResult> {
  const { metric, spill, duplicates } = context;
  spill.reset();
  const sourceIndex = new Map<string, number>();
  const sources: string[] = [];
  const accumulators = metric.termNames.map(() => new TermAccumulator());
  let tokens = 0;
  let bytes = 0;
  let unreadable = 0;
  const unreadableExamples: RecordError[] = [];
  const readOptions: ReadCorpusOptions & ReadCorpusExtraOptions = {
    ...context.readOptions,
    signal: context.signal,
    onError: (error) => {
      unreadable++;
      if (unreadableExamples.length < 20) unreadableExamples.push(error);
    },
  };
  const index = mode === 'by-id' ? await ScoreIndex.load(context.scoresPath!, context.signal) : null;
  const scoreStream =
    mode === 'in-order' ? readScoreFile(context.scoresPath!, context.signal)[Symbol.asyncIterator]() : null;
  let missingInScores = 0;
  const missingExamples: string[] = [];
  let position = 0;
  const terms = [0, 0];
  const metricContext = { wordFrequencies: context.wordFrequencies };

  try {
    for await (const record of context.reader(context.inputs, readOptions)) {
      position++;
      let scores: MetricScores | undefined;
      if (scoreStream !== null) {
        const next = await scoreStream.next();
        if (next.done) {
          missingInScores++;
          if (missingExamples.length < EXAMPLES) missingExamples.push(record.id);
          continue;
        }
        if (next.value.record.id !== record.id) throw new OrderMismatch(position, record.id, next.value.record.id);
        scores = next.value.record;
      } else if (index !== null) {
        const at = index.byId.get(record.id);
        if (at === undefined) {
          missingInScores++;
          if (missingExamples.length < EXAMPLES) missingExamples.push(record.id);
          continue;
        }
        if (index.used[at])
          throw new Error(
            `Duplicate id ${JSON.stringify(record.id)} in the corpus (again at ${record.source}:${record.line})`,
          );
        index.used[at] = 1;
        scores = index.scoresAt(at);
      }
      if (missingInScores > 0) continue;

      let source = sourceIndex.get(record.source);
      if (source === undefined) {
        source = sources.length;
        sourceIndex.set(record.source, source);
        sources.push(record.source);
      }
      const raw = metric.terms({ scores, text: record.text }, metricContext);
      for (let t = 0; t < raw.length; t++) {
        if (!Number.isFinite(raw[t])) {
          throw invalidParameterError(
            `${metric.termNames[t]} of ${record.source}:${record.line} (id ${JSON.stringify(record.id)})`,
            'finite number',
            raw[t],
          );
        }
        terms[t] = raw[t];
        accumulators[t].add(raw[t]);
      }
      const documentTokens = scores?.tokens ?? 0;
      const documentBytes = scores?.bytes ?? Buffer.byteLength(record.text, 'utf8');
      tokens += documentTokens;
      bytes += documentBytes;
      spill.append(
        terms[0],
        raw.length > 1 ? terms[1] : 0,
        documentTokens,
        documentBytes,
        source,
        record.line,
        randomKeyFor(context.spec, record.id),
      );
      if (mode !== 'by-id') duplicates.add(record.id);
    }

    // What is left on either side did not match.
    let missingInCorpus = 0;
    const extraExamples: string[] = [];
    if (scoreStream !== null) {
      for (let next = await scoreStream.next(); !next.done; next = await scoreStream.next()) {
        missingInCorpus++;
        if (extraExamples.length < EXAMPLES) extraExamples.push(next.value.record.id);
      }
    } else if (index !== null) {
      for (let i = 0; i < index.ids.length; i++) {
        if (index.used[i]) continue;
        missingInCorpus++;
        if (extraExamples.length < EXAMPLES) extraExamples.push(index.ids[i]);
      }
    }
    if (missingInScores > 0 || missingInCorpus > 0)
      throw mismatchError(missingInScores, missingExamples, missingInCorpus, extraExamples);
  } finally {
    await scoreStream?.return?.(undefined);
  }

  return {
    mode,
    documents: spill.count,
    tokens: mode === 'none' ? null : tokens,
    bytes,
    sources,
    termStatistics: accumulators.map((accumulator) => accumulator.statistics()),
    unreadable,
    unreadableExamples,
  };
}

/** Confirms duplicate-id candidates against the real ids (one more corpus read, only when there are candidates). */
async function confirmDuplicates(context: JoinContext, candidates: Set<bigint>): Promise<void> {
  if (candidates.size === 0) return;
  const seen = new Map<string, string>();
  for await (const record of context.reader(context.inputs, {
    ...context.readOptions,
    signal: context.signal,
    onError: () => {},
  })) {
    if (!candidates.has(DuplicateIdFinder.hashOf(record.id))) continue;
    const first = seen.get(record.id);
    const here = `${record.source}:${record.line}`;
    if (first !== undefined) {
      throw new Error(
        `Duplicate id ${JSON.stringify(record.id)} in the corpus${context.scoresPath === null ? '' : ' and the scores'}: ${first} and ${here}`,
      );
    }
    seen.set(record.id, here);
  }
}

/**
 * The spill file read as measured documents: metric values (from the raw terms and the corpus statistics), order
 * keys and weights, and the source ranks that break ties.
 */
class MeasuredSpill {
  readonly sortedSources: string[];
  /** Rank of each source (by the index it was first seen at) in sorted order. */
  readonly rankOfIndex: Uint32Array;
  private readonly terms: number[];

  constructor(
    readonly spill: SpillFile,
    readonly metric: MetricDefinition,
    private readonly joined: JoinResult,
  ) {
    const ranks = rankSources(joined.sources);
    this.sortedSources = [...ranks.keys()];
    this.rankOfIndex = Uint32Array.from(joined.sources, (source) => ranks.get(source)!);
    this.terms = metric.termNames.map(() => 0);
  }

  /** The source of a spill record's source index. */
  sourceOf(index: number): string {
    return this.joined.sources[index];
  }

  /** The metric value of the record at `at` (a field offset) of a spill chunk. */
  valueAt(records: Float64Array, at: number): number {
    this.terms[0] = records[at + SPILL_FIELDS.term0];
    if (this.terms.length > 1) this.terms[1] = records[at + SPILL_FIELDS.term1];
    return this.metric.value(this.terms, this.joined.termStatistics);
  }

  /** Writes the record's order key for `rule` into `keys` at `offset`. */
  writeKey(rule: KeepRule, records: Float64Array, at: number, value: number, keys: Uint32Array, offset: number): void {
    const sourceRank = this.rankOfIndex[records[at + SPILL_FIELDS.sourceIndex]];
    rule.writeKey(
      keys,
      offset,
      value,
      records[at + SPILL_FIELDS.randomKey],
      sourceRank,
      records[at + SPILL_FIELDS.line],
    );
  }

  valueRange(): { min: number; max: number; sum: number } {
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    this.spill.scan((records, count) => {
      for (let i = 0; i < count; i++) {
        const value = this.valueAt(records, i * SPILL_WIDTH);
        if (value < min) min = value;
        if (value > max) max = value;
        sum += value;
      }
    });
    return { min, max, sum };
  }

  totalWeight(rule: KeepRule): number {
    let total = 0;
    this.spill.scan((records, count) => {
      for (let i = 0; i < count; i++) total += rule.weightOf(records[i * SPILL_WIDTH + SPILL_FIELDS.tokens]);
    });
    return total;
  }

  /** A scan of every document's key and weight under `rule`, for the cut search. */
  keyScan(rule: KeepRule): KeyScan {
    const keys = new Uint32Array(CHUNK_RECORDS * KEY_WORDS);
    const weights = new Float64Array(CHUNK_RECORDS);
    return (visit) =>
      this.spill.scan((records, count) => {
        for (let i = 0; i < count; i++) {
          const at = i * SPILL_WIDTH;
          this.writeKey(rule, records, at, this.valueAt(records, at), keys, i);
          weights[i] = rule.weightOf(records[at + SPILL_FIELDS.tokens]);
        }
        visit(keys, weights, count);
      });
  }
}

interface OutputPassInput {
  records: AsyncIterable<CorpusRecord>;
  measured: MeasuredSpill;
  rule: KeepRule;
  /** Cut points whose ids are filled in when their document passes. */
  cutPoints: CutPoint[];
  histogram: HistogramAccumulator;
  keptWriter: KeptCorpusWriter | null;
  prunedWriter: BufferedFileWriter | null;
  tokensKnown: boolean;
}

/** The corpus again, beside the spill file: keep or prune each record, and gather what the report shows. */
async function outputPass(input: OutputPassInput): Promise<{
  kept: number;
  tokensAfter: number;
  bytesAfter: number;
  histogram: HistogramAccumulator;
  extremes: ExtremesTracker;
}> {
  const { measured, rule, histogram, keptWriter, prunedWriter } = input;
  const extremes = new ExtremesTracker(10);
  const key = new Uint32Array(KEY_WORDS);
  const informationKey = new Uint32Array(KEY_WORDS);
  const spillReader = new SpillReader(measured.spill);
  let chunk = 0;
  let inChunk = 0;
  let kept = 0;
  let tokensAfter = 0;
  let bytesAfter = 0;
  for await (const record of input.records) {
    if (inChunk === chunk) {
      chunk = spillReader.next();
      inChunk = 0;
    }
    const at = inChunk++ * SPILL_WIDTH;
    const records = spillReader.records;
    if (
      chunk === 0 ||
      measured.sourceOf(records[at + SPILL_FIELDS.sourceIndex]) !== record.source ||
      records[at + SPILL_FIELDS.line] !== record.line
    ) {
      throw new Error(`The corpus changed while prune was reading it (at ${record.source}:${record.line})`);
    }
    const value = measured.valueAt(records, at);
    measured.writeKey(rule, records, at, value, key, 0);
    const isKept = rule.keeps(key, 0, value);
    const tokens = records[at + SPILL_FIELDS.tokens];
    if (isKept) {
      kept++;
      tokensAfter += tokens;
      bytesAfter += records[at + SPILL_FIELDS.bytes];
      await keptWriter?.add(record);
    } else {
      prunedWriter?.write(`${JSON.stringify({ id: record.id, source: record.source, line: record.line, value })}\n`);
    }
    histogram.add(value, isKept);
    const sourceRank = measured.rankOfIndex[records[at + SPILL_FIELDS.sourceIndex]];
    writeKey(informationKey, 0, informationOrder(measured.metric, value), sourceRank, record.line);
    extremes.offer(informationKey, 0, () => ({
      id: record.id,
      source: record.source,
      line: record.line,
      value,
      tokens: input.tokensKnown ? tokens : null,
      kept: isKept,
      snippet: snippetOf(record.text),
    }));
    for (const point of input.cutPoints)
      if (point.source === record.source && point.line === record.line) point.id = record.id;
  }
  if (inChunk !== chunk || spillReader.next() !== 0)
    throw new Error('The corpus changed while prune was reading it (fewer records)');
  return { kept, tokensAfter, bytesAfter, histogram, extremes };
}

function ruleText(spec: SelectionSpec, documents: number, tokens: number | null, rule: KeepRule): string {
  const budget = spec.budget;
  const order = spec.strategy === 'random' ? `seeded random order (seed ${spec.seed})` : 'rank order';
  const strategy = STRATEGY_DESCRIPTIONS[spec.strategy];
  switch (budget.kind) {
    case 'keep-ratio': {
      const kept = Math.floor(documents * budget.keepRatio + 0.5);
      return `${strategy} Kept documents = ⌊n·keepRatio + ½⌋ = ⌊${documents} × ${budget.keepRatio} + ½⌋ = ${kept} (round half up), taken in ${order}; ties in value broken by source, then line.`;
    }
    case 'prune-ratio': {
      const pruned = Math.ceil(documents * budget.pruneRatio - 0.5);
      return `${strategy} Pruned documents = ⌈n·pruneRatio − ½⌉ = ⌈${documents} × ${budget.pruneRatio} − ½⌉ = ${pruned}, kept = ${documents - pruned} (the same as keepRatio ${Number((1 - budget.pruneRatio).toPrecision(12))}, round half up), taken in ${order}; ties in value broken by source, then line.`;
    }
    case 'keep-tokens':
      return `${strategy} Documents are taken in ${order} until the kept tokens reach ${budget.keepTokens} of ${tokens}; the document that crosses the budget is kept (so kept tokens ≥ the budget, by less than one document${spec.strategy === 'middle' ? ' at each end' : ''}).${rule.band?.lower === null && rule.band?.upper === null ? ' The budget covers the whole corpus: everything is kept.' : ''}`;
    case 'threshold':
      return `${strategy} Kept iff ${budget.min === null ? '' : `${budget.min} ≤ `}value${budget.max === null ? '' : ` ≤ ${budget.max}`} (${rule.metric.unit}).`;
  }
}

function checkOptions(options: PruneOptions): void {
  if (typeof options !== 'object' || options === null) throw invalidParameterError('options', 'object', options);
  if (!Array.isArray(options.inputs) || options.inputs.length === 0) {
    throw invalidParameterError('inputs', 'non-empty array of paths', options.inputs);
  }
  options.inputs.forEach((input, i) => {
    expectString(`inputs[${i}]`, input, { nonEmpty: true });
  });
  expectString('out', options.out, { nonEmpty: true });
  if (options.scores !== undefined) expectString('scores', options.scores, { nonEmpty: true });
  if (options.wordFrequencies !== undefined)
    expectString('wordFrequencies', options.wordFrequencies, { nonEmpty: true });
  if (options.textField !== undefined) expectString('textField', options.textField, { nonEmpty: true });
  if (options.idField !== undefined) expectString('idField', options.idField, { nonEmpty: true });
  if (options.textMode !== undefined) expectOneOf('textMode', options.textMode, ['file', 'line'] as const);
  if (options.format !== undefined)
    expectOneOf('format', options.format, ['auto', 'jsonl', 'parquet', 'text'] as const);
  if (options.dryRun !== undefined) expectBoolean('dryRun', options.dryRun);
  if (options.readCorpus !== undefined && typeof options.readCorpus !== 'function') {
    throw invalidParameterError('readCorpus', 'function', options.readCorpus);
  }
}

/** Runs a whole prune (see the module comment). Resolves with the output folder and the summary. */
export async function pruneCorpus(options: PruneOptions): Promise<PruneResult> {
  const started = performance.now();
  checkOptions(options);
  const spec = resolveSelectionSpec(options);
  const metric = METRICS[spec.metric];
  const log = options.log ?? (() => {});
  const out = resolve(options.out);
  if (existsSync(out))
    throw new Error(`Output folder already exists: ${options.out} (remove it or choose another --out)`);

  const needsScores = metric.needsScores || spec.budget.kind === 'keep-tokens';
  const scoresPath = options.scores ?? null;
  if (needsScores && scoresPath === null) {
    throw new Error(
      spec.budget.kind === 'keep-tokens' && !metric.needsScores
        ? 'keepTokens needs token counts: pass the scores file (--scores)'
        : `Metric "${spec.metric}" needs the scores file (--scores)`,
    );
  }
  if (scoresPath !== null && !existsSync(scoresPath)) throw new Error(`Scores file not found: ${scoresPath}`);
  let wordFrequencies: WordFrequencyTable | undefined;
  let wordFrequencyPath: string | null = null;
  if (metric.needsWordFrequencies) {
    wordFrequencyPath = options.wordFrequencies ?? (scoresPath === null ? null : wordFrequencyPathFor(scoresPath));
    if (wordFrequencyPath === null) {
      throw new Error(
        `Metric "${spec.metric}" needs the word-frequency table: pass --words, or --scores with <scores>.words.bin beside it`,
      );
    }
    if (!existsSync(wordFrequencyPath)) {
      throw new Error(
        `Word-frequency table not found: ${wordFrequencyPath} (written by infoprune score beside the scores; or pass --words)`,
      );
    }
    wordFrequencies = WordFrequencyTable.load(wordFrequencyPath);
  }
  const reader = options.readCorpus ?? readCorpus;
  const textMode = options.textMode ?? 'file';
  const format = options.format ?? 'auto';
  const readOptions: ReadCorpusOptions & ReadCorpusExtraOptions = {
    textField: options.textField,
    idField: options.idField,
    textMode,
    format,
  };
  const dryRun = options.dryRun ?? false;
  const inputs = [...options.inputs];

  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const spill = new SpillFile(join(tmp, '.spill.bin'));
  const duplicates = new DuplicateIdFinder(tmp);
  try {
    const context: JoinContext = {
      spec,
      metric,
      wordFrequencies,
      scoresPath,
      reader,
      inputs,
      readOptions,
      spill,
      duplicates,
      signal: options.signal,
    };
    let joined: JoinResult;
    // A scores file, when given, is always joined (and checked): even zlib-ratio then reports token shares.
    const firstMode = scoresPath === null ? 'none' : 'in-order';
    try {
      joined = await runJoin(context, firstMode);
    } catch (error) {
      if (!(error instanceof OrderMismatch)) throw error;
      log(
        `Scores are not in corpus order (record ${error.position}: corpus id ${JSON.stringify(error.corpusId)}, score id ${JSON.stringify(error.scoreId)}); joining by id in memory`,
      );
      joined = await runJoin(context, 'by-id');
    }
    if (joined.mode !== 'by-id') await confirmDuplicates(context, duplicates.candidates());
    duplicates.close();
    if (joined.documents === 0) throw new Error(`No readable documents in ${inputs.join(', ')}`);
    log(`Joined ${joined.documents} documents (${joined.mode})`);

    const measured = new MeasuredSpill(spill, metric, joined);
    const rule = new KeepRule(spec, joined.documents, joined.tokens);
    const values = measured.valueRange();
    rule.resolve(measured.totalWeight(rule), measured.keyScan(rule));
    const cuts = rule.cuts(measured.sortedSources);
    log(`Cut search: ${rule.scans} scan(s) of the spill file`);

    const keptWriter = dryRun
      ? null
      : new KeptCorpusWriter(tmp, joined.sources, textMode, format === 'auto' ? undefined : format);
    const prunedWriter = dryRun ? null : new BufferedFileWriter(join(tmp, 'pruned.jsonl'));
    const written = await outputPass({
      records: reader(inputs, { ...readOptions, signal: options.signal, onError: () => {} }),
      measured,
      rule,
      cutPoints: [cuts.lower, cuts.upper].filter((point): point is CutPoint => point?.source !== undefined),
      histogram: new HistogramAccumulator(values.min, values.max),
      keptWriter,
      prunedWriter,
      tokensKnown: joined.tokens !== null,
    });
    await keptWriter?.close();
    prunedWriter?.close();
    spill.close();
    const { kept, tokensAfter, bytesAfter, histogram, extremes } = written;
    const { min, max, sum } = values;
    const statistics = joined.termStatistics;

    const warnings: string[] = [];
    if (kept === 0)
      warnings.push('Nothing was kept: the budget rounds to zero documents, or no value passes the threshold.');
    if (kept === joined.documents) warnings.push('Everything was kept: the budget covers the whole corpus.');
    if (joined.unreadable > 0) {
      warnings.push(
        `${joined.unreadable} corpus record(s) could not be read and were skipped: neither kept nor pruned (see unreadableExamples).`,
      );
    }
    const summary: SelectionSummary = {
      format: 'infoprune-selection',
      version: 1,
      createdAt: new Date().toISOString(),
      infopruneVersion: packageVersion,
      configuration: {
        metric: spec.metric,
        strategy: spec.strategy,
        budget: spec.budget,
        seed: spec.strategy === 'random' ? spec.seed : null,
        scores: scoresPath,
        wordFrequencies: wordFrequencyPath,
        inputs,
        textField: options.textField ?? null,
        idField: options.idField ?? null,
        textMode,
        format,
        dryRun,
      },
      metric: {
        name: metric.name,
        unit: metric.unit,
        formula: metric.formula,
        description: metric.description,
        moreInformative: metric.moreInformative,
      },
      rule: ruleText(spec, joined.documents, joined.tokens, rule),
      counts: { documents: joined.documents, kept, pruned: joined.documents - kept, unreadable: joined.unreadable },
      tokens: joined.tokens === null ? null : { before: joined.tokens, after: tokensAfter },
      bytes: { before: joined.bytes, after: bytesAfter },
      cuts,
      values: { min, max, mean: sum / joined.documents },
      termStatistics: metric.termNames.map((term, i) => ({ term, ...statistics[i] })),
      join: joined.mode,
      warnings,
      unreadableExamples: joined.unreadableExamples.map(({ source, line, reason }) => ({ source, line, reason })),
      outputs: {
        kept: keptWriter?.files ?? [],
        pruned: dryRun ? null : 'pruned.jsonl',
        selection: 'selection.json',
        report: 'report.html',
      },
      timing: { seconds: Number(((performance.now() - started) / 1000).toFixed(3)), scans: rule.scans },
    };
    writeFileSync(join(tmp, 'selection.json'), `${JSON.stringify(summary, null, 2)}\n`);
    writeFileSync(
      join(tmp, 'report.html'),
      renderReport({
        summary,
        histogram: { min, max, bins: histogram.bins },
        leastInformative: extremes.leastInformative(),
        mostInformative: extremes.mostInformative(),
      }),
    );
    if (existsSync(out))
      throw new Error(`Output folder already exists: ${options.out} (it appeared while prune was running)`);
    renameSync(tmp, out);
    log(`Kept ${kept} of ${joined.documents} documents; wrote ${options.out}`);
    return { out, summary };
  } catch (error) {
    try {
      spill.close();
    } catch {
      // already closed
    }
    duplicates.close();
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
}
