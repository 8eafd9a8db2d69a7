import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BoundarySearch, findKeyRange, runSearches } from '../src/select/cuts.js';
import { compareKeys, KEY_WORDS, keyValue, writeKey } from '../src/select/keys.js';
import { METRIC_NAMES, METRICS, zlibCompressedBytes } from '../src/select/metrics.js';
import { measure, rank, type SelectableDocument, type SelectOptions, select } from '../src/select/select.js';
import { DuplicateIdFinder } from '../src/select/spill.js';
import { keptDocuments, STRATEGY_NAMES } from '../src/select/strategies.js';
import { WordFrequencyTable } from '../src/text/word-frequency.js';
import { CRAFTED, label, scoreRecordOf } from './fixtures/select/helpers.js';

const documents: SelectableDocument[] = CRAFTED.map((d) => ({
  ...scoreRecordOf(`/corpus/${d.file}`, d),
  text: d.text,
}));

function keptLabels(options: SelectOptions, docs: readonly SelectableDocument[] = documents): string[] {
  const selection = select(docs, options);
  return selection.keptIndices.map((i) => label(docs[i])).sort();
}

const sorted = (labels: string[]): string[] => [...labels].sort();

describe('rank', () => {
  it('orders by value, then source, then line', () => {
    expect(rank(documents).map(label)).toEqual(['a:2', 'b:4', 'a:3', 'a:4', 'b:1', 'a:1', 'b:2', 'a:5', 'b:3', 'b:5']);
  });

  it('gives 0-based ranks and input indices', () => {
    const ranked = rank(documents, { metric: 'bits' });
    expect(ranked.map((r) => r.rank)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // bits = bpt × tokens: b:4 5, a:3 10, a:4 10, a:2 20, b:1 20, a:1 30, b:5 35, a:5 50, b:3 60, b:2 120
    expect(ranked.map(label)).toEqual(['b:4', 'a:3', 'a:4', 'a:2', 'b:1', 'a:1', 'b:5', 'a:5', 'b:3', 'b:2']);
    expect(ranked[0].value).toBeCloseTo(5, 12);
    expect(documents[ranked[0].index].line).toBe(4);
  });

  it('puts the most compressible text first for zlib-ratio (lower ratio is more informative)', () => {
    const ranked = rank(documents, { metric: 'zlib-ratio' });
    expect(label(ranked[0])).toBe('b:4'); // 48 × "a"
    for (let i = 1; i < ranked.length; i++) expect(ranked[i].value).toBeLessThanOrEqual(ranked[i - 1].value);
  });
});

describe('select: exact selections on the crafted set (bits-per-token)', () => {
  it('lowest-first keeps the most informative; ties at the cut go by source then line', () => {
    expect(keptLabels({ keepRatio: 0.5 })).toEqual(sorted(['a:1', 'b:2', 'a:5', 'b:3', 'b:5']));
    // K = 7: the value-2 tie (a:3, a:4, b:1) is split: a:3 pruned, a:4 and b:1 kept.
    expect(keptLabels({ keepRatio: 0.7 })).toEqual(sorted(['a:4', 'b:1', 'a:1', 'b:2', 'a:5', 'b:3', 'b:5']));
  });

  it('rounds half up, and prune-ratio r is keep-ratio 1 − r', () => {
    expect(keptDocuments(10, { kind: 'keep-ratio', keepRatio: 0.45 })).toBe(5);
    expect(keptDocuments(10, { kind: 'keep-ratio', keepRatio: 0.44 })).toBe(4);
    expect(keptDocuments(10, { kind: 'keep-ratio', keepRatio: 0.35 })).toBe(4);
    expect(keptDocuments(10, { kind: 'prune-ratio', pruneRatio: 0.65 })).toBe(4);
    expect(keptDocuments(10, { kind: 'prune-ratio', pruneRatio: 0.25 })).toBe(8);
    expect(keptDocuments(10, { kind: 'keep-ratio', keepRatio: 0.75 })).toBe(8);
    expect(keptDocuments(5, { kind: 'prune-ratio', pruneRatio: 0.5 })).toBe(3);
    expect(keptDocuments(5, { kind: 'keep-ratio', keepRatio: 0.5 })).toBe(3);
    expect(keptDocuments(1, { kind: 'keep-ratio', keepRatio: 0.4 })).toBe(0);
    expect(keptLabels({ keepRatio: 0.45 })).toEqual(keptLabels({ keepRatio: 0.5 }));
    expect(keptLabels({ pruneRatio: 0.65 })).toEqual(sorted(['b:2', 'a:5', 'b:3', 'b:5']));
    for (const r of [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95, 0.3, 0.7]) {
      expect(keptLabels({ pruneRatio: r })).toEqual(keptLabels({ keepRatio: Number((1 - r).toFixed(10)) }));
    }
  });

  it('highest-first keeps the least informative', () => {
    expect(keptLabels({ strategy: 'highest-first', keepRatio: 0.3 })).toEqual(sorted(['a:2', 'b:4', 'a:3']));
  });

  it('middle keeps a central band, the odd pruned document coming off the top', () => {
    // n = 10, K = 5, P = 5: ⌊5/2⌋ = 2 pruned below, 3 above.
    expect(keptLabels({ strategy: 'middle', keepRatio: 0.5 })).toEqual(sorted(['a:3', 'a:4', 'b:1', 'a:1', 'b:2']));
  });

  it('threshold keeps min ≤ value ≤ max', () => {
    expect(keptLabels({ strategy: 'threshold', min: 2, max: 4 })).toEqual(sorted(['a:3', 'a:4', 'b:1', 'a:1', 'b:2']));
    expect(keptLabels({ strategy: 'threshold', min: 6 })).toEqual(sorted(['b:3', 'b:5']));
    expect(keptLabels({ strategy: 'threshold', max: 1 })).toEqual(sorted(['a:2', 'b:4']));
  });

  it('random is seeded, independent of input order, and keeps the budget', () => {
    const once = keptLabels({ strategy: 'random', keepRatio: 0.5, seed: 7 });
    expect(once).toHaveLength(5);
    expect(keptLabels({ strategy: 'random', keepRatio: 0.5, seed: 7 })).toEqual(once);
    expect(keptLabels({ strategy: 'random', keepRatio: 0.5, seed: 7 }, [...documents].reverse())).toEqual(once);
    const seeds = new Set(
      Array.from({ length: 8 }, (_, seed) => keptLabels({ strategy: 'random', keepRatio: 0.5, seed }).join()),
    );
    expect(seeds.size).toBeGreaterThan(1);
    // Pinned: the random order must not change between releases (a selection must be reproducible).
    expect(once).toMatchInlineSnapshot(`
      [
        "a:1",
        "a:4",
        "a:5",
        "b:2",
        "b:5",
      ]
    `);
  });

  it('keep-tokens keeps documents until the budget is reached, the crossing document included', () => {
    // Total 110 tokens. From the top: b:5 5, b:3 10, a:5 10 (25), b:2 30 (55).
    expect(keptLabels({ keepTokens: 30 })).toEqual(sorted(['b:5', 'b:3', 'a:5', 'b:2']));
    expect(keptLabels({ keepTokens: 25 })).toEqual(sorted(['b:5', 'b:3', 'a:5']));
    expect(keptLabels({ keepTokens: 26 })).toEqual(sorted(['b:5', 'b:3', 'a:5', 'b:2']));
    expect(keptLabels({ strategy: 'highest-first', keepTokens: 22 })).toEqual(sorted(['a:2', 'b:4']));
    // middle: band [30, 80) of the cumulative tokens: a:4 (30..35) to b:2 (55..85).
    expect(keptLabels({ strategy: 'middle', keepTokens: 50 })).toEqual(sorted(['a:4', 'b:1', 'a:1', 'b:2']));
    const all = select(documents, { keepTokens: 1000 });
    expect(all.counts.kept).toBe(10);
    const selection = select(documents, { keepTokens: 30 });
    expect(selection.tokens).toEqual({ before: 110, after: 55 });
  });

  it('reports the cut documents and values', () => {
    const selection = select(documents, { keepRatio: 0.7 });
    expect(selection.cuts.order).toBe('information');
    expect(selection.cuts.upper).toBeNull();
    expect(selection.cuts.lower).toMatchObject({
      value: 2,
      source: '/corpus/a.jsonl',
      line: 4,
      id: '/corpus/a.jsonl:4',
    });
    expect(selection.counts).toEqual({ documents: 10, kept: 7, pruned: 3 });
    expect(select(documents, { strategy: 'threshold', min: 2 }).cuts).toEqual({
      order: 'information',
      lower: { value: 2 },
      upper: null,
    });
  });
});

describe('select: every metric', () => {
  const table = new WordFrequencyTable(1 << 12);
  for (const d of CRAFTED) table.addWords(d.text.toLowerCase().match(/[a-z]+/g) ?? []);

  /** Independent oracle: keep the K documents with the highest information (ties by source, line). */
  function expectedLowestFirst(values: Float64Array, keep: number, higherIsMore: boolean): string[] {
    const order = documents
      .map((d, i) => ({ d, v: higherIsMore ? values[i] : -values[i] }))
      .sort(
        (x, y) => x.v - y.v || (x.d.source < y.d.source ? -1 : x.d.source > y.d.source ? 1 : 0) || x.d.line - y.d.line,
      );
    return order
      .slice(order.length - keep)
      .map((x) => label(x.d))
      .sort();
  }

  for (const metric of METRIC_NAMES) {
    it(`${metric}: lowest-first keeps the top of the ranking, and measure() matches the definition`, () => {
      const { values } = measure(documents, { metric, wordFrequencies: table });
      for (const keepRatio of [0.2, 0.5, 0.8]) {
        const keep = Math.floor(10 * keepRatio + 0.5);
        expect(
          select(documents, { metric, keepRatio, wordFrequencies: table })
            .keptIndices.map((i) => label(documents[i]))
            .sort(),
        ).toEqual(expectedLowestFirst(values, keep, METRICS[metric].moreInformative === 'higher'));
      }
    });
  }

  it('bits-per-byte reads the score column', () => {
    const { values } = measure(documents, { metric: 'bits-per-byte' });
    expect([...values]).toEqual(CRAFTED.map((d) => d.bitsPerByte));
  });

  it('combined is H(W,q) + H(W,f) and combined-z the sum of standardised terms', () => {
    const q = measure(documents, { metric: 'bits-per-token' }).values;
    const f = measure(documents, { metric: 'word-entropy', wordFrequencies: table }).values;
    const combined = measure(documents, { metric: 'combined', wordFrequencies: table });
    const z = measure(documents, { metric: 'combined-z', wordFrequencies: table });
    const meanSd = (xs: Float64Array): [number, number] => {
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      return [mean, Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length)];
    };
    const [mq, sq] = meanSd(q);
    const [mf, sf] = meanSd(f);
    for (let i = 0; i < documents.length; i++) {
      expect(combined.values[i]).toBeCloseTo(q[i] + f[i], 12);
      expect(z.values[i]).toBeCloseTo((q[i] - mq) / sq + (f[i] - mf) / sf, 10);
    }
    expect(z.termStatistics[0].mean).toBeCloseTo(mq, 12);
    expect(z.termStatistics[1].sd).toBeCloseTo(sf, 12);
  });
});

