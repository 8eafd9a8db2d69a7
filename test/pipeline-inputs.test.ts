/**
 * Reading: every format gives the same records for the same documents; inputs as files, folders and globs; every
 * kind of bad input is reported (source, line, reason) while the run goes on, with read = scored + skipped; and
 * input files are never modified.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listInputs, parseGlob } from '../src/corpus/inputs.js';
import { type CorpusRecord, type RecordError, readCorpus } from '../src/corpus/read.js';
import { runScoreJob } from '../src/pipeline/job.js';
import { scoreCorpus } from '../src/pipeline/score-corpus.js';
import type { ScoreRecord } from '../src/scores/record.js';
import {
  brownDocuments,
  type TestDocument,
  writeJsonl,
  writeJsonlGz,
  writeParquet,
  writeTextFiles,
} from './fixtures/pipeline/corpus.js';
import { createFakeScorer, FAKE_MODEL_PATH, FAKE_TOKENIZER_MODULE } from './helpers/fake-engine.js';

const fixtures = new URL('./fixtures/pipeline/', import.meta.url).pathname;
let folder: string;
let documents: TestDocument[];

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-inputs-'));
  documents = brownDocuments(3).slice(0, 60);
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function scoreAll(inputs: string[], options: Record<string, unknown> = {}): Promise<ScoreRecord[]> {
  const records: ScoreRecord[] = [];
  const run = scoreCorpus({ inputs, model: FAKE_MODEL_PATH, scorer: createFakeScorer(), workers: 0, ...options });
  for await (const record of run) records.push(record);
  return records;
}

/** What must agree between formats: everything but where the record came from. */
function values(records: ScoreRecord[]) {
  return records.map(({ tokens, nll, bytes, bits_per_token, bits_per_byte, perplexity, words }) => ({
    tokens,
    nll,
    bytes,
    bits_per_token,
    bits_per_byte,
    perplexity,
    words,
  }));
}

describe('formats', () => {
  it('JSONL, gzip JSONL, Parquet, text files and text lines give the same records for the same documents', async () => {
    const jsonl = join(folder, 'docs.jsonl');
    const gz = join(folder, 'docs.jsonl.gz');
    const parquet = join(folder, 'docs.parquet');
    const texts = join(folder, 'texts');
    const lines = join(folder, 'lines.txt');
    mkdirSync(texts);
    writeJsonl(jsonl, documents);
    writeJsonlGz(gz, documents);
    await writeParquet(parquet, documents, 7); // several row groups
    // Text files are read in name order: name them so that it is the documents' order.
    writeTextFiles(
      texts,
      documents.map((document, i) => ({ ...document, id: `${String(i).padStart(4, '0')}` })),
    );
    writeFileSync(lines, `${documents.map((document) => document.text).join('\r\n')}\r\n`); // CRLF line ends

    const fromJsonl = await scoreAll([jsonl]);
    expect(fromJsonl.map((record) => record.id)).toEqual(documents.map((document) => document.id));
    expect(fromJsonl.map((record) => record.line)).toEqual(documents.map((_, i) => i + 1));
    const fromGz = await scoreAll([gz]);
    const fromParquet = await scoreAll([parquet]);
    expect(fromParquet.map((record) => record.line)).toEqual(documents.map((_, i) => i)); // rows are 0-based
    expect(fromParquet.map((record) => record.id)).toEqual(documents.map((document) => document.id));
    const fromTexts = await scoreAll([texts]);
    expect(fromTexts.map((record) => record.line)).toEqual(documents.map(() => 0));
    expect(fromTexts[0].id).toBe(`${join(texts, '0000.txt')}:0`);
    const fromLines = await scoreAll([lines], { textMode: 'line' });
    expect(fromLines[1].id).toBe(`${lines}:2`);

    for (const other of [fromGz, fromParquet, fromTexts, fromLines]) expect(values(other)).toEqual(values(fromJsonl));
    expect(fromGz.map((record) => record.id)).toEqual(fromJsonl.map((record) => record.id));
  });

  it('reads zstd JSONL (fzstd) like the plain file', async () => {
    const plain = await scoreAll([join(fixtures, 'small.jsonl')]);
    const zst = await scoreAll([join(fixtures, 'small.jsonl.zst')]);
    expect(plain).toHaveLength(4);
    expect(values(zst)).toEqual(values(plain));
    expect(zst.map((record) => record.id)).toEqual(['z1', 'z2', 'z3', 'z4']);
  });

  it('readCorpus (the contract prune reads with) gives the raw line, the row, ids and errors', async () => {
    const jsonl = join(folder, 'contract.jsonl');
    writeFileSync(jsonl, '{"text":"first","id":7}\n\n{"text":"second"}\nnot json\n{"text":"third","id":"c"}');
    const errors: RecordError[] = [];
    const records: CorpusRecord[] = [];
    for await (const record of readCorpus([jsonl], { onError: (error) => errors.push(error) })) records.push(record);
    expect(records.map(({ id, line, text }) => ({ id, line, text }))).toEqual([
      { id: '7', line: 1, text: 'first' },
      { id: `${jsonl}:3`, line: 3, text: 'second' },
      { id: 'c', line: 5, text: 'third' },
    ]);
    expect(records[0].raw?.toString()).toBe('{"text":"first","id":7}');
    expect(errors).toEqual([{ source: jsonl, line: 4, reason: expect.stringMatching(/^malformed JSON/) }]);

    const parquet = join(folder, 'contract.parquet');
    await writeParquet(parquet, documents.slice(0, 3));
    const rows: CorpusRecord[] = [];
    for await (const record of readCorpus([parquet])) rows.push(record);
    // The row as stored (what writing it back out exactly needs): strings as their UTF-8 bytes.
    const utf8 = (text: string) => new Uint8Array(Buffer.from(text));
    expect(rows.map((record) => record.row)).toEqual(
      documents.slice(0, 3).map((document) => ({ id: utf8(document.id), text: utf8(document.text) })),
    );
    expect(rows.map((record) => record.text)).toEqual(documents.slice(0, 3).map((document) => document.text));
  });
});

