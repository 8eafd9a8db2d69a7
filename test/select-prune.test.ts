import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Command } from 'commander';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { parquetWriteFile } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { registerPruneCommand } from '../src/cli/prune.js';
import { readCorpus } from '../src/corpus/read.js';
import { writeParquetFromJsonl } from '../src/scores/parquet.js';
import type { ScoreRecord } from '../src/scores/record.js';
import { METRIC_NAMES } from '../src/select/metrics.js';
import { type CorpusReader, type PruneOptions, pruneCorpus } from '../src/select/prune.js';
import { type SelectableDocument, select } from '../src/select/select.js';
import { STRATEGY_NAMES } from '../src/select/strategies.js';
import type { SelectionSummary } from '../src/select/summary.js';
import { WordFrequencyTable } from '../src/text/word-frequency.js';
import { splitWords } from '../src/text/words.js';
import {
  CRAFTED,
  type CraftedDocument,
  scoreRecordOf,
  tempFolder,
  type WrittenCorpus,
  writeCorpus,
} from './fixtures/select/helpers.js';

function saveWordTable(corpus: WrittenCorpus, texts: readonly string[]): WordFrequencyTable {
  const table = new WordFrequencyTable(1 << 12);
  for (const text of texts) table.addWords(splitWords(text));
  table.save(`${corpus.scores}.words.bin`);
  return table;
}

function lines(path: string): Buffer[] {
  const data = readFileSync(path);
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0x0a) {
      out.push(data.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < data.length) out.push(data.subarray(start));
  return out;
}

/** (source, line) of every kept record, recovered by matching kept lines to input lines (texts are unique). */
function keptPositions(out: string, corpus: WrittenCorpus, summary: SelectionSummary): string[] {
  const positions: string[] = [];
  for (const kept of summary.outputs.kept) {
    const name = kept.slice(kept.lastIndexOf('/') + 1);
    const input = lines(corpus.files[name]);
    let cursor = 0;
    for (const line of lines(join(out, kept))) {
      // Byte-identical and in input order: each kept line is the next matching input line.
      while (cursor < input.length && !input[cursor].equals(line)) cursor++;
      expect(cursor, `kept line of ${name} not found in order in the input`).toBeLessThan(input.length);
      positions.push(`${corpus.files[name]}:${cursor + 1}`);
      cursor++;
    }
  }
  return positions.sort();
}

function prunedPositions(out: string): string[] {
  return readFileSync(join(out, 'pruned.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const record = JSON.parse(line) as { id: string; source: string; line: number; value: number };
      expect(typeof record.value).toBe('number');
      return `${record.source}:${record.line}`;
    })
    .sort();
}

function expectNoOutput(out: string): void {
  expect(existsSync(out)).toBe(false);
  const parent = dirname(out);
  if (existsSync(parent)) {
    const base = out.slice(parent.length + 1);
    expect(readdirSync(parent).filter((name) => name.startsWith(`${base}.tmp-`))).toEqual([]);
  }
}

function documentsOf(corpus: WrittenCorpus, crafted: readonly CraftedDocument[]): SelectableDocument[] {
  return crafted.map((d) => ({ ...scoreRecordOf(corpus.files[d.file], d), text: d.text }));
}

