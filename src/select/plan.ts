/**
 * The pieces of a selection shared by the in-memory API (src/select/select.ts) and the streaming `infoprune prune`
 * (src/select/prune.ts): turning measured documents into order keys, and a strategy into a kept-key predicate.
 */
import { findKeyRange, inKeyRange, type KeyRange, type KeyScan } from './cuts.js';
import { keyValue, randomKey, writeKey } from './keys.js';
import { informationOrder, METRICS, type MetricDefinition } from './metrics.js';
import { type Band, bandFor, type SelectionSpec } from './strategies.js';

/** A boundary of the kept set: the value there and, for ranking strategies, the boundary document itself. */
export interface CutPoint {
  /** The metric value (for `random`, the document's random key in [0, 1)). */
  value: number;
  /** The first (lower cut) or last (upper cut) kept document in the strategy's order; absent for `threshold`. */
  source?: string;
  line?: number;
  id?: string;
}

export interface Cuts {
  /** What the values order: the metric (ascending information), or the random key (`random`). */
  order: 'information' | 'random';
  /** The least informative kept document (lower end of the band), or min for `threshold`; null when open. */
  lower: CutPoint | null;
  /** The most informative kept document (upper end of the band), or max for `threshold`; null when open. */
  upper: CutPoint | null;
}

/**
 * Decides, per document, whether it is kept. Built once the corpus totals are known; `resolve` then runs the scans
 * that find the band's boundary keys (none for `threshold`).
 */
export class KeepRule {
  readonly metric: MetricDefinition;
  readonly band: Band | null;
  private range: KeyRange | null = null;
  scans = 0;

  constructor(
    readonly spec: SelectionSpec,
    readonly documents: number,
    readonly tokens: number | null,
  ) {
    this.metric = METRICS[spec.metric];
    this.band = spec.strategy === 'threshold' ? null : bandFor(spec.strategy, spec.budget, documents, tokens);
  }

  /** Weight of a document in the band's coordinates. */
  weightOf(tokens: number): number {
    return this.band?.weighting === 'tokens' ? tokens : 1;
  }

  /** Whether documents are ordered by their random key (strategy `random`) rather than by information. */
  get randomOrder(): boolean {
    return this.spec.strategy === 'random';
  }

  /** The random key of a document for this rule's seed (0 when the order is not random: it is not read). */
  randomKeyOf(id: string): number {
    return randomKeyFor(this.spec, id);
  }

  /** Writes the key a document is ordered by for this rule: information order, or its random key. */
  writeKey(out: Uint32Array, offset: number, value: number, random: number, sourceRank: number, line: number): void {
    writeKey(out, offset, this.randomOrder ? random : informationOrder(this.metric, value), sourceRank, line);
  }

  /** Finds the band's boundaries with as many scans of the documents' keys as needed. */
  resolve(totalWeight: number, scan: KeyScan): void {
    if (this.band === null) return;
    const { range, scans } = findKeyRange(this.band, this.documents, totalWeight, scan);
    this.range = range;
    this.scans = scans;
  }

  /** Whether the document with key `i` of `keys` and metric value `value` is kept. */
  keeps(keys: Uint32Array, i: number, value: number): boolean {
    const budget = this.spec.budget;
    if (budget.kind === 'threshold') {
      return (budget.min === null || value >= budget.min) && (budget.max === null || value <= budget.max);
    }
    if (this.range === null) throw new Error('KeepRule.resolve must run before keeps');
    return inKeyRange(this.range, keys, i);
  }

  /** The cut points, with boundary documents given by source rank → source. */
  cuts(sources: readonly string[]): Cuts {
    const budget = this.spec.budget;
    if (budget.kind === 'threshold') {
      return {
        order: 'information',
        lower: budget.min === null ? null : { value: budget.min },
        upper: budget.max === null ? null : { value: budget.max },
      };
    }
    const order = this.band!.order;
    const point = (key: Uint32Array | null): CutPoint | null => {
      if (key === null || this.range === null || this.range.empty) return null;
      const ordered = keyValue(key);
      const value = order === 'random' ? ordered : informationOrder(this.metric, ordered);
      return { value: value === 0 ? 0 : value, source: sources[key[2]], line: key[3] };
    };
    return { order, lower: point(this.range?.from ?? null), upper: point(this.range?.to ?? null) };
  }
}

/** A document's key in the `random` strategy's order (0 for other strategies, which do not read it). */
export function randomKeyFor(spec: SelectionSpec, id: string): number {
  return spec.strategy === 'random' ? randomKey(id, spec.seed) : 0;
}
