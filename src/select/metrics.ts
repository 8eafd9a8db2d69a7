/**
 * The information measures a document can be ranked by. Each is defined once here (name, unit, formula, what it
 * needs, how it is computed) and used by both the in-memory API (`rank`, `select`) and `infoprune prune`.
 *
 * A metric is computed in two steps so that standardised metrics work on a stream: `terms()` gives a document's raw
 * terms (one or two numbers), and `value()` turns them into the metric once the corpus-wide statistics of the terms
 * (mean, standard deviation) are known. Only `combined-z` uses the statistics.
 */
import { deflateSync } from 'node:zlib';
import type { ScoreColumns } from '../scores/record.js';
import type { WordFrequencyTable } from '../text/word-frequency.js';

export const METRIC_NAMES = [
  'bits-per-token',
  'bits',
  'bits-per-byte',
  'word-entropy',
  'combined',
  'combined-z',
  'zlib-ratio',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** The score columns a metric may read (under the score record's names). */
export type MetricScores = ScoreColumns;

/** What one document offers a metric: its scores (when a scores file is given) and its text (when read). */
export interface MetricInput {
  scores?: MetricScores;
  text?: string;
}

export interface MetricContext {
  /** The corpus word frequencies f, for `word-entropy`, `combined` and `combined-z`. */
  wordFrequencies?: WordFrequencyTable;
}

/** Population mean and standard deviation of one term over the corpus. */
export interface TermStatistics {
  mean: number;
  sd: number;
}

export interface MetricDefinition {
  readonly name: MetricName;
  /** Unit of the metric's value. */
  readonly unit: string;
  /** The formula, in the paper's notation. */
  readonly formula: string;
  readonly description: string;
  /** The raw terms `terms()` returns, in order. */
  readonly termNames: readonly string[];
  /** Whether the value is more informative when higher (every model-based measure) or lower (`zlib-ratio`). */
  readonly moreInformative: 'higher' | 'lower';
  readonly needsScores: boolean;
  readonly needsText: boolean;
  readonly needsWordFrequencies: boolean;
  /** Whether `value()` needs the corpus statistics of the terms (a second look at the data). */
  readonly standardized: boolean;
  terms(input: MetricInput, context: MetricContext): number[];
  value(terms: readonly number[], statistics: readonly TermStatistics[]): number;
}

const LN2 = Math.LN2;

function scoresOf(input: MetricInput, metric: MetricName): MetricScores {
  if (input.scores === undefined) throw new Error(`Metric ${metric} needs the document's scores`);
  return input.scores;
}

function textOf(input: MetricInput, metric: MetricName): string {
  if (input.text === undefined) throw new Error(`Metric ${metric} needs the document's text`);
  return input.text;
}

function wordEntropy(input: MetricInput, context: MetricContext, metric: MetricName): number {
  const table = context.wordFrequencies;
  if (table === undefined) throw new Error(`Metric ${metric} needs the word-frequency table`);
  return table.wordEntropyBits(textOf(input, metric));
}

/** Bytes of the zlib stream (RFC 1950: 2-byte header, deflate data, 4-byte Adler-32) of a text at level 9. */
export function zlibCompressedBytes(text: string): number {
  return deflateSync(Buffer.from(text, 'utf8'), { level: 9 }).byteLength;
}

const single = (terms: readonly number[]): number => terms[0];
const sum = (terms: readonly number[]): number => terms[0] + terms[1];

const definitions: readonly MetricDefinition[] = [
  {
    name: 'bits-per-token',
    unit: 'bits/token',
    formula: 'H(W,q) = −(1/T) Σᵢ log₂ q(tᵢ | t<ᵢ) = nll / (T · ln 2)',
    description:
      "The paper's information content: mean surprisal of the document's T scored tokens under the probe model q (the score file's bits_per_token).",
    termNames: ['H(W,q)'],
    moreInformative: 'higher',
    needsScores: true,
    needsText: false,
    needsWordFrequencies: false,
    standardized: false,
    terms: (input) => [scoresOf(input, 'bits-per-token').bits_per_token],
    value: single,
  },
  {
    name: 'bits',
    unit: 'bits',
    formula: 'L(W) = −Σᵢ log₂ q(tᵢ | t<ᵢ) = nll / ln 2',
    description:
      'Total description length of the document under the probe model: grows with length as well as surprise.',
    termNames: ['L(W)'],
    moreInformative: 'higher',
    needsScores: true,
    needsText: false,
    needsWordFrequencies: false,
    standardized: false,
    terms: (input) => [scoresOf(input, 'bits').nll / LN2],
    value: single,
  },
  {
    name: 'bits-per-byte',
    unit: 'bits/byte',
    formula: 'nll / (B · ln 2), B = UTF-8 bytes of the text',
    description:
      "Description length per byte of text (the score file's bits_per_byte): comparable across tokenizers and models.",
    termNames: ['bits/byte'],
    moreInformative: 'higher',
    needsScores: true,
    needsText: false,
    needsWordFrequencies: false,
    standardized: false,
    terms: (input) => [scoresOf(input, 'bits-per-byte').bits_per_byte],
    value: single,
  },
  {
    name: 'word-entropy',
    unit: 'bits/word',
    formula: 'H(W,f) = −(1/n) Σᵢ log₂ f(wᵢ)',
    description:
      "Mean surprisal of the document's n words under the corpus word frequencies f (the scoring run's <scores>.words.bin); 0 for a text without words.",
    termNames: ['H(W,f)'],
    moreInformative: 'higher',
    needsScores: false,
    needsText: true,
    needsWordFrequencies: true,
    standardized: false,
    terms: (input, context) => [wordEntropy(input, context, 'word-entropy')],
    value: single,
  },
  {
    name: 'combined',
    unit: 'bits (bits/token + bits/word)',
    formula: 'H(W,q) + H(W,f)',
    description: "The paper's sum of the model term and the word-frequency term, as the paper adds them (raw units).",
    termNames: ['H(W,q)', 'H(W,f)'],
    moreInformative: 'higher',
    needsScores: true,
    needsText: true,
    needsWordFrequencies: true,
    standardized: false,
    terms: (input, context) => [scoresOf(input, 'combined').bits_per_token, wordEntropy(input, context, 'combined')],
    value: sum,
  },
  {
    name: 'combined-z',
    unit: 'standard deviations',
    formula: 'z(H(W,q)) + z(H(W,f)), z(x) = (x − mean x) / sd x over the corpus (population sd; z = 0 when sd = 0)',
    description: 'The two terms standardised before summing, so that neither dominates because of its unit or spread.',
    termNames: ['H(W,q)', 'H(W,f)'],
    moreInformative: 'higher',
    needsScores: true,
    needsText: true,
    needsWordFrequencies: true,
    standardized: true,
    terms: (input, context) => [
      scoresOf(input, 'combined-z').bits_per_token,
      wordEntropy(input, context, 'combined-z'),
    ],
    value: (terms, statistics) => {
      let z = 0;
      for (let i = 0; i < terms.length; i++) {
        const { mean, sd } = statistics[i];
        if (sd > 0) z += (terms[i] - mean) / sd;
      }
      return z;
    },
  },
  {
    name: 'zlib-ratio',
    unit: 'raw bytes per compressed byte',
    formula:
      'B / Z, B = UTF-8 bytes of the text, Z = bytes of its zlib stream at level 9 (header and checksum included)',
    description:
      'Model-free compressibility baseline, needing no scores: a high ratio means redundant text, so lower is more informative; 0 for an empty text. The zlib stream’s fixed overhead (about 11 bytes) keeps the ratio of short texts low, so it favours short documents.',
    termNames: ['B/Z'],
    moreInformative: 'lower',
    needsScores: false,
    needsText: true,
    needsWordFrequencies: false,
    standardized: false,
    terms: (input) => {
      const text = textOf(input, 'zlib-ratio');
      return [Buffer.byteLength(text, 'utf8') / zlibCompressedBytes(text)];
    },
    value: single,
  },
];

export const METRICS: Readonly<Record<MetricName, MetricDefinition>> = Object.freeze(
  Object.fromEntries(definitions.map((definition) => [definition.name, definition])) as Record<
    MetricName,
    MetricDefinition
  >,
);

/** Running mean and variance of one term (Welford), for the standardised metrics. */
export class TermAccumulator {
  count = 0;
  private mean = 0;
  private m2 = 0;

  add(x: number): void {
    this.count++;
    const delta = x - this.mean;
    this.mean += delta / this.count;
    this.m2 += delta * (x - this.mean);
  }

  statistics(): TermStatistics {
    return { mean: this.mean, sd: this.count > 0 ? Math.sqrt(this.m2 / this.count) : 0 };
  }
}

/**
 * A metric value turned into rank order: ascending information. Values where lower is more informative are negated
 * so that every strategy can read "lowest first" as "least informative first".
 */
export function informationOrder(metric: MetricDefinition, value: number): number {
  return metric.moreInformative === 'higher' ? value : -value;
}
