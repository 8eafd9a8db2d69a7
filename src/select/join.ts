/**
 * Prune's first pass: the corpus (via `readCorpus`, the reader `infoprune score` uses too) walked together with the
 * score file, each document's metric terms, tokens, bytes and position written to the spill file
 * (src/select/spill.ts), its id to the duplicate finder. Every bad-input error (unmatched ids, duplicates, NaN or
 * negative scores) is raised here, before any output.
 *
 * Two modes: when the scores are in corpus order (what `infoprune score` and `merge` write for the same inputs)
 * they are matched one by one, checking that the ids agree; at the first disagreement the join starts over by id,
 * holding every score record's id and numbers in memory (about 200 bytes a record, at most 10 million records).
 * Records `score` skipped (its errors file beside the scores names their positions: too large, unreadable for it)
 * have no score: they are left out of the selection and reported, not a mismatch.
 */
import type { CorpusRecord, ReadCorpusOptions, RecordError } from '../corpus/read.js';
import { InfopruneError, InvalidOptionError } from '../errors.js';
import { readScoreFile } from '../scores/read.js';
import type { ScoreRecord } from '../scores/record.js';
import type { WordFrequencyTable } from '../text/word-frequency.js';
import { invalidParameterError } from '../util/validate.js';
import { type MetricDefinition, type MetricScores, TermAccumulator, type TermStatistics } from './metrics.js';
import { type GroupTotals, randomKeyFor } from './plan.js';
import { loadScoreSkips, positionOf } from './score-skips.js';
import { DuplicateIdFinder, type SpillFile } from './spill.js';
import type { SelectionSpec } from './strategies.js';

/** Reads corpus records: `readCorpus` (src/corpus/read.ts) unless a caller supplies its own (tests, services). */
export type CorpusReader = (inputs: readonly string[], options: ReadCorpusOptions) => AsyncIterable<CorpusRecord>;

export interface JoinContext {
  spec: SelectionSpec;
  metric: MetricDefinition;
  wordFrequencies?: WordFrequencyTable;
  scoresPath: string | null;
  reader: CorpusReader;
  inputs: string[];
  readOptions: ReadCorpusOptions;
  spill: SpillFile;
  duplicates: DuplicateIdFinder;
  signal?: AbortSignal;
  log: (message: string) => void;
}

/** Most distinct groups: per-group counts live in memory and each group's cut costs scans. */
export const MAX_GROUPS = 100_000;

export interface JoinResult {
  mode: 'in-order' | 'by-id' | 'none';
  documents: number;
  tokens: number | null;
  bytes: number;
  /** Sources in the order first seen. */
  sources: string[];
  /** Groups (the sources, or the `groupField` values) in the order first seen, with their sizes. */
  groups: string[];
  groupTotals: GroupTotals[];
  termStatistics: TermStatistics[];
  unreadable: number;
  unreadableExamples: RecordError[];
  /** Corpus records `score` skipped (its errors file names them): neither kept nor pruned. */
  unscored: number;
  unscoredExamples: RecordError[];
  /** Their positions (`<source>\0<line>`): later passes over the corpus leave them out too. */
  unscoredPositions: Set<string>;
}

const EXAMPLES = 5;
/** Most score records the join by id holds (about 200 bytes each with their ids: 2 GB). */
const MAX_JOIN_BY_ID = 10_000_000;

/**
 * The join, in corpus order when the scores allow it, else by id; then duplicate ids confirmed. A scores file, when
 * given, is always joined (and checked): even zlib-ratio then reports token shares.
 */