describe('inputs', () => {
  it('expands folders and globs in a stable order, and refuses what it cannot read', () => {
    const root = join(folder, 'tree');
    mkdirSync(join(root, 'b'), { recursive: true });
    mkdirSync(join(root, 'a'));
    for (const name of ['b/2.jsonl', 'a/1.jsonl.gz', 'a/README', 'c.parquet', '.hidden.jsonl'])
      writeFileSync(join(root, name), '');
    expect(listInputs([root]).map((input) => input.key)).toEqual(['a/1.jsonl.gz', 'b/2.jsonl', 'c.parquet']);
    expect(listInputs([join(root, '**/*.jsonl*')]).map((input) => input.key)).toEqual(['a/1.jsonl.gz', 'b/2.jsonl']);
    expect(listInputs([join(root, 'b', '*.jsonl'), root]).map((input) => input.key)).toEqual([
      '2.jsonl',
      'a/1.jsonl.gz',
      'c.parquet',
    ]);
    expect(() => listInputs([join(root, 'nothing*.jsonl')])).toThrow(/No file matches/);
    expect(() => listInputs([join(root, 'missing.jsonl')])).toThrow(/Input not found/);
    expect(() => listInputs([join(root, 'a', 'README')])).toThrow(
      /Cannot tell the format .* set format to jsonl, parquet or text/,
    );
    expect(listInputs([join(root, 'a', 'README')], { format: 'text' })[0].format).toBe('text');
    expect(() => listInputs([join(folder, 'no-such-folder', '*.jsonl')])).toThrow(/No file matches/);
  });

  it('matches globs as the shell does (picomatch), in sorted order', () => {
    const root = join(folder, 'globs');
    mkdirSync(join(root, 'train', 'deep'), { recursive: true });
    mkdirSync(join(root, 'test'));
    const names = ['train/part-01.jsonl', 'train/part-02.jsonl.gz', 'train/part-10.jsonl', 'train/deep/x.jsonl'];
    for (const name of [...names, 'test/part-01.jsonl', 'test/[literal].jsonl']) writeFileSync(join(root, name), '');
    const keys = (pattern: string) => listInputs([join(root, pattern)]).map((input) => input.key);
    expect(keys('{train,test}/part-0?.jsonl*')).toEqual([
      'test/part-01.jsonl',
      'train/part-01.jsonl',
      'train/part-02.jsonl.gz',
    ]);
    expect(keys('train/part-[01]*.jsonl')).toEqual(['part-01.jsonl', 'part-10.jsonl']);
    expect(keys('train/**/*.jsonl')).toEqual(['deep/x.jsonl', 'part-01.jsonl', 'part-10.jsonl']);
    expect(keys('train/!(part-1*).jsonl')).toEqual(['part-01.jsonl']);
    expect(keys('test/[literal].jsonl')).toEqual(['[literal].jsonl']); // an existing file is a path, not a glob
    expect(parseGlob('data/train/*.jsonl').base).toBe('data/train');
    expect(parseGlob('*.jsonl').matches('a.jsonl')).toBe(true);
    expect(parseGlob('*.jsonl').matches('sub/a.jsonl')).toBe(false);
  });
});

