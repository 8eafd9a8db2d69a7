/**
 * Exact cut points in bounded memory: a weighted radix select over the 128-bit order keys of src/select/keys.ts.
 *
 * Each pass over the documents (a "scan") histograms one 16-bit digit of the keys still in the running region, in
 * 65,536 bins holding the count and the weight (1 per document, or its tokens) of each bin; the bin holding the
 * boundary becomes the next region. As soon as a region holds at most CANDIDATE_LIMIT documents, the next scan
 * collects their keys and the boundary is found exactly by sorting them. Memory is two 65,536-bin arrays plus the
 * candidates (at most CANDIDATE_LIMIT × 24 bytes, 6 MiB), whatever the number of documents; the number of scans is
 * at most 9 and usually 2 or 3 (a 16-bit digit of a double spans a few exponents at most). The same code serves the
 * in-memory API (one scan over arrays) and `infoprune prune` (scans over its spill file), so both cut identically.
 */
import { compareKeys, KEY_WORDS } from './keys.js';
import type { Band } from './strategies.js';

const DIGIT_BITS = 16;
const BINS = 1 << DIGIT_BITS;
const LEVELS = (KEY_WORDS * 32) / DIGIT_BITS;
export const CANDIDATE_LIMIT = 1 << 18;

/**
 * Feeds every document's key and weight (and its group, for searches within one group) to `visit`, in chunks, in
 * any order; may be called several times.
 */
export type KeyScan = (
  visit: (keys: Uint32Array, weights: Float64Array, count: number, groups?: Uint32Array) => void,
) => void;

/**
 * Finds one boundary document in the order of the keys:
 * - `first-after`: the first document with c + w > target (the first kept at the band's lower end);
 * - `last-before`: the last document with c < target (the last kept at the band's upper end);
 * where c is the weight of all documents before it and w its own weight.
 */
export class BoundarySearch {
  /** The boundary document's key, or null when no document qualifies. Valid once `done`. */
  result: Uint32Array | null = null;
  done = false;

  private level = 0;
  private readonly prefix = new Uint32Array(KEY_WORDS);
  /** Weight of all documents ordered before the current region. */
  private offset = 0;
  private collecting: boolean;
  private counts: Float64Array | null = null;
  private weights: Float64Array | null = null;
  private candidateKeys = new Uint32Array(0);
  private candidateWeights = new Float64Array(0);
  private candidates = 0;

  constructor(
    readonly kind: 'first-after' | 'last-before',
    readonly target: number,
    documents: number,
    totalWeight: number,
    /** Largest region resolved by sorting (tests lower it to exercise the histogram passes). */
    private readonly candidateLimit = CANDIDATE_LIMIT,
    /** Search only the documents of this group (the scan gives each document's group); null: all. */
    readonly group: number | null = null,
  ) {
    this.collecting = documents <= candidateLimit;
    const possible = kind === 'first-after' ? target < totalWeight : target > 0;
    if (documents === 0 || !possible) this.done = true;
  }

  /** Prepares for the next scan. */
  begin(): void {
    if (this.collecting) {
      this.candidates = 0;
    } else {
      this.counts ??= new Float64Array(BINS);
      this.weights ??= new Float64Array(BINS);
      this.counts.fill(0);
      this.weights.fill(0);
    }
  }

  visit(keys: Uint32Array, weights: Float64Array, count: number, groups?: Uint32Array): void {
    const fullWords = this.level >> 1;
    const half = this.level & 1;
    const prefix = this.prefix;
    const group = this.group;
    for (let i = 0; i < count; i++) {
      if (group !== null && groups![i] !== group) continue;
      const at = i * KEY_WORDS;
      let inRegion = true;
      for (let w = 0; w < fullWords; w++) {
        if (keys[at + w] !== prefix[w]) {
          inRegion = false;
          break;
        }
      }
      if (!inRegion) continue;
      if (half && keys[at + fullWords] >>> 16 !== prefix[fullWords] >>> 16) continue;
      if (this.collecting) {
        this.collect(keys, at, weights[i]);
      } else {
        const word = keys[at + fullWords];
        const digit = half ? word & 0xffff : word >>> 16;
        this.counts![digit] += 1;
        this.weights![digit] += weights[i];
      }
    }
  }

  private collect(keys: Uint32Array, at: number, weight: number): void {
    if (this.candidates === this.candidateWeights.length) {
      const capacity = Math.max(1024, this.candidates * 2);
      const grownKeys = new Uint32Array(capacity * KEY_WORDS);
      grownKeys.set(this.candidateKeys);
      const grownWeights = new Float64Array(capacity);
      grownWeights.set(this.candidateWeights);
      this.candidateKeys = grownKeys;
      this.candidateWeights = grownWeights;
    }
    this.candidateKeys.set(keys.subarray(at, at + KEY_WORDS), this.candidates * KEY_WORDS);
    this.candidateWeights[this.candidates++] = weight;
  }

