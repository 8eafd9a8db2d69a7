/**
 * Prune's output pass: the corpus read again beside the spill file, each record kept (written to `kept/`) or pruned
 * (listed in `pruned.jsonl`), while the histogram, the extremes and the cut documents' ids are gathered for the
 * report.
 */
import type { CorpusRecord } from '../corpus/read.js';
import type { BufferedFileWriter, KeptCorpusWriter } from '../corpus/write.js';
import { InfopruneError } from '../errors.js';
import { KEY_WORDS } from './keys.js';
import type { MeasuredSpill } from './measured.js';
import { informationOrder } from './metrics.js';
import type { CutPoint, KeepRule } from './plan.js';
import { SPILL_FIELDS, SPILL_WIDTH, SpillReader } from './spill.js';
import { ExtremesTracker, type HistogramAccumulator, type Sample, snippetOf } from './summary.js';
import type { ReportViews } from './views.js';

export interface OutputPassResult {
  kept: number;
  tokensAfter: number;
  bytesAfter: number;
  histogram: HistogramAccumulator;
  extremes: ExtremesTracker;
}

export interface OutputPassInput {
  records: AsyncIterable<CorpusRecord>;
  measured: MeasuredSpill;
  rule: KeepRule;
  /** Cut points whose ids are filled in when their document passes. */
  cutPoints: CutPoint[];
  histogram: HistogramAccumulator;
  keptWriter: KeptCorpusWriter | null;
  prunedWriter: BufferedFileWriter | null;
  tokensKnown: boolean;
  /** The report's views, fed every document. */
  views: ReportViews;
}

/** The corpus again, beside the spill file: keep or prune each record, and gather what the report shows. */
export async function outputPass(input: OutputPassInput): Promise<OutputPassResult> {
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
      throw new InfopruneError(
        'CORPUS_CHANGED',
        `The corpus changed while prune was reading it (at ${record.source}:${record.line})`,
      );
    }
    const value = measured.valueAt(records, at);
    measured.writeKey(rule, records, at, value, key, 0);
    const group = records[at + SPILL_FIELDS.group];
    const isKept = rule.keeps(key, 0, value, group);
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
    const order = informationOrder(measured.metric, value);
    measured.writeInformationKey(records, at, value, informationKey, 0);
    const sample = (): Sample => ({
      id: record.id,
      source: record.source,
      line: record.line,
      value,
      tokens: input.tokensKnown ? tokens : null,
      kept: isKept,
      snippet: snippetOf(record.text),
    });
    extremes.offer(informationKey, 0, sample);
    const bytes = records[at + SPILL_FIELDS.bytes];
    input.views.add({ group, tokens, bytes, kept: isKept, order, key: informationKey, offset: 0, sample });
    for (const point of input.cutPoints)
      if (point.source === record.source && point.line === record.line) point.id = record.id;
  }
  if (inChunk !== chunk || spillReader.next() !== 0)
    throw new InfopruneError('CORPUS_CHANGED', 'The corpus changed while prune was reading it (fewer records)');
  return { kept, tokensAfter, bytesAfter, histogram, extremes };
}