describe('pruneCorpus: the CLI path selects exactly what select() selects', () => {
  const corpus = writeCorpus(CRAFTED);
  const table = saveWordTable(
    corpus,
    CRAFTED.map((d) => d.text),
  );
  const documents = documentsOf(corpus, CRAFTED);
  const inputs = [corpus.files['a.jsonl'], corpus.files['b.jsonl']];
  let run = 0;

  for (const metric of METRIC_NAMES) {
    for (const strategy of STRATEGY_NAMES) {
      const budgets: Partial<PruneOptions>[] =
        strategy === 'threshold'
          ? [{ min: 0.2, max: 5 }]
          : strategy === 'random'
            ? [{ keepRatio: 0.5, seed: 3 }]
            : strategy === 'band'
              ? [{ band: '20:90' }, { band: [0, 35], perGroup: true }]
              : [{ keepRatio: 0.7 }, { pruneRatio: 0.45 }, { keepTokens: 40 }, { keepRatio: 0.4, perGroup: true }];
      for (const budget of budgets) {
        it(`${metric} × ${strategy} ${JSON.stringify(budget)}`, async () => {
          const out = join(corpus.folder, `out-${run++}`);
          const { summary } = await pruneCorpus({ inputs, scores: corpus.scores, out, metric, strategy, ...budget });
          const expected = select(documents, { metric, strategy, ...budget, wordFrequencies: table } as never);
          const expectedKept = expected.keptIndices.map((i) => `${documents[i].source}:${documents[i].line}`).sort();
          const kept = keptPositions(out, corpus, summary);
          const pruned = prunedPositions(out);
          expect(kept).toEqual(expectedKept);
          expect([...kept, ...pruned].sort()).toEqual(documents.map((d) => `${d.source}:${d.line}`).sort());
          expect(summary.counts).toEqual({
            documents: 10,
            kept: expected.counts.kept,
            pruned: expected.counts.pruned,
            unreadable: 0,
            unscored: 0,
          });
          expect(summary.tokens).toEqual(expected.tokens);
          expect(summary.bytes).toEqual(expected.bytes);
          expect(summary.cuts.lower?.value).toBe(expected.cuts.lower?.value);
          expect(summary.cuts.upper?.value).toBe(expected.cuts.upper?.value);
          expect(summary.cuts.lower?.id).toBe(expected.cuts.lower?.id);
          // Per source: what the API counts, what prune writes (with each group's cuts under perGroup).
          expect(summary.groups.map(({ cuts: _cuts, ...counts }) => counts)).toEqual(expected.groups);
          expect(summary.groups.map((group) => group.cuts?.lower ?? null)).toEqual(
            expected.cuts.groups?.map((cut) => cut.lower?.value ?? null) ?? summary.groups.map(() => null),
          );
          expect(JSON.parse(readFileSync(join(out, 'selection.json'), 'utf8'))).toEqual(summary);
          expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<svg');
        });
      }
    }
  }
});

