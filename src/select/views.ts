/**
 * What the report shows besides the histogram, gathered during prune's output pass in constant memory: kept shares
 * per group and per document length, the token curve against the cut value, the documents just either side of a cut,
 * and the tokens behind each percentile of the quantile table.
 */
import { compareKeys, KEY_WORDS } from './keys.js';

export interface Sample {
  /** Position in the rank order is unknown while streaming; the information order key orders samples. */
  id: string;
  source: string;
  line: number;
  value: number;
  tokens: number | null;
  kept: boolean;
  /** The start of the text, whitespace collapsed, at most SNIPPET_CHARACTERS characters. */
  snippet: string;
}

/** What a selection kept of one group (a source file, or a `groupField` value). */
export interface GroupShare {
  group: string;
  documents: number;
  kept: number;
  /** Null when no scores were given (then tokens are unknown). */
  tokens: number | null;
  keptTokens: number | null;
  /** With `perGroup`: the group's own cut values (information order), null when open or nothing is kept. */
  cuts?: { lower: number | null; upper: number | null };
}

export class GroupView {
  private readonly documents: Float64Array;
  private readonly kept: Float64Array;
  private readonly tokens: Float64Array;
  private readonly keptTokens: Float64Array;

  constructor(readonly names: readonly string[]) {
    this.documents = new Float64Array(names.length);
    this.kept = new Float64Array(names.length);
    this.tokens = new Float64Array(names.length);
    this.keptTokens = new Float64Array(names.length);
  }

  add(group: number, tokens: number, kept: boolean): void {
    this.documents[group]++;
    this.tokens[group] += tokens;
    if (kept) {
      this.kept[group]++;
      this.keptTokens[group] += tokens;
    }
  }

  shares(tokensKnown: boolean): GroupShare[] {
    return this.names.map((group, i) => ({
      group,
      documents: this.documents[i],
      kept: this.kept[i],
      tokens: tokensKnown ? this.tokens[i] : null,
      keptTokens: tokensKnown ? this.keptTokens[i] : null,
    }));
  }
}

/** Upper bounds (exclusive) of the length buckets, in tokens (or bytes when no scores are given). */
export const LENGTH_BUCKET_EDGES = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192] as const;

export interface LengthBucket {
  /** [from, to) in `unit`; `to` null for the last bucket. */
  from: number;
  to: number | null;
  documents: number;
  kept: number;
  /** Tokens (or bytes) in the bucket, and kept. */
  size: number;
  keptSize: number;
}

/** Kept shares by document length: whether a metric favours short or long documents. */
export class LengthView {
  private readonly buckets: LengthBucket[];

  constructor(readonly unit: 'tokens' | 'bytes') {
    const edges = [0, ...LENGTH_BUCKET_EDGES];
    this.buckets = edges.map((from, i) => ({
      from,
      to: i + 1 < edges.length ? edges[i + 1] : null,
      documents: 0,
      kept: 0,
      size: 0,
      keptSize: 0,
    }));
  }

  add(length: number, kept: boolean): void {
    let i = 0;
    while (i < LENGTH_BUCKET_EDGES.length && length >= LENGTH_BUCKET_EDGES[i]) i++;
    const bucket = this.buckets[i];
    bucket.documents++;
    bucket.size += length;
    if (kept) {
      bucket.kept++;
      bucket.keptSize += length;
    }
  }

  /** The buckets holding documents. */
  result(): LengthBucket[] {
    return this.buckets.filter((bucket) => bucket.documents > 0);
  }
}

/** A point of the token curve: keeping every document more informative than `value` keeps this much. */
export interface CurvePoint {
  value: number;
  documents: number;
  tokens: number;
}

/**
 * Documents and tokens in fine bins of information order (ascending information, the order lowest-first prunes
 * in): the kept totals of a cut at every bin edge, exact there.
 */
export class TokenCurve {
  private readonly documents: Float64Array;
  private readonly tokens: Float64Array;
  private readonly width: number;

  constructor(
    /** The range of the information order (−value for metrics where lower is more informative). */
    readonly low: number,
    readonly high: number,
    /** Maps an information-order position back to a metric value. */
    private readonly toValue: (order: number) => number,
    readonly bins = 256,
  ) {
    this.documents = new Float64Array(bins);
    this.tokens = new Float64Array(bins);
    this.width = high > low ? (high - low) / bins : 1;
  }

  add(order: number, tokens: number): void {
    const bin = Math.min(this.bins - 1, Math.max(0, Math.floor((order - this.low) / this.width)));
    this.documents[bin]++;
    this.tokens[bin] += tokens;
  }

  /** The kept totals with the cut at each bin's lower edge, from the least informative edge up. */
  points(): CurvePoint[] {
    const points: CurvePoint[] = [];
    let documents = 0;
    let tokens = 0;
    for (let bin = this.bins - 1; bin >= 0; bin--) {
      documents += this.documents[bin];
      tokens += this.tokens[bin];
      points.push({ value: this.toValue(this.low + bin * this.width), documents, tokens });
    }
    return points.reverse();
  }
}

/** One row of the quantile table: pruning the least informative `percent` % keeps documents from `value` on. */
export interface QuantileRow {
  percent: number;
  /** The first kept document's value (the cut value of `--prune-ratio percent/100`). */
  value: number;
  keptDocuments: number;
  keptTokens: number | null;
}