describe('hand-computed metric values', () => {
  it('zlib-ratio: raw bytes over zlib stream bytes at level 9', () => {
    // Empty input: header 78 DA, one empty fixed-Huffman block (03 00), Adler-32 00 00 00 01 → 8 bytes.
    expect(zlibCompressedBytes('')).toBe(8);
    // "a": header (2) + 3-bit block header, 8-bit literal, 7-bit end of block = 18 bits → 3 bytes, + Adler-32 (4) = 9.
    expect(zlibCompressedBytes('a')).toBe(9);
    expect(deflateSync(Buffer.from('a'), { level: 9 }).toString('hex')).toBe('78da4b040000620062');
    const docs: SelectableDocument[] = [
      { id: 'e', source: 's', line: 1, text: '' },
      { id: 'a', source: 's', line: 2, text: 'a' },
      { id: 'é', source: 's', line: 3, text: 'é' }, // 2 UTF-8 bytes; literal c3 a9 (9 bits each) + EOB → 4 bytes → 10
    ];
    const { values } = measure(docs, { metric: 'zlib-ratio' });
    expect(values[0]).toBe(0);
    expect(values[1]).toBeCloseTo(1 / 9, 15);
    expect(values[2]).toBeCloseTo(2 / 10, 15);
  });

  it('word-entropy: −(1/n) Σ log₂ f(w) with f = count / total (an uncounted word counts ½)', () => {
    const table = new WordFrequencyTable(1024);
    table.addWords(['the', 'the', 'the', 'cat']);
    expect(table.bucketOf('the')).not.toBe(table.bucketOf('cat'));
    expect(table.bucketOf('dog')).not.toBe(table.bucketOf('the'));
    expect(table.bucketOf('dog')).not.toBe(table.bucketOf('cat'));
    // f(the) = 3/4, f(cat) = 1/4; "The cat." has n = 2 words: (log₂ 4/3 + log₂ 4) / 2 = (0.41504 + 2) / 2.
    const expected = -(Math.log2(3 / 4) + Math.log2(1 / 4)) / 2;
    expect(expected).toBeCloseTo(1.20752, 5);
    expect(table.wordEntropyBits('dog')).toBeCloseTo(3, 12); // f(dog) = ½ / 4 = 1/8
    const { values } = measure(
      [
        { id: 'x', source: 's', line: 1, text: 'The cat.' },
        { id: 'y', source: 's', line: 2, text: '...' },
      ],
      {
        metric: 'word-entropy',
        wordFrequencies: table,
      },
    );
    expect(values[0]).toBeCloseTo(expected, 12);
    expect(values[1]).toBe(0);
  });
});