describe('pruneCorpus: outputs', () => {
  it('keeps records byte-identical in input order, with awkward bytes, an id field and CRLF lines', async () => {
    const folder = tempFolder();
    const source = join(folder, 'odd.jsonl');
    const rawLines = [
      '{"text":"plain one","id":"x1"}',
      '{ "id" : "x2",  "text" : "spaced   keys \\u00e9\\n escaped" , "meta": {"k": [1, 2.50, null]} }',
      '{"text":"emoji 🦜 and CRLF","id":"x3"}\r',
      '{"text":"<script>alert(1)</script> & more","id":"x4"}',
      '{"text":"last without newline","id":"x5"}',
    ];
    writeFileSync(source, `${rawLines.join('\n')}`);
    const values = [5, 1, 4, 2, 3];
    const scores: ScoreRecord[] = rawLines.map((_, i) => ({
      id: `x${i + 1}`,
      source,
      line: i + 1,
      tokens: 4,
      nll: values[i] * 4 * Math.LN2,
      bytes: 10,
      bits_per_token: values[i],
      bits_per_byte: 1,
      perplexity: 2 ** values[i],
      words: 2,
    }));
    const scoresPath = join(folder, 'scores.jsonl');
    writeFileSync(scoresPath, scores.map((s) => `${JSON.stringify(s)}\n`).join(''));
    const out = join(folder, 'out');
    const { summary } = await pruneCorpus({ inputs: [source], scores: scoresPath, out, keepRatio: 0.6 });
    expect(summary.counts).toMatchObject({ documents: 5, kept: 3, pruned: 2 });
    const kept = readFileSync(join(out, 'kept', 'odd.jsonl'));
    // Kept: values 5 (x1), 4 (x3), 3 (x5), in input order, each line's bytes unchanged; line ends are written as
    // LF (the reader's raw bytes exclude the line end, CR included).
    expect(kept.toString('utf8')).toBe(`${rawLines[0]}\n${rawLines[2].slice(0, -1)}\n${rawLines[4]}\n`);
    expect(prunedPositions(out)).toEqual([`${source}:2`, `${source}:4`]);
    const pruned = readFileSync(join(out, 'pruned.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(pruned).toEqual([
      { id: 'x2', source, line: 2, value: 1 },
      { id: 'x4', source, line: 4, value: 2 },
    ]);
    const report = readFileSync(join(out, 'report.html'), 'utf8');
    expect(report).not.toContain('<script>');
    expect(report).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; more');
  });

  it('writes Parquet kept rows under the input schema, and reads Parquet scores', async () => {
    const folder = tempFolder();
    const source = join(folder, 'corpus.parquet');
    const texts = ['alpha beta', 'gamma delta epsilon', 'zeta', 'eta theta iota kappa', 'lambda mu'];
    parquetWriteFile({
      filename: source,
      columnData: [
        { name: 'doc', data: ['d0', 'd1', 'd2', 'd3', 'd4'], type: 'STRING' },
        { name: 'text', data: texts, type: 'STRING' },
        { name: 'n', data: [10n, 11n, 12n, 13n, 14n], type: 'INT64' },
        { name: 'weight', data: [0.5, 1.5, 2.5, 3.5, 4.5], type: 'DOUBLE' },
      ],
    });
    const values = [3, 1, 5, 2, 4];
    const scores = texts.map((text, row) =>
      scoreRecordOf(source, { file: '', line: row, text, tokens: 3, bitsPerToken: values[row] }, `d${row}`),
    );
    const jsonl = join(folder, 'scores.jsonl');
    writeFileSync(jsonl, scores.map((s) => `${JSON.stringify(s)}\n`).join(''));
    const scoresPath = join(folder, 'scores.parquet');
    await writeParquetFromJsonl(jsonl, scoresPath);
    const out = join(folder, 'out');
    const { summary } = await pruneCorpus({
      inputs: [source],
      scores: scoresPath,
      out,
      pruneRatio: 0.4,
      idField: 'doc',
    });
    expect(summary.counts).toMatchObject({ kept: 3, pruned: 2 });
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(join(out, 'kept', 'corpus.parquet')) });
    expect(rows).toEqual([
      { doc: 'd0', text: 'alpha beta', n: 10n, weight: 0.5 },
      { doc: 'd2', text: 'zeta', n: 12n, weight: 2.5 },
      { doc: 'd4', text: 'lambda mu', n: 14n, weight: 4.5 },
    ]);
  });

  it('copies kept plain-text documents (one per file) unchanged, writes empty kept files, gzip stays gzip', async () => {
    const folder = tempFolder();
    mkdirSync(join(folder, 'docs', 'sub'), { recursive: true });
    const files = [
      join(folder, 'docs', 'one.txt'),
      join(folder, 'docs', 'sub', 'two.txt'),
      join(folder, 'docs', 'three.txt'),
    ];
    const texts = ['First document.\nWith two lines.\n', 'Second document, no newline', 'Third\r\ndocument\r\n'];
    files.forEach((file, i) => {
      writeFileSync(file, texts[i]);
    });
    const scores = files.map((file, i) =>
      scoreRecordOf(file, { file: '', line: 0, text: texts[i], tokens: 5, bitsPerToken: [2, 9, 1][i] }),
    );
    const scoresPath = join(folder, 'scores.jsonl');
    writeFileSync(scoresPath, scores.map((s) => `${JSON.stringify(s)}\n`).join(''));
    const out = join(folder, 'out');
    const { summary } = await pruneCorpus({ inputs: files, scores: scoresPath, out, keepRatio: 0.34 });
    expect(summary.counts.kept).toBe(1);
    expect(summary.outputs.kept).toEqual(['kept/one.txt', 'kept/sub/two.txt', 'kept/three.txt'].sort());
    expect(readFileSync(join(out, 'kept', 'sub', 'two.txt'), 'utf8')).toBe(texts[1]);
    expect(readFileSync(join(out, 'kept', 'one.txt')).length).toBe(0);
  });

  it('writes gzip inputs gzip-compressed, lines unchanged', async () => {
    const folder = tempFolder();
    const source = join(folder, 'z.jsonl.gz');
    const rawLines = ['{"text":"one"}', '{"text":"two two"}', '{"text":"three three three"}'];
    writeFileSync(source, gzipSync(`${rawLines.join('\n')}\n`));
    const scores = rawLines.map((line, i) =>
      scoreRecordOf(source, {
        file: '',
        line: i + 1,
        text: JSON.parse(line).text,
        tokens: 3,
        bitsPerToken: [1, 3, 2][i],
      }),
    );
    const scoresPath = join(folder, 'scores.jsonl');
    writeFileSync(scoresPath, scores.map((s) => `${JSON.stringify(s)}\n`).join(''));
    const out = join(folder, 'out');
    const { summary } = await pruneCorpus({ inputs: [source], scores: scoresPath, out, keepRatio: 0.6 });
    expect(summary.outputs.kept).toEqual(['kept/z.jsonl.gz']);
    expect(gunzipSync(readFileSync(join(out, 'kept', 'z.jsonl.gz'))).toString('utf8')).toBe(
      `${rawLines[1]}\n${rawLines[2]}\n`,
    );
  });

  it('falls back to a join by id when the scores are not in corpus order', async () => {
    const corpus = writeCorpus(CRAFTED);
    const shuffled = [...corpus.records].reverse();
    writeFileSync(corpus.scores, shuffled.map((s) => `${JSON.stringify(s)}\n`).join(''));
    const notes: string[] = [];
    const out = join(corpus.folder, 'out');
    const { summary } = await pruneCorpus({
      inputs: [corpus.files['a.jsonl'], corpus.files['b.jsonl']],
      scores: corpus.scores,
      out,
      keepRatio: 0.7,
      log: (m) => notes.push(m),
    });
    expect(summary.join).toBe('by-id');
    expect(notes.some((n) => n.includes('not in corpus order'))).toBe(true);
    const documents = documentsOf(corpus, CRAFTED);
    const expected = select(documents, { keepRatio: 0.7 });
    expect(keptPositions(out, corpus, summary)).toEqual(
      expected.keptIndices.map((i) => `${documents[i].source}:${documents[i].line}`).sort(),
    );
  });

  it('dry run writes only selection.json and report.html', async () => {
    const corpus = writeCorpus(CRAFTED);
    const out = join(corpus.folder, 'out');
    const { summary } = await pruneCorpus({
      inputs: Object.values(corpus.files),
      scores: corpus.scores,
      out,
      keepRatio: 0.5,
      dryRun: true,
    });
    expect(readdirSync(out).sort()).toEqual(['report.html', 'selection.json']);
    expect(summary.outputs).toMatchObject({ kept: [], pruned: null });
    expect(summary.counts.kept).toBe(5);
  });

  it('zlib-ratio needs no scores (tokens unknown)', async () => {
    const corpus = writeCorpus(CRAFTED);
    const out = join(corpus.folder, 'out');
    const { summary } = await pruneCorpus({
      inputs: Object.values(corpus.files),
      out,
      metric: 'zlib-ratio',
      keepRatio: 0.5,
    });
    expect(summary.join).toBe('none');
    expect(summary.tokens).toBeNull();
    expect(summary.counts.kept).toBe(5);
    expect(summary.bytes.before).toBe(CRAFTED.reduce((s, d) => s + Buffer.byteLength(d.text), 0));
  });

  it('counts unreadable corpus records without failing', async () => {
    const corpus = writeCorpus(CRAFTED);
    const path = corpus.files['a.jsonl'];
    writeFileSync(path, `${readFileSync(path, 'utf8')}{not json\n`);
    const out = join(corpus.folder, 'out');
    const { summary } = await pruneCorpus({
      inputs: [path, corpus.files['b.jsonl']],
      scores: corpus.scores,
      out,
      keepRatio: 0.5,
    });
    expect(summary.counts).toMatchObject({ documents: 10, unreadable: 1 });
    expect(summary.unreadableExamples[0]).toMatchObject({ source: path, line: 6 });
    expect(summary.warnings.join(' ')).toContain('could not be read');
  });
});