export async function joinScoresToCorpus(context: JoinContext): Promise<JoinResult> {
  let joined: JoinResult;
  const skips = context.scoresPath === null ? new Map<string, string>() : await loadScoreSkips(context.scoresPath);
  const runJoin = (mode: JoinResult['mode']) => joinPass(context, mode, skips);
  try {
    joined = await runJoin(context.scoresPath === null ? 'none' : 'in-order');
  } catch (error) {
    if (!(error instanceof OrderMismatch)) throw error;
    context.log(
      `Scores are not in corpus order (record ${error.position}: corpus id ${JSON.stringify(error.corpusId)}, score id ${JSON.stringify(error.scoreId)}); joining by id in memory`,
    );
    joined = await runJoin('by-id');
  }
  if (joined.mode !== 'by-id') await confirmDuplicates(context, context.duplicates.candidates());
  if (joined.unscored > 0) {
    const [first] = joined.unscoredExamples;
    context.log(
      `${joined.unscored} corpus record(s) that score skipped are left out, neither kept nor pruned (${first.source}:${first.line}: ${first.reason}${joined.unscored > 1 ? '; all in the scores errors file' : ''})`,
    );
  }
  return joined;
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

async function joinPass(
  context: JoinContext,
  mode: JoinResult['mode'],
  skips: Map<string, string>,
): Promise<JoinResult> {
  context.spill.reset();
  const join = new JoinState(context, mode);
  const index = mode === 'by-id' ? await ScoreIndex.load(context.scoresPath!, context.signal) : null;
  const stream =
    mode === 'in-order' ? readScoreFile(context.scoresPath!, { signal: context.signal })[Symbol.asyncIterator]() : null;
  try {
    let position = 0;
    for await (const record of context.reader(context.inputs, join.readOptions())) {
      position++;
      // A record score skipped (too large, malformed for it) has no score record: left out, and reported.
      const skipped = skips.get(positionOf(record));
      if (skipped !== undefined && (stream || !index?.has(record.id))) {
        join.unscoredByScore(record, skipped);
        continue;
      }
      const scores = stream ? await nextInOrder(stream, record, position) : index?.take(record);
      if (scores === null) join.missingInScores(record.id);
      else if (!join.failed) join.add(record, scores);
    }
    // What is left on either side did not match.
    if (stream) for (let next = await stream.next(); !next.done; next = await stream.next()) join.extra(next.value.id);
    for (const id of index?.unused() ?? []) join.extra(id);
    join.checkMatched();
  } finally {
    await stream?.return?.(undefined);
  }
  return join.result();
}

/** The next score record, which must be this corpus record's; null when the scores ended before the corpus. */
async function nextInOrder(
  stream: AsyncIterator<ScoreRecord>,
  record: CorpusRecord,
  position: number,
): Promise<MetricScores | null> {
  const next = await stream.next();
  if (next.done) return null;
  if (next.value.id !== record.id) throw new OrderMismatch(position, record.id, next.value.id);
  return next.value;
}

/** What one join pass gathers: the spill file's records, the sources, the totals, and what did not match. */
class JoinState {
  private readonly sourceIndex = new Map<string, number>();
  private readonly sources: string[] = [];
  private readonly groupIndex = new Map<string, number>();
  private readonly groups: string[] = [];
  private readonly groupTotals: GroupTotals[] = [];
  private readonly accumulators: TermAccumulator[];
  private readonly terms = [0, 0];
  private tokens = 0;
  private bytes = 0;
  private unreadable = 0;
  private readonly unreadableExamples: RecordError[] = [];
  private missing = 0;
  private readonly missingExamples: string[] = [];
  private extras = 0;
  private readonly extraExamples: string[] = [];
  private unscored = 0;
  private readonly unscoredExamples: RecordError[] = [];
  private readonly unscoredPositions = new Set<string>();

  constructor(
    private readonly context: JoinContext,
    private readonly mode: JoinResult['mode'],
  ) {
    this.accumulators = context.metric.termNames.map(() => new TermAccumulator());
  }

  /** Reading options that count the records that cannot be read. */
  readOptions(): ReadCorpusOptions {
    return {
      ...this.context.readOptions,
      signal: this.context.signal,
      onError: (error) => {
        this.unreadable++;
        if (this.unreadableExamples.length < 20) this.unreadableExamples.push(error);
      },
    };
  }

  /** Once a corpus record had no score, the join only counts (the error names them all). */
  get failed(): boolean {
    return this.missing > 0;
  }

  missingInScores(id: string): void {
    this.missing++;
    if (this.missingExamples.length < EXAMPLES) this.missingExamples.push(id);
  }

  unscoredByScore(record: CorpusRecord, reason: string): void {
    this.unscored++;
    this.unscoredPositions.add(positionOf(record));
    if (this.unscoredExamples.length < 20) {
      this.unscoredExamples.push({ source: record.source, line: record.line, reason: `not scored: ${reason}` });
    }
  }

  extra(id: string): void {
    this.extras++;
    if (this.extraExamples.length < EXAMPLES) this.extraExamples.push(id);
  }

  add(record: CorpusRecord, scores: MetricScores | undefined): void {
    const { metric, spill } = this.context;
    const raw = metric.terms({ scores, text: record.text }, { wordFrequencies: this.context.wordFrequencies });
    for (let t = 0; t < raw.length; t++) {
      if (!Number.isFinite(raw[t])) {
        throw invalidParameterError(
          `${metric.termNames[t]} of ${record.source}:${record.line} (id ${JSON.stringify(record.id)})`,
          'finite number',
          raw[t],
        );
      }
      this.terms[t] = raw[t];
      this.accumulators[t].add(raw[t]);
    }
    const tokens = scores?.tokens ?? 0;
    const bytes = scores?.bytes ?? Buffer.byteLength(record.text, 'utf8');
    this.tokens += tokens;
    this.bytes += bytes;
    const random = randomKeyFor(this.context.spec, record.id);
    // Grouped by `readOptions.groupField`'s value when given, else by source file.
    const grouped = this.context.readOptions.groupField !== undefined;
    const group = this.groupOf(grouped ? (record.group ?? '(missing)') : record.source);
    this.groupTotals[group].documents++;
    this.groupTotals[group].tokens! += tokens;
    spill.append(
      this.terms[0],
      raw.length > 1 ? this.terms[1] : 0,
      tokens,
      bytes,
      this.sourceOf(record),
      record.line,
      random,
      group,
    );
    if (this.mode !== 'by-id') this.context.duplicates.add(record.id);
  }

  private sourceOf(record: CorpusRecord): number {
    let source = this.sourceIndex.get(record.source);
    if (source === undefined) {
      source = this.sources.length;
      this.sourceIndex.set(record.source, source);
      this.sources.push(record.source);
    }
    return source;
  }

  private groupOf(name: string): number {
    let group = this.groupIndex.get(name);
    if (group === undefined) {
      if (this.groups.length === MAX_GROUPS) {
        throw new InvalidOptionError(
          'groupField',
          (option) =>
            `${option('groupField')} ${JSON.stringify(this.context.readOptions.groupField)} has more than ${MAX_GROUPS} distinct values: group by a coarser field (a domain, a subset)`,
        );
      }
      group = this.groups.length;
      this.groupIndex.set(name, group);
      this.groups.push(name);
      this.groupTotals.push({ documents: 0, tokens: 0 });
    }
    return group;
  }

  checkMatched(): void {
    if (this.missing === 0 && this.extras === 0) return;
    const parts: string[] = [];
    if (this.missing > 0) {
      parts.push(
        `${this.missing} corpus record${this.missing === 1 ? ' has' : 's have'} no score (${describeIds(this.missingExamples, this.missing)})`,
      );
    }
    if (this.extras > 0) {
      parts.push(
        `${this.extras} score record${this.extras === 1 ? ' has an id' : 's have ids'} not in the corpus (${describeIds(this.extraExamples, this.extras)})`,
      );
    }
    throw new InfopruneError(
      'SCORES_MISMATCH',
      (name) =>
        `The scores do not match the corpus: ${parts.join('; ')}. Pass the scores of these inputs, scored with the same ${name('idField')} and ${name('textField')} (ids default to <source>:<line>, so give the inputs as they were given to infoprune score).`,
    );
  }

  result(): JoinResult {
    return {
      mode: this.mode,
      documents: this.context.spill.count,
      tokens: this.mode === 'none' ? null : this.tokens,
      bytes: this.bytes,
      sources: this.sources,
      groups: this.groups,
      groupTotals: this.groupTotals.map(({ documents, tokens }) => ({
        documents,
        tokens: this.mode === 'none' ? null : tokens,
      })),
      termStatistics: this.accumulators.map((accumulator) => accumulator.statistics()),
      unreadable: this.unreadable,
      unreadableExamples: this.unreadableExamples,
      unscored: this.unscored,
      unscoredExamples: this.unscoredExamples,
      unscoredPositions: this.unscoredPositions,
    };
  }
}

function describeIds(ids: readonly string[], total: number): string {
  const shown = ids.map((id) => JSON.stringify(id)).join(', ');
  return total > ids.length ? `${shown}, …` : shown;
}

/** Every score record in memory, by id: the join for scores not in corpus order. */
class ScoreIndex {
  private readonly byId = new Map<string, number>();
  private readonly ids: string[] = [];
  private columns = {
    tokens: new Float64Array(1024),
    nll: new Float64Array(1024),
    bytes: new Float64Array(1024),
    bpt: new Float64Array(1024),
    bpb: new Float64Array(1024),
  };
  private used = new Uint8Array(1024);

  private constructor(private readonly path: string) {}

  static async load(path: string, signal?: AbortSignal): Promise<ScoreIndex> {
    const index = new ScoreIndex(path);
    for await (const record of readScoreFile(path, { signal })) index.add(record);
    index.used = new Uint8Array(index.ids.length);
    return index;
  }

  private add(record: ScoreRecord): void {
    if (this.ids.length === MAX_JOIN_BY_ID) {
      throw new InfopruneError(
        'SCORES_MISMATCH',
        `The scores are not in corpus order and hold more than ${MAX_JOIN_BY_ID} records, too many to join by id in memory: ` +
          'score the inputs in the order given to prune (infoprune score writes them in input order; merge shards with infoprune merge)',
      );
    }
    const first = this.byId.get(record.id);
    if (first !== undefined) {
      const where = `${this.path} record ${this.ids.length + 1}`;
      throw new InfopruneError(
        'DUPLICATE_ID',
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

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The scores of the corpus record's id (null when it has none); an id met twice in the corpus is an error. */
  take(record: CorpusRecord): MetricScores | null {
    const at = this.byId.get(record.id);
    if (at === undefined) return null;
    if (this.used[at]) {
      throw new InfopruneError(
        'DUPLICATE_ID',
        `Duplicate id ${JSON.stringify(record.id)} in the corpus (again at ${record.source}:${record.line})`,
      );
    }
    this.used[at] = 1;
    const c = this.columns;
    return {
      tokens: c.tokens[at],
      nll: c.nll[at],
      bytes: c.bytes[at],
      bits_per_token: c.bpt[at],
      bits_per_byte: c.bpb[at],
    };
  }

  /** Ids no corpus record took. */
  *unused(): Generator<string> {
    for (let i = 0; i < this.ids.length; i++) if (!this.used[i]) yield this.ids[i];
  }
}

/** Confirms duplicate-id candidates against the real ids (one more corpus read, only when there are candidates). */
async function confirmDuplicates(context: JoinContext, candidates: Set<bigint>): Promise<void> {
  if (candidates.size === 0) return;
  const seen = new Map<string, string>();
  const options = { ...context.readOptions, signal: context.signal, onError: () => {} };
  for await (const record of context.reader(context.inputs, options)) {
    if (!candidates.has(DuplicateIdFinder.hashOf(record.id))) continue;
    const first = seen.get(record.id);
    const here = `${record.source}:${record.line}`;
    if (first !== undefined) {
      throw new InfopruneError(
        'DUPLICATE_ID',
        `Duplicate id ${JSON.stringify(record.id)} in the corpus${context.scoresPath === null ? '' : ' and the scores'}: ${first} and ${here}`,
      );
    }
    seen.set(record.id, here);
  }
}