describe('bad input', () => {
  it('reports every bad record and file with source, line and reason; read = scored + skipped; inputs untouched', async () => {
    const bad = join(folder, 'bad');
    mkdirSync(bad);
    const jsonl = join(bad, 'a-mixed.jsonl');
    const huge = `${'x'.repeat(999)} `;
    const lines: (string | Buffer)[] = [
      '\uFEFF{"id":"bom","text":"A line after a byte order mark."}', // 1: BOM: read normally
      '{"id":"crlf","text":"CRLF line end."}\r', // 2: CRLF: read normally
      '{"id":"bad-json","text":"unterminated', // 3
      '{"id":"no-text"}', // 4
      '{"id":"number","text":42}', // 5
      '{"id":"empty","text":""}', // 6
      Buffer.concat([Buffer.from('{"id":"utf8","text":"bad '), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), // 7
      '', // 8: blank: not a record
      '[1,2,3]', // 9
      JSON.stringify({ id: 'huge', text: huge.repeat(50 * 1024) }), // 10: a 50 MB document
      '{"id":"ok","text":"The last good one."}', // 11
    ];
    writeFileSync(
      jsonl,
      Buffer.concat(
        lines.map((line) => Buffer.concat([typeof line === 'string' ? Buffer.from(line) : line, Buffer.from('\n')])),
      ),
    );
    const truncated = join(bad, 'b-truncated.jsonl.gz');
    const gz = gzipSync(
      documents
        .slice(0, 40)
        .map((document) => JSON.stringify(document))
        .join('\n'),
    );
    writeFileSync(truncated, gz.subarray(0, Math.floor(gz.length * 0.6)));
    const corruptParquet = join(bad, 'c-corrupt.parquet');
    await writeParquet(corruptParquet, documents.slice(0, 5));
    const parquetBytes = readFileSync(corruptParquet);
    writeFileSync(corruptParquet, parquetBytes.subarray(0, parquetBytes.length - 30));
    const unreadable = join(bad, 'd-unreadable.jsonl');
    if (process.platform === 'linux' && process.getuid?.() === 0) {
      symlinkSync('/proc/self/mem', unreadable); // root reads any file: this one fails with EIO at offset 0
    } else {
      writeFileSync(unreadable, '{"text":"secret"}\n');
      chmodSync(unreadable, 0o000);
    }
    const untouched = join(bad, 'e-fine.jsonl');
    writeJsonl(untouched, documents.slice(0, 3));

    const inputFiles = [jsonl, truncated, corruptParquet, untouched];
    const before = inputFiles.map((path) => ({
      hash: createHash('sha256').update(readFileSync(path)).digest('hex'),
      mtime: statSync(path).mtimeMs,
    }));

    const out = join(folder, 'bad-scores.jsonl');
    const summary = await runScoreJob({
      inputs: [bad],
      model: FAKE_MODEL_PATH,
      scorer: createFakeScorer(),
      workers: 2,
      tokenizerModule: FAKE_TOKENIZER_MODULE,
      out,
      wordBuckets: 1024,
    });
    expect(summary.status).toBe('completed');
    const errors = readFileSync(`${out}.errors.jsonl`, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    const scored = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));

    expect(errors.filter((error) => error.source === jsonl)).toEqual([
      { source: jsonl, line: 3, reason: expect.stringMatching(/^malformed JSON/) },
      { source: jsonl, line: 4, reason: 'missing text field "text"' },
      { source: jsonl, line: 5, reason: 'text field "text" is of type number, not a string' },
      { source: jsonl, line: 6, reason: 'empty text' },
      { source: jsonl, line: 7, reason: 'invalid UTF-8' },
      { source: jsonl, line: 9, reason: 'not a JSON object (array)' },
      {
        source: jsonl,
        line: 10,
        reason: expect.stringMatching(/^document too large: 5\d{7} bytes, more than maxDocumentBytes 33554432/),
      },
    ]);
    expect(scored.filter((record) => record.source === jsonl).map((record) => record.id)).toEqual([
      'bom',
      'crlf',
      'ok',
    ]);
    expect(scored.find((record) => record.id === 'bom').bytes).toBe(
      Buffer.byteLength('A line after a byte order mark.'),
    );

    const truncation = errors.filter((error) => error.source === truncated);
    expect(truncation).toHaveLength(1);
    expect(truncation[0].reason).toMatch(
      /^truncated gzip data: the file ends inside the member at byte 0; the records from line \d+ on are not read \(those before it were read\)$/,
    );
    const beforeTruncation = scored.filter((record) => record.source === truncated);
    expect(beforeTruncation.length).toBeGreaterThan(0);
    expect(truncation[0].line).toBe(beforeTruncation.length + 1);
    expect(beforeTruncation.map((record) => record.id)).toEqual(
      documents.slice(0, beforeTruncation.length).map((document) => document.id),
    );

    expect(errors.filter((error) => error.source === corruptParquet)).toEqual([
      { source: corruptParquet, line: 0, reason: expect.stringMatching(/^corrupt or unreadable Parquet file/) },
    ]);
    expect(errors.filter((error) => error.source === unreadable)).toEqual([
      {
        source: unreadable,
        line: expect.any(Number),
        reason: expect.stringMatching(/^(read error|cannot read): E(IO|ACCES)/),
      },
    ]);
    expect(scored.filter((record) => record.source === untouched)).toHaveLength(3);

    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    const { counts } = manifest;
    expect(counts.read).toBe(counts.scored + counts.skipped);
    expect(counts.scored).toBe(scored.length);
    expect(counts.skipped).toBe(7);
    expect(counts.fileErrors).toBe(3); // truncated gzip, corrupt Parquet, unreadable file
    expect(errors).toHaveLength(counts.skipped + counts.fileErrors);

    const after = inputFiles.map((path) => ({
      hash: createHash('sha256').update(readFileSync(path)).digest('hex'),
      mtime: statSync(path).mtimeMs,
    }));
    expect(after).toEqual(before);
  });

  it('scores a 50 MB document when the limit allows it', async () => {
    const path = join(folder, 'huge.jsonl');
    writeFileSync(path, `${JSON.stringify({ id: 'huge', text: `${'y'.repeat(999)} `.repeat(50 * 1024) })}\n`);
    const records = await scoreAll([path], { maxDocumentBytes: 64 * 1024 * 1024 });
    expect(records).toHaveLength(1);
    expect(records[0].bytes).toBe(50 * 1024 * 1000);
    expect(records[0].words).toBe(50 * 1024);
  });

  it('reads on after a corrupt Parquet row group', async () => {
    const path = join(folder, 'groups.parquet');
    const docs = documents
      .slice(0, 30)
      .map((document, i) => ({ id: `g${i}`, text: `${'distinct words '.repeat(20)} ${document.text}` }));
    await writeParquet(path, docs, 10);
    const { parquetMetadataAsync, asyncBufferFromFile } = await import('hyparquet');
    const metadata = await parquetMetadataAsync(await asyncBufferFromFile(path));
    const chunk = metadata.row_groups[1].columns[1].meta_data!;
    const bytes = readFileSync(path);
    const start = Number(chunk.dictionary_page_offset ?? chunk.data_page_offset);
    bytes.fill(0xff, start, start + 24); // break the second group's text column page header
    const copy = join(folder, 'groups-broken.parquet');
    writeFileSync(copy, bytes);
    const skips: { line: number; reason: string }[] = [];
    const records = await scoreAll([copy], { onSkip: (skip: { line: number; reason: string }) => skips.push(skip) });
    expect(records.map((record) => record.id)).toEqual(
      [...docs.slice(0, 10), ...docs.slice(20)].map((document) => document.id),
    );
    expect(skips).toEqual([
      {
        source: copy,
        line: 10,
        reason: expect.stringMatching(/^corrupt Parquet row group 1 \(rows 10 to 19\)/),
        document: false,
      },
    ]);
  });
});
