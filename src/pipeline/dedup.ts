/**
 * Exact duplicates scored once: documents whose texts have the same content hash (the first 128 bits of the text's
 * sha256, computed where it is tokenized) share one engine result. `DedupIndex` remembers, in document order, the
 * first occurrence of each text; a later duplicate takes its result at once when it was scored already, or when
 * the calls of its window finish. Which document is a duplicate depends on document order alone, never on timing,
 * so a resumed run (which reloads the index from its log) decides the same.
 *
 * Memory: open addressing over typed arrays (41 bytes a slot, at most half the slots full), growing with the
 * distinct texts up to `capacity` of them (default 2^21: about 170 MiB at most); later texts are then scored, not
 * remembered.
 */
import { scoreResult } from '../engine/results.js';
import type { ScoreResult } from '../engine/types.js';

/** 32-bit words of a content hash (128 bits). */
export const HASH_WORDS = 4;

/** What a document's duplicates reuse. */
export interface DedupEntry {
  tokens: number;
  nll: number;
  /** Where its per-token log-probabilities lie in the run's sidecar; -1 when none were written. */
  sidecarOffset: number;
}

/** What `claim` says about a document. */
export type Claim =
  /** A duplicate of a text scored before: its result, for this document's byte count. */
  | { kind: 'reused'; result: ScoreResult }
  /** A duplicate of a text being scored in this or an earlier window: its result when that is done. */
  | { kind: 'waiting'; result: Promise<ScoreResult> }
  /** The first occurrence: score it, then `settle` with the result (or the error). */
  | { kind: 'first'; settle: (result: ScoreResult | Error) => void }
  /** Not remembered (the index is full): score it. */
  | { kind: 'untracked' };

const EMPTY = 0;
const PENDING = 1;
const DONE = 2;
const INITIAL_SLOTS = 1 << 10;

export class DedupIndex {
  private slots = INITIAL_SLOTS;
  private keys = new Uint32Array(INITIAL_SLOTS * HASH_WORDS);
  private lengths = new Uint32Array(INITIAL_SLOTS);
  private tokens = new Uint32Array(INITIAL_SLOTS);
  private nll = new Float64Array(INITIAL_SLOTS);
  private offsets = new Float64Array(INITIAL_SLOTS);
  private states = new Uint8Array(INITIAL_SLOTS);
  private readonly waiting = new Map<string, Promise<ScoreResult>>();
  /** Distinct texts remembered. */
  size = 0;

  /** `capacity`: most distinct texts remembered. */
  constructor(readonly capacity: number) {}

  /** What to do with the document whose text has `hash` (words `at`…`at + 3`) and `bytes` UTF-8 bytes. */
  claim(hash: Uint32Array, at: number, bytes: number): Claim {
    const slot = this.find(hash, at, bytes);
    if (slot >= 0 && this.states[slot] === DONE) {
      return { kind: 'reused', result: scoreResult(this.tokens[slot], this.nll[slot], bytes) };
    }
    if (slot >= 0) return { kind: 'waiting', result: this.waiting.get(keyOf(hash, at, bytes))! };
    if (this.size >= this.capacity || bytes > 0xffffffff) return { kind: 'untracked' };
    this.insert(hash, at, bytes, PENDING);
    const key = keyOf(hash, at, bytes);
    let settle!: (result: ScoreResult | Error) => void;
    const result = new Promise<ScoreResult>((resolve, reject) => {
      settle = (outcome) => {
        this.waiting.delete(key);
        if (outcome instanceof Error) {
          reject(outcome);
          return;
        }
        const done = this.find(hash, at, bytes);
        this.tokens[done] = outcome.tokens;
        this.nll[done] = outcome.nll;
        this.states[done] = DONE;
        resolve(outcome);
      };
    });
    result.catch(() => undefined); // a failed call fails its own window; duplicates waiting on it see the error too
    this.waiting.set(key, result);
    return { kind: 'first', settle };
  }

  /** A first occurrence known from an earlier session of the run or from the cache (not past `capacity`). */
  restore(hash: Uint32Array, at: number, bytes: number, entry: DedupEntry): void {
    if (this.size >= this.capacity || this.find(hash, at, bytes) >= 0) return;
    const slot = this.insert(hash, at, bytes, DONE);
    this.tokens[slot] = entry.tokens;
    this.nll[slot] = entry.nll;
    this.offsets[slot] = entry.sidecarOffset;
  }

  /** Where the text's log-probabilities were written (-1: not written); set when its first occurrence is. */
  sidecarOffset(hash: Uint32Array, at: number, bytes: number): number {
    const slot = this.find(hash, at, bytes);
    return slot < 0 ? -1 : this.offsets[slot];
  }

  setSidecarOffset(hash: Uint32Array, at: number, bytes: number, offset: number): void {
    const slot = this.find(hash, at, bytes);
    if (slot >= 0) this.offsets[slot] = offset;
  }

  /** The slot holding this text, or -1. */
  private find(hash: Uint32Array, at: number, bytes: number): number {
    const mask = this.slots - 1;
    for (let slot = hash[at] & mask; ; slot = (slot + 1) & mask) {
      if (this.states[slot] === EMPTY) return -1;
      const k = slot * HASH_WORDS;
      if (
        this.keys[k] === hash[at] &&
        this.keys[k + 1] === hash[at + 1] &&
        this.keys[k + 2] === hash[at + 2] &&
        this.keys[k + 3] === hash[at + 3] &&
        this.lengths[slot] === bytes
      ) {
        return slot;
      }
    }
  }

  private insert(hash: Uint32Array, at: number, bytes: number, state: number): number {
    if ((this.size + 1) * 2 > this.slots) this.grow();
    const mask = this.slots - 1;
    let slot = hash[at] & mask;
    while (this.states[slot] !== EMPTY) slot = (slot + 1) & mask;
    this.keys.set(hash.subarray(at, at + HASH_WORDS), slot * HASH_WORDS);
    this.lengths[slot] = bytes;
    this.offsets[slot] = -1;
    this.states[slot] = state;
    this.size++;
    return slot;
  }

  private grow(): void {
    const old = {
      slots: this.slots,
      keys: this.keys,
      lengths: this.lengths,
      tokens: this.tokens,
      nll: this.nll,
      offsets: this.offsets,
      states: this.states,
    };
    this.slots *= 2;
    this.keys = new Uint32Array(this.slots * HASH_WORDS);
    this.lengths = new Uint32Array(this.slots);
    this.tokens = new Uint32Array(this.slots);
    this.nll = new Float64Array(this.slots);
    this.offsets = new Float64Array(this.slots);
    this.states = new Uint8Array(this.slots);
    const mask = this.slots - 1;
    for (let from = 0; from < old.slots; from++) {
      if (old.states[from] === EMPTY) continue;
      let slot = old.keys[from * HASH_WORDS] & mask;
      while (this.states[slot] !== EMPTY) slot = (slot + 1) & mask;
      this.keys.set(old.keys.subarray(from * HASH_WORDS, (from + 1) * HASH_WORDS), slot * HASH_WORDS);
      this.lengths[slot] = old.lengths[from];
      this.tokens[slot] = old.tokens[from];
      this.nll[slot] = old.nll[from];
      this.offsets[slot] = old.offsets[from];
      this.states[slot] = old.states[from];
    }
  }
}

function keyOf(hash: Uint32Array, at: number, bytes: number): string {
  return `${hash[at]},${hash[at + 1]},${hash[at + 2]},${hash[at + 3]},${bytes}`;
}