describe('property: lowest-first on random score sets', () => {
  function randomDocuments(n: number, seed: number): SelectableDocument[] {
    let state = seed >>> 0 || 1;
    const next = (): number => {
      state = Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5;
      return (state >>> 0) / 2 ** 32;
    };
    return Array.from({ length: n }, (_, i) => {
      const tokens = Math.floor(next() * 50);
      const bpt = Math.round(next() * 8) / 2; // many ties
      return {
        ...scoreRecordOf(`/p/${i % 3}.jsonl`, { file: '', line: i + 1, text: 'x', tokens, bitsPerToken: bpt }),
        line: i + 1,
      };
    });
  }

  it('kept values are ≥ pruned values, kept + pruned = input, counts follow the rule', () => {
    for (let trial = 0; trial < 30; trial++) {
      const docs = randomDocuments(1 + trial * 7, trial + 1);
      for (const keepRatio of [0.1, 0.5, 0.9]) {
        const selection = select(docs, { keepRatio });
        expect(selection.counts.kept).toBe(Math.floor(docs.length * keepRatio + 0.5));
        expect(selection.keptIndices.length + selection.prunedIndices.length).toBe(docs.length);
        expect(new Set([...selection.keptIndices, ...selection.prunedIndices]).size).toBe(docs.length);
        const minKept = Math.min(...selection.keptIndices.map((i) => selection.values[i]));
        const maxPruned = Math.max(...selection.prunedIndices.map((i) => selection.values[i]));
        if (selection.keptIndices.length > 0 && selection.prunedIndices.length > 0)
          expect(minKept).toBeGreaterThanOrEqual(maxPruned);
        // Kept and pruned indices come in input order.
        expect(selection.keptIndices).toEqual([...selection.keptIndices].sort((a, b) => a - b));
      }
      const tokens = select(docs, { keepTokens: 100 });
      const total = docs.reduce((s, d) => s + d.tokens!, 0);
      if (total > 100) {
        expect(tokens.tokens!.after).toBeGreaterThanOrEqual(100);
        // Dropping the least informative kept document would go under the budget (the crossing one is kept).
        const keptByRank = rank(docs).filter((r) => tokens.kept[r.index] === 1);
        const firstWithTokens = keptByRank.find((r) => docs[r.index].tokens! > 0);
        if (firstWithTokens) expect(tokens.tokens!.after - docs[firstWithTokens.index].tokens!).toBeLessThan(100);
      }
    }
  });
});

