/**
 * The probe's vocabulary: byte-level BPE learned from a sample of the corpus, stored the way llama.cpp's GPT-2
 * tokenizer (`tokenizer.ggml.model = gpt2`, `pre = gpt-2`) reads it, so llama.cpp tokenizes every text exactly as
 * `encode()` below does (test/train-vocabulary.test.ts checks that on a multilingual sample).
 *
 * Byte-level means every byte is a token before any merge: any language, script or binary junk tokenizes, and no
 * text is ever unknown. The pre-tokenizer is a port of llama.cpp's `unicode_regex_split_custom_gpt2` (the regex
 * `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`): merges never cross its pieces.
 */
import { ggufArray, ggufBool, ggufString, ggufUint32 } from '../gguf/encode.js';
import type { GgufMetadataValue } from '../gguf/types.js';
import { expectInteger } from '../util/validate.js';

export interface Vocabulary {
  /** Token strings in GPT-2's byte-to-character encoding: 256 bytes, then one per merge, then BOS and EOS. */
  tokens: string[];
  /** `left right` pairs in merge order (rank = index). */
  merges: string[];
  bosToken: number;
  eosToken: number;
}

export const VOCABULARY_LIMITS = Object.freeze({ min: 258 + 64, max: 65_536 });

/** Token types as GGUF stores them. */
const NORMAL_TOKEN = 1;
const CONTROL_TOKEN = 3;

// ---- GPT-2's byte ↔ character map: printable bytes stand for themselves, the others move to U+0100 and up ----

export const BYTE_CHARACTERS: readonly string[] = (() => {
  const printable = (byte: number) => (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || byte >= 174;
  const characters: string[] = [];
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    characters.push(String.fromCodePoint(printable(byte) ? byte : 256 + shifted++));
  }
  return characters;
})();

// ---- the pre-tokenizer (llama.cpp's character classes: its whitespace set, Unicode letters and numbers) ----

const WHITESPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);
enum CharClass {
  Undefined = 0,
  Letter = 1,
  Number = 2,
  Space = 3,
  Other = 4,
}
const LETTER = /\p{L}/u;
const NUMBER = /\p{N}/u;
const UNASSIGNED = /\p{Cn}/u;

/** Classes of the Basic Multilingual Plane, computed on first use (255 = not yet known): regex tests are slow. */
const BMP_CLASSES = new Uint8Array(0x10000).fill(255);

function classOf(codePoint: number): CharClass {
  if (codePoint < 0x10000) {
    if (BMP_CLASSES[codePoint] === 255) BMP_CLASSES[codePoint] = computeClass(codePoint);
    return BMP_CLASSES[codePoint];
  }
  return computeClass(codePoint);
}

function computeClass(codePoint: number): CharClass {
  if (WHITESPACE.has(codePoint)) return CharClass.Space;
  const character = String.fromCodePoint(codePoint);
  if (LETTER.test(character)) return CharClass.Letter;
  if (NUMBER.test(character)) return CharClass.Number;
  return UNASSIGNED.test(character) ? CharClass.Undefined : CharClass.Other;
}

const CONTRACTION_ONE = new Set([0x73, 0x74, 0x6d, 0x64]); // 's 't 'm 'd
const CONTRACTION_TWO = new Set(['re', 've', 'll']);