  /** Digests the scan: narrows the region, or resolves the boundary. */
  end(): void {
    if (this.collecting) {
      this.resolveCandidates();
      return;
    }
    const counts = this.counts!;
    const weights = this.weights!;
    let before = this.offset;
    let chosen = -1;
    let chosenOffset = 0;
    for (let digit = 0; digit < BINS; digit++) {
      if (counts[digit] === 0) continue;
      if (this.kind === 'first-after') {
        if (before + weights[digit] > this.target) {
          chosen = digit;
          chosenOffset = before;
          break;
        }
      } else if (before < this.target) {
        chosen = digit;
        chosenOffset = before;
      }
      before += weights[digit];
    }
    if (chosen < 0) {
      this.done = true;
      return;
    }
    const word = this.level >> 1;
    this.prefix[word] = this.level & 1 ? (this.prefix[word] | chosen) >>> 0 : (chosen << 16) >>> 0;
    this.offset = chosenOffset;
    this.level++;
    this.collecting = counts[chosen] <= this.candidateLimit || this.level === LEVELS;
  }

  private resolveCandidates(): void {
    const keys = this.candidateKeys;
    const order = Array.from({ length: this.candidates }, (_, i) => i).sort((i, j) => compareKeys(keys, i, keys, j));
    let before = this.offset;
    let found = -1;
    for (const i of order) {
      const weight = this.candidateWeights[i];
      if (this.kind === 'first-after') {
        if (before + weight > this.target) {
          found = i;
          break;
        }
      } else if (before < this.target) {
        found = i;
      }
      before += weight;
    }
    this.result = found < 0 ? null : keys.slice(found * KEY_WORDS, (found + 1) * KEY_WORDS);
    this.done = true;
    this.candidateKeys = new Uint32Array(0);
    this.candidateWeights = new Float64Array(0);
  }
}

/** Runs searches to completion, sharing each scan among those still running. Returns the number of scans. */
export function runSearches(searches: readonly BoundarySearch[], scan: KeyScan): number {
  let scans = 0;
  for (;;) {
    const active = searches.filter((search) => !search.done);
    if (active.length === 0) return scans;
    for (const search of active) search.begin();
    scan((keys, weights, count, groups) => {
      for (const search of active) search.visit(keys, weights, count, groups);
    });
    for (const search of active) search.end();
    scans++;
  }
}

/** The kept range of keys: [from, to], null ends open; `empty` when nothing is kept. */
export interface KeyRange {
  from: Uint32Array | null;
  to: Uint32Array | null;
  empty: boolean;
}

/** Resolves a band to the keys of its first and last kept documents. */
export function findKeyRange(
  band: Band,
  documents: number,
  totalWeight: number,
  scan: KeyScan,
  candidateLimit = CANDIDATE_LIMIT,
): { range: KeyRange; scans: number } {
  const [ranges, scans] = findKeyRanges([{ band, documents, totalWeight, group: null }], scan, candidateLimit);
  return { range: ranges[0], scans };
}

/** A band to resolve within one group's documents (or all: group null), with that group's totals. */
export interface GroupBand {
  band: Band;
  documents: number;
  totalWeight: number;
  group: number | null;
}

/** Searches running at once: each holds two 65,536-bin arrays (1 MiB) while it histograms. */
const CONCURRENT_SEARCHES = 64;

/**
 * Resolves bands (one per group) to key ranges, sharing scans among up to CONCURRENT_SEARCHES searches at a time,
 * so that memory stays bounded however many groups there are (more groups cost more scans, not more memory).
 */
export function findKeyRanges(
  bands: readonly GroupBand[],
  scan: KeyScan,
  candidateLimit = CANDIDATE_LIMIT,
): [KeyRange[], number] {
  // The candidates of all searches at once stay within twice the limit of one (many groups, each sorted small).
  const perSearch = Math.max(
    Math.min(candidateLimit, 4096),
    Math.floor((candidateLimit * 2) / Math.min(CONCURRENT_SEARCHES, bands.length * 2)),
  );
  const searches = bands.map(({ band, documents, totalWeight, group }) => {
    const search = (kind: BoundarySearch['kind'], target: number | null): BoundarySearch | null =>
      target === null ? null : new BoundarySearch(kind, target, documents, totalWeight, perSearch, group);
    return { lower: search('first-after', band.lower), upper: search('last-before', band.upper) };
  });
  const all = searches.flatMap(({ lower, upper }) => [lower, upper]).filter((s): s is BoundarySearch => s !== null);
  let scans = 0;
  for (let at = 0; at < all.length; at += CONCURRENT_SEARCHES) {
    scans += runSearches(all.slice(at, at + CONCURRENT_SEARCHES), scan);
  }
  const ranges = searches.map(({ lower, upper }, i) => {
    const from = lower?.result ?? null;
    const to = upper?.result ?? null;
    let empty = bands[i].documents === 0 || (lower !== null && from === null) || (upper !== null && to === null);
    if (!empty && from !== null && to !== null && compareKeys(from, 0, to, 0) > 0) empty = true;
    return { from, to, empty };
  });
  return [ranges, scans];
}

/** Whether key `i` of `keys` lies in the kept range. */
export function inKeyRange(range: KeyRange, keys: Uint32Array, i: number): boolean {
  if (range.empty) return false;
  if (range.from !== null && compareKeys(keys, i, range.from, 0) < 0) return false;
  if (range.to !== null && compareKeys(keys, i, range.to, 0) > 0) return false;
  return true;
}