describe('cuts: the bounded-memory radix select agrees with sorting', () => {
  function oracle(
    keys: Uint32Array,
    weights: Float64Array,
    n: number,
    kind: 'first-after' | 'last-before',
    target: number,
  ): number {
    const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => compareKeys(keys, i, keys, j));
    let before = 0;
    let found = -1;
    for (const i of order) {
      if (kind === 'first-after' && before + weights[i] > target) return i;
      if (kind === 'last-before' && before < target) found = i;
      before += weights[i];
    }
    return found;
  }

  it('finds the same boundary document with tiny candidate limits (many histogram passes), ties and zero weights', () => {
    let state = 12345;
    const next = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    for (let trial = 0; trial < 60; trial++) {
      const n = 1 + Math.floor(next() * 400);
      const keys = new Uint32Array(n * KEY_WORDS);
      const weights = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const value = trial % 3 === 0 ? Math.floor(next() * 4) : (next() - 0.3) * 10 ** Math.floor(next() * 6 - 3);
        writeKey(keys, i, value, Math.floor(next() * 3), i);
        weights[i] = trial % 2 === 0 ? 1 : Math.floor(next() * 5);
      }
      const total = weights.reduce((a, b) => a + b, 0);
      for (const kind of ['first-after', 'last-before'] as const) {
        const target = Math.floor(next() * (total + 2));
        const limit = [1, 2, 7, 1000][trial % 4];
        const search = new BoundarySearch(kind, target, n, total, limit);
        const scans = runSearches([search], (visit) => {
          // Feed in two chunks to exercise chunking.
          const half = Math.floor(n / 2);
          visit(keys.subarray(0, half * KEY_WORDS), weights.subarray(0, half), half);
          visit(keys.subarray(half * KEY_WORDS), weights.subarray(half), n - half);
        });
        const expected = oracle(keys, weights, n, kind, target);
        if (expected < 0) expect(search.result).toBeNull();
        else expect(compareKeys(search.result!, 0, keys, expected)).toBe(0);
        expect(scans).toBeLessThanOrEqual(9);
      }
    }
  });

  it('findKeyRange turns a band into an inclusive key range', () => {
    const keys = new Uint32Array(5 * KEY_WORDS);
    [4, 1, 3, 1, 2].forEach((v, i) => {
      writeKey(keys, i, v, 0, i);
    });
    const weights = new Float64Array([1, 1, 1, 1, 1]);
    const { range } = findKeyRange(
      { weighting: 'documents', order: 'information', lower: 2, upper: 4 },
      5,
      5,
      (visit) => visit(keys, weights, 5),
      1,
    );
    expect(keyValue(range.from!)).toBe(2);
    expect(keyValue(range.to!)).toBe(3);
  });

  it('keys order numbers like numbers (negative, zero, subnormal, huge)', () => {
    const values = [-Infinity, -1e300, -2, -1e-310, -0, 0, 1e-310, 0.5, 1, 3, 1e300, Infinity];
    const keys = new Uint32Array(values.length * KEY_WORDS);
    values.forEach((v, i) => {
      writeKey(keys, i, v, 0, 0);
    });
    for (let i = 1; i < values.length; i++) {
      expect(Math.sign(compareKeys(keys, i - 1, keys, i))).toBe(values[i - 1] === values[i] ? 0 : -1);
      expect(keyValue(keys, i)).toBe(values[i] === 0 ? 0 : values[i]);
    }
  });
});