describe('pruneCorpus: bad input fails before writing anything', () => {
  async function expectFailure(
    options: Partial<PruneOptions>,
    message: string | RegExp,
    edit?: (corpus: WrittenCorpus) => void,
  ): Promise<void> {
    const corpus = writeCorpus(CRAFTED);
    saveWordTable(
      corpus,
      CRAFTED.map((d) => d.text),
    );
    edit?.(corpus);
    const out = join(corpus.folder, 'out');
    await expect(
      pruneCorpus({
        inputs: [corpus.files['a.jsonl'], corpus.files['b.jsonl']],
        scores: corpus.scores,
        out,
        keepRatio: 0.5,
        ...options,
      } as PruneOptions),
    ).rejects.toThrow(message);
    expectNoOutput(out);
  }

  const rewriteScores = (corpus: WrittenCorpus, records: unknown[]): void =>
    writeFileSync(corpus.scores, records.map((r) => `${JSON.stringify(r)}\n`).join(''));

  it('score ids that are not in the corpus', async () => {
    await expectFailure({}, /1 score record has an id not in the corpus \("ghost"\)/, (corpus) =>
      rewriteScores(corpus, [...corpus.records, { ...corpus.records[0], id: 'ghost', line: 99 }]),
    );
  });

  it('corpus records that have no score', async () => {
    await expectFailure({}, /1 corpus record has no score \(".*b\.jsonl:5"\)/, (corpus) =>
      rewriteScores(corpus, corpus.records.slice(0, -1)),
    );
    await expectFailure({}, /1 corpus record has no score \(".*a\.jsonl:3"\)/, (corpus) =>
      rewriteScores(
        corpus,
        corpus.records.filter((r) => !r.id.endsWith('a.jsonl:3')),
      ),
    );
  });

  it('both at once, by id', async () => {
    await expectFailure(
      {},
      /2 corpus records have no score .*; 1 score record has an id not in the corpus \("zzz"\)/,
      (corpus) => rewriteScores(corpus, [{ ...corpus.records[0], id: 'zzz' }, ...corpus.records.slice(2)]),
    );
  });

  it('NaN (written as null by JSON) and negative values', async () => {
    await expectFailure(
      {},
      /Expected non-negative finite number for bits_per_token of score record 3 of .*scores\.jsonl \(id ".*a\.jsonl:3"\) but received null/,
      (corpus) =>
        rewriteScores(
          corpus,
          corpus.records.map((r, i) => (i === 2 ? { ...r, bits_per_token: Number.NaN } : r)),
        ),
    );
    await expectFailure(
      {},
      /Expected non-negative integer for tokens of score record 2 .* but received -4 of type number/,
      (corpus) =>
        rewriteScores(
          corpus,
          corpus.records.map((r, i) => (i === 1 ? { ...r, tokens: -4 } : r)),
        ),
    );
    await expectFailure(
      {},
      /Expected non-negative finite number for nll of .* but received -1 of type number/,
      (corpus) =>
        rewriteScores(
          corpus,
          corpus.records.map((r, i) => (i === 5 ? { ...r, nll: -1 } : r)),
        ),
    );
  });

  it('a ratio outside (0, 1), unknown metric or strategy', async () => {
    await expectFailure(
      { keepRatio: undefined, pruneRatio: 1.5 },
      'Expected number in (0, 1) for pruneRatio but received 1.5 of type number',
    );
    await expectFailure({ keepRatio: 0 }, 'Expected number in (0, 1) for keepRatio but received 0 of type number');
    await expectFailure(
      { metric: 'entropy' as never },
      /Expected one of .* for metric but received "entropy" of type string/,
    );
    await expectFailure(
      { strategy: 'smart' as never },
      /Expected one of .* for strategy but received "smart" of type string/,
    );
  });

  it('duplicate ids in the corpus, or in the scores', async () => {
    const crafted = CRAFTED.map((d, i) => ({ ...d, extra: { id: i === 7 ? 'dup' : i === 2 ? 'dup' : `id${i}` } }));
    const corpus = writeCorpus(crafted);
    rewriteScores(
      corpus,
      corpus.records.map((r, i) => ({ ...r, id: crafted[i].extra.id })),
    );
    const out = join(corpus.folder, 'out');
    const inputs = [corpus.files['a.jsonl'], corpus.files['b.jsonl']];
    await expect(pruneCorpus({ inputs, scores: corpus.scores, out, keepRatio: 0.5 })).rejects.toThrow(
      /Duplicate id "dup" in the corpus and the scores: .*a\.jsonl:3 and .*b\.jsonl:3/,
    );
    expectNoOutput(out);
    // Out of order: the join by id finds the duplicate in the scores.
    rewriteScores(corpus, corpus.records.map((r, i) => ({ ...r, id: crafted[i].extra.id })).reverse());
    await expect(pruneCorpus({ inputs, scores: corpus.scores, out, keepRatio: 0.5 })).rejects.toThrow(
      /Duplicate id "dup" in the scores/,
    );
    expectNoOutput(out);
  });

  it('an interrupted run (abort) leaves neither output nor temporary folder', async () => {
    const corpus = writeCorpus(CRAFTED);
    const out = join(corpus.folder, 'out');
    const controller = new AbortController();
    let seen = 0;
    // Abort during the output pass (the second read of the corpus), when files are being written.
    const reader: CorpusReader = async function* (inputs, options) {
      for await (const record of readCorpus(inputs, options)) {
        if (++seen === 15) controller.abort();
        options.signal?.throwIfAborted();
        yield record;
      }
    };
    await expect(
      pruneCorpus({
        inputs: Object.values(corpus.files),
        scores: corpus.scores,
        out,
        keepRatio: 0.5,
        readCorpus: reader,
        signal: controller.signal,
      }),
    ).rejects.toThrow(/abort/i);
    expectNoOutput(out);
  });

  it('an output folder that exists', async () => {
    const corpus = writeCorpus(CRAFTED);
    const out = join(corpus.folder, 'existing');
    mkdirSync(out);
    writeFileSync(join(out, 'keep-me.txt'), 'x');
    await expect(
      pruneCorpus({ inputs: Object.values(corpus.files), scores: corpus.scores, out, keepRatio: 0.5 }),
    ).rejects.toThrow(/Output folder already exists: .*existing/);
    expect(readdirSync(out)).toEqual(['keep-me.txt']);
  });

  it('missing scores, word-frequency table or inputs', async () => {
    await expectFailure({ scores: undefined }, 'Metric "bits-per-token" needs the scores file (scores)');
    await expectFailure(
      { scores: undefined, metric: 'zlib-ratio', keepRatio: undefined, keepTokens: 10 },
      'keepTokens needs token counts',
    );
    await expectFailure({ scores: '/nonexistent/scores.jsonl' }, 'Scores file not found: /nonexistent/scores.jsonl');
    await expectFailure(
      { metric: 'word-entropy', wordFrequencies: '/nonexistent/words.bin' },
      'Word-frequency table not found',
    );
    await expectFailure({ inputs: ['/nonexistent/corpus.jsonl'] }, 'Input not found: /nonexistent/corpus.jsonl');
    await expectFailure(
      { inputs: [] },
      'Expected non-empty array of paths for inputs but received an array of length 0',
    );
  });
});

