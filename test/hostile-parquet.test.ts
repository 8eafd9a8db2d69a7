/**
 * prune on Parquet input keeps the input's rows bit for bit (issue 10, item 1): binary columns stay bytes (never
 * re-encoded as UTF-8), strings holding invalid UTF-8, 64-bit and unsigned integers, decimals, microsecond
 * timestamps, floats (NaN included), non-normalised JSON text, nested lists (null, empty, with null items) and
 * dictionary-encoded columns, from files compressed with Snappy, gzip, Brotli or not at all; the kept file has the
 * input's schema. A column no writer here can store is refused by name.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { asyncBufferFromFile, type CompressionCodec, parquetMetadataAsync, type SchemaElement } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { physicalSchema, readStoredRows, uncopyableColumn } from '../src/corpus/parquet-rows.js';
import { pruneCorpus } from '../src/select/prune.js';

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-hostile-parquet-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const bytes = (text: string) => new TextEncoder().encode(text);

const SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: 12 },
  { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  { name: 'blob', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
  { name: 'bad_utf8', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  { name: 'big', type: 'INT64', repetition_type: 'OPTIONAL' },
  { name: 'u64', type: 'INT64', converted_type: 'UINT_64', repetition_type: 'OPTIONAL' },
  {
    name: 'dec',
    type: 'FIXED_LEN_BYTE_ARRAY',
    type_length: 16,
    converted_type: 'DECIMAL',
    scale: 2,
    precision: 38,
    logical_type: { type: 'DECIMAL', scale: 2, precision: 38 },
    repetition_type: 'OPTIONAL',
  },
  { name: 'ts', type: 'INT64', converted_type: 'TIMESTAMP_MICROS', repetition_type: 'OPTIONAL' },
  { name: 'f32', type: 'FLOAT', repetition_type: 'OPTIONAL' },
  { name: 'f64', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  { name: 'tags', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', type: 'INT32', repetition_type: 'OPTIONAL' },
  { name: 'json', type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type: 'OPTIONAL' },
];
const COLUMNS = ['id', 'text', 'blob', 'bad_utf8', 'big', 'u64', 'dec', 'ts', 'f32', 'f64', 'tags', 'json'];

/** Rows as stored (the physical values), 12 of them: texts of different compressibility so prune splits them. */
function storedRows(): Record<string, unknown>[] {
  return Array.from({ length: 12 }, (_, i) => ({
    id: bytes(`r${i}`),
    text: bytes(
      i % 3 === 0 ? 'same words '.repeat(20 + i) : `document ${i}: ${Math.sin(i + 1).toString(36)} q${i * 7919}`,
    ),
    blob: i === 0 ? new Uint8Array([0x61, 0xff, 0xfe]) : new Uint8Array([i, 0x80, 0]),
    bad_utf8: new Uint8Array([0x62, 0xc3, i]),
    big: i === 1 ? 9223372036854775807n : i === 2 ? -9223372036854775808n : BigInt(i) * 1234567890123n,
    u64: -1n, // 2^64 - 1 as stored; one value: dictionary-encoded
    dec: new Uint8Array(16).fill(i + 1),
    ts: 1700000000123456n + BigInt(i),
    f32: i === 2 ? Number.NaN : Math.fround(0.1 * i),
    f64: i === 3 ? -0 : i === 4 ? Number.NaN : 1 / (i + 1),
    tags: i === 5 ? null : i === 6 ? [] : [i, null, 7],
    json: bytes(`{"a":  ${i}, "b" :[1,2]}`),
  }));
}

/** A Parquet file of `rows` (physical values) under SCHEMA, pages compressed with `codec`, 5 rows a group. */
async function writeFixture(path: string, rows: Record<string, unknown>[], codec: CompressionCodec): Promise<void> {
  const writer = new ParquetWriter({
    writer: fileWriter(path),
    schema: physicalSchema(SCHEMA),
    codec,
    statistics: false,
    compressors: {
      GZIP: (input: Uint8Array) => new Uint8Array(gzipSync(input)),
      BROTLI: (input: Uint8Array) => new Uint8Array(brotliCompressSync(input)),
    },
    kvMetadata: [{ key: 'origin', value: 'infoprune test' }],
  });
  await writer.write({
    columnData: COLUMNS.map((name) => ({ name, data: rows.map((row) => row[name] ?? null) })),
    rowGroupSize: 5,
  });
  writer.schema = SCHEMA;
  await writer.finish();
}

async function readStored(path: string) {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const rows = await readStoredRows(file, metadata, 0, Number(metadata.num_rows), compressors);
  return { metadata, rows };
}

describe('prune keeps Parquet rows bit for bit (item 1)', () => {
  for (const codec of ['SNAPPY', 'UNCOMPRESSED', 'GZIP', 'BROTLI'] as const) {
    it(`every column type, ${codec} input`, async () => {
      const input = join(folder, `corpus-${codec}.parquet`);
      await writeFixture(input, storedRows(), codec);
      const before = await readStored(input);
      const out = join(folder, `pruned-${codec}`);
      const { summary } = await pruneCorpus({ inputs: [input], out, metric: 'zlib-ratio', keepRatio: 0.5 });
      expect(summary.counts).toMatchObject({ documents: 12, kept: 6 });
      const pruned = new Set(
        readFileSync(join(out, 'pruned.jsonl'), 'utf8')
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line).id),
      );
      const expected = before.rows.filter((row) => !pruned.has(Buffer.from(row.id as Uint8Array).toString()));
      const after = await readStored(join(out, summary.outputs.kept[0]));
      expect(after.rows).toHaveLength(6);
      after.rows.forEach((row, i) => {
        for (const column of COLUMNS) {
          expect({ column, value: row[column] }).toStrictEqual({ column, value: expected[i][column] });
        }
        expect(Object.is(row.f64, expected[i].f64)).toBe(true); // -0 stays -0
      });
      expect(after.metadata.schema).toEqual(before.metadata.schema);
      expect(after.metadata.key_value_metadata).toEqual([{ key: 'origin', value: 'infoprune test' }]);
    });
  }

  it('refuses, by name, a column it cannot write back exactly', () => {
    expect(uncopyableColumn(SCHEMA)).toBeUndefined();
    const legacy: SchemaElement[] = [
      { name: 'root', num_children: 2 },
      { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'when', type: 'INT96', repetition_type: 'OPTIONAL' },
    ];
    expect(uncopyableColumn(legacy)).toMatchObject({ column: 'when', why: expect.stringMatching(/INT96/) });
  });
});
