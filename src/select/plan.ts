/**
 * The pieces of a selection shared by the in-memory API (src/select/select.ts) and the streaming `infoprune prune`
 * (src/select/prune.ts): turning measured documents into order keys, and a strategy into a kept-key predicate.
 */
import { findKeyRanges, type GroupBand, inKeyRange, type KeyRange, type KeyScan } from './cuts.js';
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
  /** With `perGroup`: each group's own cuts, by group index (then `lower` and `upper` are null). */
  groups?: { lower: CutPoint | null; upper: CutPoint | null }[];
}

/** A group's size, for a budget applied within each group. */
export interface GroupTotals {
  documents: number;
  tokens: number | null;
}

/**
 * Decides, per document, whether it is kept. Built once the corpus totals are known; `resolve` then runs the scans
 * that find the band's boundary keys (none for `threshold`). With `perGroup`, one band per group, each resolved
 * among its group's documents.
 */
export class KeepRule {
  readonly metric: MetricDefinition;
  /** The band over the whole corpus; null for `threshold` and per-group rules. */
  readonly band: Band | null;
  /** Per group (index = group), with `perGroup`. */
  readonly groupBands: Band[] | null;
  private ranges: KeyRange[] | null = null;
  scans = 0;

  constructor(
    readonly spec: SelectionSpec,
    readonly documents: number,
    readonly tokens: number | null,
    readonly groups: readonly GroupTotals[] = [],
  ) {
    this.metric = METRICS[spec.metric];
    const strategy = spec.strategy;
    const ranked = strategy !== 'threshold';
    this.band = ranked && !spec.perGroup ? bandFor(strategy, spec.budget, documents, tokens) : null;
    this.groupBands =
      ranked && spec.perGroup
        ? groups.map((group) => bandFor(strategy, spec.budget, group.documents, group.tokens))
        : null;
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

  /** Finds the bands' boundaries with as many scans of the documents' keys as needed. */
  resolve(totalWeight: number, scan: KeyScan): void {
    let bands: GroupBand[];
    if (this.groupBands !== null) {
      bands = this.groupBands.map((band, group) => ({
        band,
        documents: this.groups[group].documents,
        totalWeight: this.groups[group].documents,
        group,
      }));
    } else if (this.band !== null) {
      bands = [{ band: this.band, documents: this.documents, totalWeight, group: null }];
    } else return;
    const [ranges, scans] = findKeyRanges(bands, scan);
    this.ranges = ranges;
    this.scans = scans;
  }

  /** Whether the document with key `i` of `keys`, metric value `value` (and group index `group`) is kept. */
  keeps(keys: Uint32Array, i: number, value: number, group = 0): boolean {
    const budget = this.spec.budget;
    if (budget.kind === 'threshold') {
      return (budget.min === null || value >= budget.min) && (budget.max === null || value <= budget.max);
    }
    if (this.ranges === null) throw new Error('KeepRule.resolve must run before keeps');
    return inKeyRange(this.ranges[this.groupBands === null ? 0 : group], keys, i);
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
    const order = this.randomOrder ? 'random' : 'information';
    const point = (range: KeyRange | undefined, key: Uint32Array | null): CutPoint | null => {
      if (key === null || range === undefined || range.empty) return null;
      const ordered = keyValue(key);
      const value = order === 'random' ? ordered : informationOrder(this.metric, ordered);
      return { value: value === 0 ? 0 : value, source: sources[key[2]], line: key[3] };
    };
    const ends = (range: KeyRange | undefined) => ({
      lower: point(range, range?.from ?? null),
      upper: point(range, range?.to ?? null),
    });
    if (this.groupBands !== null) return { order, lower: null, upper: null, groups: (this.ranges ?? []).map(ends) };
    return { order, ...ends(this.ranges?.[0]) };
  }
}

/** A document's key in the `random` strategy's order (0 for other strategies, which do not read it). */
export function randomKeyFor(spec: SelectionSpec, id: string): number {
  return spec.strategy === 'random' ? randomKey(id, spec.seed) : 0;
}