describe('groups: per-source and --group-field views, --per-group budgets', () => {
  // 30 documents in two files, three domains with different information levels.
  const crafted: CraftedDocument[] = Array.from({ length: 30 }, (_, i) => ({
    file: i < 15 ? 'a.jsonl' : 'b.jsonl',
    line: (i % 15) + 1,
    text: `document ${i} in domain ${i % 3}`,
    bitsPerToken: (i % 3) * 2 + ((i * 7) % 10) / 10,
    tokens: 5 + (i % 4),
    extra: { domain: ['web', 'books', 'code'][i % 3] },
  }));
  const corpus = writeCorpus(crafted);
  const inputs = [corpus.files['a.jsonl'], corpus.files['b.jsonl']];
  const documents = crafted.map((d, i) => ({ ...documentsOf(corpus, crafted)[i], group: d.extra!.domain as string }));

  it('keeps the share within each --group-field value with --per-group, as select() does', async () => {
    const out = join(corpus.folder, 'per-domain');
    const { summary } = await pruneCorpus({
      inputs,
      scores: corpus.scores,
      out,
      groupField: 'domain',
      perGroup: true,
      pruneRatio: 0.3,
    });
    const expected = select(documents, { pruneRatio: 0.3, perGroup: true });
    expect(keptPositions(out, corpus, summary)).toEqual(
      expected.keptIndices.map((i) => `${documents[i].source}:${documents[i].line}`).sort(),
    );
    expect(summary.groups.map(({ group, documents, kept }) => ({ group, documents, kept }))).toEqual([
      { group: 'web', documents: 10, kept: 7 },
      { group: 'books', documents: 10, kept: 7 },
      { group: 'code', documents: 10, kept: 7 },
    ]);
    expect(summary.configuration).toMatchObject({ groupField: 'domain', perGroup: true });
    expect(summary.rule).toMatch(/within each value of domain/);
  });

  it('one cut over the corpus shifts the mix: the groups are counted but keep different shares', async () => {
    const out = join(corpus.folder, 'global');
    const { summary } = await pruneCorpus({
      inputs,
      scores: corpus.scores,
      out,
      groupField: 'domain',
      pruneRatio: 0.3,
    });
    const kept = Object.fromEntries(summary.groups.map((group) => [group.group, group.kept]));
    expect(kept).toEqual({ web: 1, books: 10, code: 10 }); // web holds the least informative documents
    const bySource = await pruneCorpus({
      inputs,
      scores: corpus.scores,
      out: join(corpus.folder, 'src'),
      pruneRatio: 0.3,
    });
    expect(bySource.summary.groups.map((group) => group.group)).toEqual(inputs);
    expect(bySource.summary.groups.reduce((sum, group) => sum + group.kept, 0)).toBe(21);
  });

  it('refuses per-group token budgets and thresholds', async () => {
    const out = join(corpus.folder, 'refused');
    await expect(pruneCorpus({ inputs, scores: corpus.scores, out, perGroup: true, keepTokens: 50 })).rejects.toThrow(
      'perGroup takes a share of each group: keepRatio, pruneRatio or band, not keepTokens',
    );
    expect(() => select(documents, { strategy: 'threshold', min: 1, perGroup: true })).toThrow(/not min\/max/);
    expect(() => select(documents, { band: '90:10' })).toThrow(
      'Expected LOW:HIGH percentiles with 0 <= LOW < HIGH <= 100 for band',
    );
    expect(() => select(documents, { band: [10, 90], keepRatio: 0.5 })).toThrow(
      /Strategy "band" keeps the percentiles band gives, not keepRatio/,
    );
  });

  it('from the command line: --group-field, --per-group and --band, per-group lines on stderr', async () => {
    const out = join(corpus.folder, 'cli-groups');
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const command = new Command().exitOverride();
      command.configureOutput({ writeErr: () => {}, writeOut: () => {} });
      registerPruneCommand(command);
      const args = ['prune', '--scores', corpus.scores, '--input', ...inputs, '--out', out, '--quiet'];
      await command.parseAsync([...args, '--group-field', 'domain', '--per-group', '--band', '10:100'], {
        from: 'user',
      });
    } finally {
      process.stderr.write = write;
    }
    const text = written.join('');
    expect(text).toContain('infoprune prune: kept 27 of 30 documents (90.0%)');
    expect(text).toContain('infoprune prune: per domain (budget applied within each):');
    expect(text).toMatch(/infoprune prune: {3}web +kept 9\/10 documents \(90\.0%\)/);
    const summary = JSON.parse(readFileSync(join(out, 'selection.json'), 'utf8')) as SelectionSummary;
    expect(summary.configuration).toMatchObject({ strategy: 'band', budget: { kind: 'band', low: 10, high: 100 } });
  });

  it('--band keeps the percentile band: 20:90 of 30 documents keeps ranks 6 to 26', () => {
    const selection = select(documents, { band: '20:90' });
    expect(selection.counts.kept).toBe(21);
    const order = [...documents.keys()].sort(
      (a, b) => documents[a].bits_per_token! - documents[b].bits_per_token! || a - b,
    );
    expect(selection.keptIndices.sort((a, b) => a - b)).toEqual(order.slice(6, 27).sort((a, b) => a - b));
  });
});

