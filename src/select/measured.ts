/**
 * Prune's spill file (src/select/spill.ts) read as measured documents: each record's metric value (from its raw
 * terms and the corpus statistics the join gathered), its order key and weight under a keep rule, and the source
 * ranks that break ties. The cut search and the output pass read the documents through this.
 */
import { BoundarySearch, type KeyScan, runSearches } from './cuts.js';
import type { JoinResult } from './join.js';
import { KEY_WORDS, rankSources, writeKey } from './keys.js';
import { informationOrder, type MetricDefinition } from './metrics.js';
import type { KeepRule } from './plan.js';
import { CHUNK_RECORDS, SPILL_FIELDS, SPILL_WIDTH, type SpillFile } from './spill.js';

/** Candidates a quantile search sorts at once: small, as twenty of them run together. */
const QUANTILE_CANDIDATES = 1 << 14;

export class MeasuredSpill {
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

  /** Writes the record's key in information order (whatever the rule's order), for the report's views. */
  writeInformationKey(records: Float64Array, at: number, value: number, keys: Uint32Array, offset: number): void {
    const sourceRank = this.rankOfIndex[records[at + SPILL_FIELDS.sourceIndex]];
    writeKey(keys, offset, informationOrder(this.metric, value), sourceRank, records[at + SPILL_FIELDS.line]);
  }

  /**
   * The information-order keys of the first document kept when the least informative `percent` % are pruned (the
   * same rounding as `pruneRatio`), for each percent; null where that prunes everything. Shares scans.
   */
  quantileKeys(percents: readonly number[]): (Uint32Array | null)[] {
    const n = this.spill.count;
    const searches = percents.map(
      (percent) => new BoundarySearch('first-after', Math.ceil((n * percent) / 100 - 0.5), n, n, QUANTILE_CANDIDATES),
    );
    const keys = new Uint32Array(CHUNK_RECORDS * KEY_WORDS);
    const weights = new Float64Array(CHUNK_RECORDS).fill(1);
    runSearches(searches, (visit) =>
      this.spill.scan((records, count) => {
        for (let i = 0; i < count; i++) {
          const at = i * SPILL_WIDTH;
          this.writeInformationKey(records, at, this.valueAt(records, at), keys, i);
        }
        visit(keys, weights, count);
      }),
    );
    return searches.map((search) => search.result);
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
    const groups = new Uint32Array(CHUNK_RECORDS);
    return (visit) =>
      this.spill.scan((records, count) => {
        for (let i = 0; i < count; i++) {
          const at = i * SPILL_WIDTH;
          this.writeKey(rule, records, at, this.valueAt(records, at), keys, i);
          weights[i] = rule.weightOf(records[at + SPILL_FIELDS.tokens]);
          groups[i] = records[at + SPILL_FIELDS.group];
        }
        visit(keys, weights, count, groups);
      });
  }
}
