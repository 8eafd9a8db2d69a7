/**
 * `annotateCorpus` (score --annotate): the inputs written back out with each record's scores under one key (fake
 * engine). JSONL keeps every other byte; an earlier annotation is replaced; unscored records keep no key; gzip and
 * zstd outputs read back (zstd also through the zstd tool when it is installed); Parquet gains one JSON column.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCorpus } from '../src/corpus/read.js';
import { zstdFrame } from '../src/corpus/write.js';
import { annotateCorpus } from '../src/pipeline/annotate.js';
import { runScoreJob } from '../src/pipeline/job.js';
import { readScoreFile } from '../src/scores/read.js';
import { createFakeScorer, FAKE_MODEL_PATH } from './helpers/fake-engine.js';

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-annotate-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Lines whose other fields have spellings JSON.stringify would change: spaces, 1.50, escapes, nesting. */
const LINES = [
  '{"id": "a",  "text": "first document here", "score": 1.50, "u": "\\u00e9", "nested": {"k": [1, "}"]}}',
  '{"text":"second document, with an earlier annotation","infoprune":{"old":[1,{"x":"}"}]},"z":2}',
  '{"id":"c","text":"third document"}   ',
];

async function scored(name: string, files: Record<string, Buffer | string>) {
  const inputs = Object.entries(files).map(([file, content]) => {
    const path = join(folder, name, file);
    mkdirSync(join(folder, name), { recursive: true });
    writeFileSync(path, content);
    return path;
  });
  const out = join(folder, `${name}.scores.jsonl`);
  await runScoreJob({ inputs, model: FAKE_MODEL_PATH, scorer: createFakeScorer(), workers: 0, out });
  const scores = [];
  for await (const record of readScoreFile(out)) scores.push(record);
  return { inputs, out, scores };
}

describe('annotateCorpus', () => {
  it('JSONL: adds the key as the last member, every other byte unchanged; an earlier annotation is replaced', async () => {
    const { out, scores } = await scored('plain', { 'part.jsonl': `${LINES.join('\n')}\n` });
    const dest = join(folder, 'plain-annotated/');
    const summary = await annotateCorpus({ scores: out, out: dest });
    expect(summary).toEqual({ records: 3, annotated: 3, files: ['part.jsonl'] });
    const written = readFileSync(join(dest, 'part.jsonl'), 'utf8').split('\n');
    expect(written.length).toBe(4);
    const key = /,"infoprune":\{[^{}]*\}\}(\s*)$/;
    expect(written[0].replace(key, '}$1')).toBe(LINES[0]);
    expect(written[1].replace(key, '}$1')).toBe('{"text":"second document, with an earlier annotation","z":2}');
    expect(written[2].replace(key, '}$1')).toBe(LINES[2]); // even the spaces after the object
    for (let i = 0; i < 3; i++) {
      const annotation = JSON.parse(written[i]).infoprune;
      expect(annotation).toMatchObject({
        tokens: scores[i].tokens,
        nll: scores[i].nll,
        bits_per_token: scores[i].bits_per_token,
        bits_per_byte: scores[i].bits_per_byte,
      });
      expect(annotation.word_entropy).toBeGreaterThan(0);
      expect(annotation.model).toMatch(/^[0-9a-f]{64}$/);
    }
    // An existing, non-empty folder is never written into.
    await expect(annotateCorpus({ scores: out, out: dest })).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
    // A record without a score (one that failed) is written unchanged, without the key.
    const partial = join(folder, 'partial.scores.jsonl');
    const kept = readFileSync(out, 'utf8').split('\n');
    writeFileSync(partial, [kept[0], kept[2], ''].join('\n'));
    for (const suffix of ['.manifest.json', '.words.bin']) copyFileSync(`${out}${suffix}`, `${partial}${suffix}`);
    const single = join(folder, 'partial-annotated.jsonl');
    expect(await annotateCorpus({ scores: partial, out: single })).toEqual({
      records: 3,
      annotated: 2,
      files: [single],
    });
    expect(readFileSync(single, 'utf8').split('\n')[1]).toBe(LINES[1]);
  });

  it('gzip and zstd inputs give gzip and zstd outputs under their own names', async () => {
    const text = `${LINES[0]}\n{"text": ""}\n${LINES[2]}\n`;
    const { out } = await scored('packed', {
      'a.jsonl.gz': gzipSync(text),
      'b.jsonl.zst': zstdFrame(Buffer.from(text)),
    });
    const dest = join(folder, 'packed-annotated/');
    const summary = await annotateCorpus({ scores: out, out: dest, key: 'ip' });
    // The empty text is not a record (it is in the errors file): 2 records of each file, all scored.
    expect(summary).toEqual({ records: 4, annotated: 4, files: ['a.jsonl.gz', 'b.jsonl.zst'] });
    const gz = gunzipSync(readFileSync(join(dest, 'a.jsonl.gz'))).toString();
    expect(gz.split('\n')[0]).toMatch(/^\{"id": "a",.*"ip":\{"tokens":\d+,/);
    const back = [];
    for await (const record of readCorpus([join(dest, 'b.jsonl.zst')])) back.push(record);
    expect(back.map((record) => record.text)).toEqual(['first document here', 'third document']);
    expect(JSON.parse(back[1].raw!.toString()).ip.tokens).toBeGreaterThan(0);
    if (spawnSync('zstd', ['--version']).status === 0) {
      const decoded = execFileSync('zstd', ['-dc', join(dest, 'b.jsonl.zst')]).toString();
      expect(decoded).toBe(gz);
    }
  });

  it('one file for JSONL inputs; a Parquet input gains one JSON column', async () => {
    const writer = new ByteWriter();
    const parquet = new ParquetWriter({
      writer,
      schema: [
        { name: 'root', num_children: 2 },
        { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      ],
    });
    parquet.write({
      columnData: [
        { name: 'id', data: ['p0', 'p1'] },
        { name: 'text', data: ['a parquet document', 'another parquet document'] },
      ],
    });
    parquet.finish();
    const { out, scores } = await scored('table', { 'rows.parquet': Buffer.from(writer.getBuffer()) });
    const dest = join(folder, 'table-annotated.parquet');
    expect(await annotateCorpus({ scores: out, out: dest })).toMatchObject({ records: 2, annotated: 2 });
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(dest) });
    expect(rows.map((row) => row.id)).toEqual(['p0', 'p1']);
    const annotation = rows[0].infoprune;
    const parsed = typeof annotation === 'string' ? JSON.parse(annotation) : annotation;
    expect(parsed).toMatchObject({ tokens: scores[0].tokens, nll: scores[0].nll });
    await expect(annotateCorpus({ scores: out, out: join(folder, 'table.jsonl') })).rejects.toMatchObject({
      code: 'OUTPUT_NOT_WRITABLE',
    });
  });
});