describe('infoprune prune (command line, in process)', () => {
  function program(): Command {
    const command = new Command().exitOverride();
    command.configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerPruneCommand(command);
    return command;
  }

  it('prunes with flags and reports numbers as the API would', async () => {
    const corpus = writeCorpus(CRAFTED);
    const out = join(corpus.folder, 'cli-out');
    const written: string[] = [];
    const toStdout: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const writeOut = process.stdout.write.bind(process.stdout);
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    process.stdout.write = ((chunk: string) => {
      toStdout.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      await program().parseAsync(
        [
          'prune',
          '--scores',
          corpus.scores,
          '--input',
          corpus.files['a.jsonl'],
          corpus.files['b.jsonl'],
          '--out',
          out,
          '--prune-ratio',
          '0.3',
          '--quiet',
        ],
        { from: 'user' },
      );
    } finally {
      process.stderr.write = write;
      process.stdout.write = writeOut;
    }
    expect(written.join('')).toContain('infoprune prune: kept 7 of 10 documents (70.0%)');
    expect(toStdout).toEqual([]); // stdout is for data: the summary goes to stderr
    const summary = JSON.parse(readFileSync(join(out, 'selection.json'), 'utf8')) as SelectionSummary;
    expect(summary.configuration.budget).toEqual({ kind: 'prune-ratio', pruneRatio: 0.3 });
  });

  it('names bad flag values', async () => {
    const corpus = writeCorpus(CRAFTED);
    const out = join(corpus.folder, 'cli-bad');
    const base = ['prune', '--scores', corpus.scores, '--input', corpus.files['a.jsonl'], '--out', out, '--quiet'];
    await expect(program().parseAsync([...base, '--prune-ratio', '1.5'], { from: 'user' })).rejects.toThrow(
      'Expected number in (0, 1) for --prune-ratio but received 1.5 of type number',
    );
    await expect(program().parseAsync([...base, '--keep-ratio', 'half'], { from: 'user' })).rejects.toThrow(
      'Expected number for --keep-ratio but received "half" of type string',
    );
    await expect(
      program().parseAsync([...base, '--keep-ratio', '0.5', '--metric', 'nope'], { from: 'user' }),
    ).rejects.toThrow(/for --metric but received "nope"/);
    await expect(
      program().parseAsync([...base, '--keep-ratio', '0.5', '--strategy', 'nope'], { from: 'user' }),
    ).rejects.toThrow(/for --strategy but received "nope"/);
    expectNoOutput(out);
  });
});