/**
 * Tokens at or above each quantile's key (in information order), counted as the output pass streams: each document
 * falls between two quantile keys (a binary search among them), and suffix sums give the kept totals.
 */
export class QuantileTokens {
  private readonly documents: Float64Array;
  private readonly tokens: Float64Array;

  constructor(
    /** The quantiles' boundary keys, ascending (KEY_WORDS words each). */
    private readonly keys: Uint32Array,
    private readonly count: number,
  ) {
    this.documents = new Float64Array(count + 1);
    this.tokens = new Float64Array(count + 1);
  }

  /** Adds a document whose information key is `key` (at `offset`). */
  add(key: Uint32Array, offset: number, tokens: number): void {
    // The number of quantile keys at or below this key: the document counts for each of those cuts.
    let low = 0;
    let high = this.count;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (compareKeys(this.keys, middle, key, offset) <= 0) low = middle + 1;
      else high = middle;
    }
    this.documents[low]++;
    this.tokens[low] += tokens;
  }

  /** Kept totals with the cut at quantile key q: documents whose key is at or above it. */
  keptAt(q: number): { documents: number; tokens: number } {
    let documents = 0;
    let tokens = 0;
    for (let slot = q + 1; slot <= this.count; slot++) {
      documents += this.documents[slot];
      tokens += this.tokens[slot];
    }
    return { documents, tokens };
  }
}

/** The documents either side of one cut, in information order. */
export interface NearCut {
  /** `lower`: the band's least informative end (what lowest-first prunes below); `upper`: its most informative end. */
  side: 'lower' | 'upper';
  value: number;
  before: Sample[];
  after: Sample[];
}

/**
 * The documents just either side of a cut, in information order: the `limit` with the largest keys before `pivot`
 * and the `limit` with the smallest keys from `pivot` on (`pivot` itself after the cut unless `pivotBefore`).
 */
export class NearCutTracker {
  private readonly before: { key: Uint32Array; sample: Sample }[] = [];
  private readonly after: { key: Uint32Array; sample: Sample }[] = [];

  constructor(
    private readonly pivot: Uint32Array,
    private readonly pivotBefore: boolean,
    private readonly limit = 5,
  ) {}

  offer(key: Uint32Array, offset: number, sample: () => Sample): void {
    const order = compareKeys(key, offset, this.pivot, 0);
    const isBefore = order < 0 || (order === 0 && this.pivotBefore);
    const list = isBefore ? this.before : this.after;
    const worst = list.at(-1);
    // before: keep the largest keys; after: the smallest. Lists are kept sorted by closeness to the pivot.
    const closer = (a: Uint32Array, b: Uint32Array): boolean =>
      isBefore ? compareKeys(a, 0, b, 0) > 0 : compareKeys(a, 0, b, 0) < 0;
    const entryKey = key.slice(offset * KEY_WORDS, (offset + 1) * KEY_WORDS);
    if (list.length === this.limit && worst !== undefined && !closer(entryKey, worst.key)) return;
    const entry = { key: entryKey, sample: sample() };
    let at = list.length;
    while (at > 0 && closer(entry.key, list[at - 1].key)) at--;
    list.splice(at, 0, entry);
    if (list.length > this.limit) list.pop();
  }

  /** Before the cut (furthest first), then after it (nearest first): in information order. */
  result(): { before: Sample[]; after: Sample[] } {
    return {
      before: [...this.before].reverse().map((entry) => entry.sample),
      after: this.after.map((entry) => entry.sample),
    };
  }
}

/** One document as the views see it in the output pass. */
export interface ViewedDocument {
  group: number;
  /** Tokens (0 when unknown), and bytes. */
  tokens: number;
  bytes: number;
  kept: boolean;
  /** Its information order position (the metric value, negated where lower is more informative). */
  order: number;
  /** Its information-order key, at `offset` of `key`. */
  key: Uint32Array;
  offset: number;
  sample: () => Sample;
}

/** Every view of the report, fed one document at a time. */
export class ReportViews {
  readonly groups: GroupView;
  readonly lengths: LengthView;
  readonly curve: TokenCurve;
  private lastSample: { key: Uint32Array; sample: Sample } | null = null;

  constructor(
    groups: readonly string[],
    readonly tokensKnown: boolean,
    orderRange: { low: number; high: number },
    toValue: (order: number) => number,
    readonly quantiles: QuantileTokens | null,
    readonly nearCuts: NearCutTracker[],
  ) {
    this.groups = new GroupView(groups);
    this.lengths = new LengthView(tokensKnown ? 'tokens' : 'bytes');
    this.curve = new TokenCurve(orderRange.low, orderRange.high, toValue);
  }

  add(document: ViewedDocument): void {
    const size = this.tokensKnown ? document.tokens : document.bytes;
    this.groups.add(document.group, size, document.kept);
    this.lengths.add(size, document.kept);
    this.curve.add(document.order, size);
    this.quantiles?.add(document.key, document.offset, size);
    // A document near two cuts is sampled once.
    const sample = (): Sample => {
      if (this.lastSample?.key !== document.key) this.lastSample = { key: document.key, sample: document.sample() };
      return this.lastSample.sample;
    };
    for (const tracker of this.nearCuts) tracker.offer(document.key, document.offset, sample);
    this.lastSample = null;
  }
}