/** The text's pre-tokens, as llama.cpp's GPT-2 pre-tokenizer splits it. */
export function preTokenize(text: string): string[] {
  const points = Array.from(text, (character) => character.codePointAt(0) as number);
  const classes = points.map(classOf);
  const n = points.length;
  const at = (position: number) => (position < n ? classes[position] : CharClass.Undefined);
  const pieces: string[] = [];
  let start = 0;
  // Ends the current piece at `end`, and returns `end` (the position to go on from).
  const cut = (end: number): number => {
    if (end > start) pieces.push(String.fromCodePoint(...points.slice(start, end)));
    start = end;
    return end;
  };
  for (let position = 0; position < n; ) {
    const point = points[position];
    if (point === 0x27 && position + 1 < n) {
      if (CONTRACTION_ONE.has(points[position + 1])) {
        position = cut(position + 2);
        continue;
      }
      if (position + 2 < n && CONTRACTION_TWO.has(String.fromCodePoint(points[position + 1], points[position + 2]))) {
        position = cut(position + 3);
        continue;
      }
    }
    const leadingSpace = point === 0x20 ? 1 : 0;
    const kind = leadingSpace ? at(position + 1) : classes[position];
    if (kind === CharClass.Letter || kind === CharClass.Number || kind === CharClass.Other) {
      position += leadingSpace;
      while (at(position) === kind) position++;
      cut(position);
      continue;
    }
    let spaces = 0;
    while (at(position + spaces) === CharClass.Space) spaces++;
    if (spaces > 1 && position + spaces < n) {
      position = cut(position + spaces - 1); // \s+(?!\S): leave the last space to the next piece
    } else {
      position = cut(position + Math.max(spaces, 1)); // \s+, or one character nothing else matches
    }
  }
  return pieces;
}

// ---- learning the merges ----