describe('select: score columns under either naming', () => {
  /** The crafted set as `Scorer.score()` results (camelCase) with an identity added, as a service would pass them. */
  const fromResults = documents.map(
    ({ id, source, line, text, tokens, nll, bytes, bits_per_token, bits_per_byte }) => ({
      ...{ id, source, line, text },
      ...{ tokens: tokens!, nll: nll!, bytes: bytes!, bitsPerToken: bits_per_token!, bitsPerByte: bits_per_byte! },
      perplexity: 2 ** bits_per_token!,
    }),
  );

  it('ranks and selects ScoreResult-shaped documents exactly like score records', () => {
    for (const metric of METRIC_NAMES) {
      const options = { metric, wordFrequencies: new WordFrequencyTable(1024) };
      expect(rank(fromResults, options)).toEqual(rank(documents, options));
      expect(select(fromResults, { ...options, keepRatio: 0.6 }).keptIndices).toEqual(
        select(documents, { ...options, keepRatio: 0.6 }).keptIndices,
      );
    }
  });

  it('names a bad column as the document names it', () => {
    const bad = fromResults.map((d, i) => (i === 2 ? { ...d, bitsPerToken: Number.NaN } : d));
    expect(() => select(bad, { keepRatio: 0.5 })).toThrow(
      `Expected non-negative finite number for bitsPerToken of documents[2] (id ${JSON.stringify(bad[2].id)})`,
    );
  });
});

describe('select: bad input', () => {
  it('rejects ratios outside (0, 1), both budgets, no budget', () => {
    expect(() => select(documents, { pruneRatio: 1.5 })).toThrow(
      'Expected number in (0, 1) for pruneRatio but received 1.5 of type number',
    );
    expect(() => select(documents, { keepRatio: 0 })).toThrow(
      'Expected number in (0, 1) for keepRatio but received 0 of type number',
    );
    expect(() => select(documents, { keepRatio: 1 })).toThrow('for keepRatio but received 1 of type number');
    expect(() => select(documents, { keepRatio: Number.NaN })).toThrow('for keepRatio but received NaN');
    expect(() => select(documents, { keepRatio: 0.5, pruneRatio: 0.5 })).toThrow(
      'but received keepRatio and pruneRatio',
    );
    expect(() => select(documents, {})).toThrow('needs one of keepRatio, pruneRatio, keepTokens or band');
    expect(() => select(documents, { keepTokens: 0 })).toThrow(
      'Expected positive integer for keepTokens but received 0',
    );
    expect(() => select(documents, { keepTokens: 2.5 })).toThrow('Expected positive integer for keepTokens');
  });

  it('rejects unknown metrics and strategies, and misplaced options', () => {
    expect(() => select(documents, { metric: 'perplexity' as never, keepRatio: 0.5 })).toThrow(
      /Expected one of "bits-per-token", .* for metric but received "perplexity" of type string/,
    );
    expect(() => select(documents, { strategy: 'best' as never, keepRatio: 0.5 })).toThrow(
      /for strategy but received "best"/,
    );
    expect(() => select(documents, { strategy: 'threshold', keepRatio: 0.5 })).toThrow('takes min and/or max');
    expect(() => select(documents, { strategy: 'threshold' })).toThrow('needs min, max or both');
    expect(() => select(documents, { strategy: 'threshold', min: 3, max: 2 })).toThrow(
      'Expected number >= min (3) for max but received 2',
    );
    expect(() => select(documents, { keepRatio: 0.5, min: 1 })).toThrow('apply only to strategy "threshold"');
    expect(() => select(documents, { keepRatio: 0.5, seed: 3 })).toThrow('seed applies only to strategy "random"');
    expect(() => select(documents, { strategy: 'random', keepRatio: 0.5, seed: -1 })).toThrow(
      'for seed but received -1',
    );
  });

  it('rejects NaN and negative scores, naming the document', () => {
    const withNaN = documents.map((d, i) => (i === 3 ? { ...d, bits_per_token: Number.NaN } : d));
    expect(() => select(withNaN, { keepRatio: 0.5 })).toThrow(
      'Expected non-negative finite number for bits_per_token of documents[3] (id "/corpus/a.jsonl:4") but received NaN of type number',
    );
    const negative = documents.map((d, i) => (i === 1 ? { ...d, tokens: -3 } : d));
    expect(() => select(negative, { keepRatio: 0.5 })).toThrow(
      'Expected non-negative integer for tokens of documents[1]',
    );
  });

  it('rejects duplicate ids and missing text or tables', () => {
    const duplicated = [...documents, { ...documents[0], line: 99 }];
    expect(() => select(duplicated, { keepRatio: 0.5 })).toThrow('Duplicate id "/corpus/a.jsonl:1" at documents[10]');
    expect(() =>
      select(
        documents.map(({ text: _text, ...rest }) => rest),
        { metric: 'zlib-ratio', keepRatio: 0.5 },
      ),
    ).toThrow('Expected string for text of documents[0]');
    expect(() => select(documents, { metric: 'word-entropy', keepRatio: 0.5 })).toThrow(
      'needs the wordFrequencies option',
    );
  });

  it('every strategy and metric name is accepted', () => {
    const table = new WordFrequencyTable(1 << 10);
    for (const strategy of STRATEGY_NAMES) {
      for (const metric of METRIC_NAMES) {
        const options: SelectOptions =
          strategy === 'threshold'
            ? { metric, strategy, min: 0 }
            : strategy === 'band'
              ? { metric, strategy, band: [25, 75] }
              : { metric, strategy, keepRatio: 0.5 };
        expect(select(documents, { ...options, wordFrequencies: table }).counts.documents).toBe(10);
      }
    }
  });
});

describe('duplicate ids in bounded memory', () => {
  it('finds duplicates among ids spilled to partition files', () => {
    const folder = mkdtempSync(join(tmpdir(), 'infoprune-dups-'));
    try {
      const finder = new DuplicateIdFinder(folder, 100);
      for (let i = 0; i < 5000; i++) finder.add(`doc-${i}`);
      finder.add('doc-17');
      finder.add('doc-4321');
      expect(finder.spilled).toBe(true);
      expect(readdirSync(folder).length).toBe(64);
      const candidates = finder.candidates();
      expect(candidates).toEqual(new Set([DuplicateIdFinder.hashOf('doc-17'), DuplicateIdFinder.hashOf('doc-4321')]));
      finder.close();
      expect(readdirSync(folder)).toEqual([]);
      const small = new DuplicateIdFinder(folder);
      ['a', 'b', 'c'].forEach((id) => {
        small.add(id);
      });
      expect(small.candidates().size).toBe(0);
      small.close();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