/** A max-heap of [count, pair] with lazy deletion (stale entries are skipped when popped). */
class PairHeap {
  readonly #items: [number, number][] = [];
  get size(): number {
    return this.#items.length;
  }
  // Higher count first; on ties the smaller pair key, so the result never depends on insertion order.
  #before(a: [number, number], b: [number, number]): boolean {
    return a[0] > b[0] || (a[0] === b[0] && a[1] < b[1]);
  }
  push(count: number, pair: number): void {
    const items = this.#items;
    items.push([count, pair]);
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.#before(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }
  pop(): [number, number] {
    const items = this.#items;
    const top = items[0];
    const last = items.pop() as [number, number];
    if (items.length > 0) {
      items[0] = last;
      for (let i = 0; ; ) {
        const left = 2 * i + 1;
        let best = i;
        if (left < items.length && this.#before(items[left], items[best])) best = left;
        if (left + 1 < items.length && this.#before(items[left + 1], items[best])) best = left + 1;
        if (best === i) break;
        [items[i], items[best]] = [items[best], items[i]];
        i = best;
      }
    }
    return top;
  }
}

const PAIR_SHIFT = 2 ** 20; // token ids stay below 2^20 (VOCABULARY_LIMITS.max)
const pairKey = (left: number, right: number) => left * PAIR_SHIFT + right;

/** Pre-token counts of a sample: the unit BPE learns from. */
export function countPreTokens(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) for (const piece of preTokenize(text)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  return counts;
}

/**
 * Learns `size - 258` merges from pre-token counts (most frequent pair first; ties by the smaller pair), stopping
 * early when no pair occurs twice. The vocabulary is the 256 bytes, the merges, then BOS and EOS.
 */
export function learnVocabulary(preTokens: Map<string, number>, size: number): Vocabulary {
  expectInteger('vocabularySize', size, VOCABULARY_LIMITS.min, VOCABULARY_LIMITS.max);
  const encoder = new TextEncoder();
  const words: number[][] = [];
  const frequencies: number[] = [];
  for (const [piece, count] of preTokens) {
    words.push(Array.from(encoder.encode(piece)));
    frequencies.push(count);
  }
  const merges = learnMerges(words, frequencies, size - 258);
  const tokens = BYTE_CHARACTERS.slice();
  for (const [left, right] of merges) tokens.push(tokens[left] + tokens[right]);
  const bosToken = tokens.push('<s>') - 1;
  const eosToken = tokens.push('</s>') - 1;
  return { tokens, merges: merges.map(([left, right]) => `${tokens[left]} ${tokens[right]}`), bosToken, eosToken };
}

function learnMerges(words: number[][], frequencies: number[], wanted: number): [number, number][] {
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const add = (pair: number, count: number, word: number) => {
    pairCounts.set(pair, (pairCounts.get(pair) ?? 0) + count);
    const holders = pairWords.get(pair);
    if (holders) holders.add(word);
    else pairWords.set(pair, new Set([word]));
  };
  words.forEach((word, w) => {
    for (let i = 0; i + 1 < word.length; i++) add(pairKey(word[i], word[i + 1]), frequencies[w], w);
  });
  const heap = new PairHeap();
  for (const [pair, count] of pairCounts) heap.push(count, pair);

  const merges: [number, number][] = [];
  while (merges.length < wanted && heap.size > 0) {
    const [count, pair] = heap.pop();
    if (pairCounts.get(pair) !== count) continue; // stale entry
    if (count < 2) break;
    const left = Math.floor(pair / PAIR_SHIFT);
    const right = pair % PAIR_SHIFT;
    const merged = 256 + merges.length;
    merges.push([left, right]);
    const touched = new Set<number>();
    for (const w of pairWords.get(pair) ?? []) {
      const word = words[w];
      const frequency = frequencies[w];
      for (let i = 0; i + 1 < word.length; i++) {
        const old = pairKey(word[i], word[i + 1]);
        pairCounts.set(old, (pairCounts.get(old) as number) - frequency);
        touched.add(old);
      }
      const next = mergeAll(word, left, right, merged);
      words[w] = next;
      for (let i = 0; i + 1 < next.length; i++) {
        const fresh = pairKey(next[i], next[i + 1]);
        add(fresh, frequency, w);
        touched.add(fresh);
      }
    }
    pairWords.delete(pair);
    pairCounts.delete(pair);
    for (const key of touched) {
      const current = pairCounts.get(key);
      if (current !== undefined && current > 0) heap.push(current, key);
    }
  }
  return merges;
}

function mergeAll(word: number[], left: number, right: number, merged: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < word.length; ) {
    if (i + 1 < word.length && word[i] === left && word[i + 1] === right) {
      out.push(merged);
      i += 2;
    } else {
      out.push(word[i++]);
    }
  }
  return out;
}

// ---- encoding (the reference llama.cpp must agree with) ----

/** An encoder for one vocabulary: pre-tokenize, then merge the lowest-rank pair (leftmost first) until none is left. */
export function vocabularyEncoder(vocabulary: Vocabulary): (text: string) => number[] {
  const ids = new Map(vocabulary.tokens.map((token, id) => [token, id]));
  const ranks = new Map(vocabulary.merges.map((merge, rank) => [merge, rank]));
  const encoder = new TextEncoder();
  return (text) => {
    const out: number[] = [];
    for (const piece of preTokenize(text)) {
      const symbols = Array.from(encoder.encode(piece), (byte) => BYTE_CHARACTERS[byte]);
      for (;;) {
        let best = -1;
        let bestRank = Number.POSITIVE_INFINITY;
        for (let i = 0; i + 1 < symbols.length; i++) {
          const rank = ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
          if (rank !== undefined && rank < bestRank) {
            bestRank = rank;
            best = i;
          }
        }
        if (best < 0) break;
        symbols.splice(best, 2, symbols[best] + symbols[best + 1]);
      }
      for (const symbol of symbols) out.push(ids.get(symbol) as number);
    }
    return out;
  };
}

/** The GGUF tokenizer entries that make llama.cpp tokenize with this vocabulary (BOS added, special parsing aside). */
export function vocabularyMetadata(vocabulary: Vocabulary): [string, GgufMetadataValue][] {
  const types = new Int32Array(vocabulary.tokens.length).fill(NORMAL_TOKEN);
  types[vocabulary.bosToken] = CONTROL_TOKEN;
  types[vocabulary.eosToken] = CONTROL_TOKEN;
  return [
    ['tokenizer.ggml.model', ggufString('gpt2')],
    ['tokenizer.ggml.pre', ggufString('gpt-2')],
    ['tokenizer.ggml.tokens', ggufArray('string', vocabulary.tokens)],
    ['tokenizer.ggml.token_type', ggufArray('int32', types)],
    ['tokenizer.ggml.merges', ggufArray('string', vocabulary.merges)],
    ['tokenizer.ggml.bos_token_id', ggufUint32(vocabulary.bosToken)],
    ['tokenizer.ggml.eos_token_id', ggufUint32(vocabulary.eosToken)],
    ['tokenizer.ggml.add_bos_token', ggufBool(true)],
    ['tokenizer.ggml.add_eos_token', ggufBool(false)],
  ];
}
