/**
 * Writing corpus records back out in their input's format, record by record in input order: prune's kept corpus and
 * score's annotated corpus (each record with its scores under one key).
 * - JSONL and text-per-line: each record's exact bytes (`CorpusRecord.raw`) and a newline (`\n`; the reader's raw
 *   bytes exclude the line end, so a CRLF file's lines end in LF); annotated, the key and its value are spliced in
 *   before the object's closing brace (src/corpus/annotate-json.ts), every other byte unchanged;
 * - plain text, one document per file: the file's bytes, unchanged;
 * - Parquet: the rows (`CorpusRecord.row`, as stored: src/corpus/parquet-rows.ts) under the input file's own schema
 *   and key-value metadata (annotated: plus a JSON column), Snappy-compressed, in row groups of 10,000 rows: every
 *   value bit for bit, nested columns included. Once written, the file is read back and compared column by column
 *   with what was meant; a column that cannot be copied exactly (INT96, VARIANT, or any that does not come back
 *   equal) is refused by name.
 * Compression follows the output's name: `.gz` is written gzip-compressed (one gzip member per MiB, which every gzip
 * reader accepts); `.zst` as zstd frames (one per MiB, each with its checksum), compressed where Node has a zstd
 * encoder (22.15 and later) and stored in raw blocks before that (Node 20 has none: valid zstd that any reader
 * accepts, at the size of the data). Prune's kept files drop the `.zst` suffix instead and are written plain.
 * Each input file gets its output file, even when nothing of it is kept (an empty file: downstream sees every shard).
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as zlib from 'node:zlib';
import { asyncBufferFromFile, parquetMetadataAsync, parquetSchema, type SchemaElement } from 'hyparquet';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import { InfopruneError } from '../errors.js';
import { annotateJsonLine } from './annotate-json.js';
import { describeFileName, type InputCompression, type InputFormat } from './inputs.js';
import { ColumnDigests, physicalSchema, storedDigests, uncopyableColumn } from './parquet-rows.js';
import type { CorpusRecord } from './read.js';
import { STDIN_ARGUMENT, spooledStdin } from './stdin.js';
import { Xxh64 } from './xxh64.js';

const FLUSH_BYTES = 1 << 20;

/** Appends to a file through a 1 MiB buffer, with synchronous writes (one writer at a time, no backpressure games). */
export class BufferedFileWriter {
  private fd: number;
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    readonly path: string,
    { append = false, compression = 'none' }: { append?: boolean; compression?: InputCompression } = {},
  ) {
    this.fd = openSync(path, append ? 'a' : 'w');
    this.compression = compression;
  }

  private readonly compression: InputCompression;
  private wroteAny = false;

  write(data: Buffer | string): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.chunks.push(bytes);
    this.size += bytes.length;
    if (this.size >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.size === 0) return;
    let data: Buffer = Buffer.concat(this.chunks, this.size);
    if (this.compression === 'gzip') data = zlib.gzipSync(data);
    else if (this.compression === 'zstd') data = zstdFrame(data);
    this.writeOut(data);
    this.chunks = [];
    this.size = 0;
  }

  private writeOut(data: Buffer): void {
    this.wroteAny = true;
    let written = 0;
    while (written < data.length) written += writeSync(this.fd, data, written, data.length - written);
  }

  close(): void {
    this.flush();
    // An empty zstd file is one empty frame, which every reader takes for no data.
    if (!this.wroteAny && this.compression === 'zstd') this.writeOut(zstdFrame(Buffer.alloc(0)));
    closeSync(this.fd);
  }
}

/** Node's zstd encoder, where it has one (22.15 and later). */
const zstdCompressSync = (zlib as unknown as { zstdCompressSync?: (data: Buffer) => Buffer }).zstdCompressSync;

/** Raw blocks hold at most 128 KiB each. */
const ZSTD_BLOCK_BYTES = 128 * 1024;

/**
 * One zstd frame holding `data`: Node's encoder when there is one; else a single-segment frame of raw (stored) blocks
 * with its content size and XXH64 checksum (RFC 8878 §3.1.1): valid zstd, at the size of the data.
 */
export function zstdFrame(data: Buffer): Buffer {
  if (zstdCompressSync) return zstdCompressSync(data);
  const blocks = Math.max(1, Math.ceil(data.length / ZSTD_BLOCK_BYTES));
  const frame = Buffer.alloc(4 + 1 + 8 + 3 * blocks + data.length + 4);
  frame.writeUInt32LE(0xfd2fb528, 0);
  frame[4] = 0xe4; // frame header: 8-byte content size, single segment, content checksum
  frame.writeBigUInt64LE(BigInt(data.length), 5);
  let at = 13;
  for (let block = 0; block < blocks; block++) {
    const start = block * ZSTD_BLOCK_BYTES;
    const size = Math.min(ZSTD_BLOCK_BYTES, data.length - start);
    const header = (size << 3) | (block === blocks - 1 ? 1 : 0); // block type 0: raw
    frame.writeUIntLE(header, at, 3);
    data.copy(frame, at + 3, start, start + size);
    at += 3 + size;
  }
  const hash = new Xxh64();
  hash.update(data);
  frame.writeUInt32LE(Number(hash.digest() & 0xffffffffn), at);
  return frame;
}

type KeptFormat = 'lines' | 'file' | 'parquet';

/** How a source's kept records are written, from its format as the pipeline tells it (or as forced). */
function keptFormatOf(source: string, textMode: 'file' | 'line', forced: InputFormat | undefined): KeptFormat {
  const format = forced ?? describeFileName(source).format ?? 'text';
  if (format === 'parquet') return 'parquet';
  if (format === 'jsonl') return 'lines';
  return textMode === 'line' ? 'lines' : 'file';
}

/** The folder every source lies in (resolved), for kept files' relative paths. */
export function commonFolder(sources: readonly string[]): string {
  if (sources.length === 0) return resolve('.');
  let common = dirname(resolve(sources[0])).split(sep);
  for (const source of sources.slice(1)) {
    const parts = dirname(resolve(source)).split(sep);
    let i = 0;
    while (i < common.length && i < parts.length && common[i] === parts[i]) i++;
    common = common.slice(0, i);
  }
  return common.join(sep) || sep;
}

const PARQUET_ROW_GROUP = 10_000;

interface ParquetTarget {
  writer: ParquetWriter;
  source: string;
  path: string;
  /** The input's schema, annotations and all (the writer encodes under the physical one). */
  schema: SchemaElement[];
  columns: string[];
  rows: Record<string, unknown>[];
  /** What was handed to the writer, for the check of the written file. */
  written: ColumnDigests;
}

interface OpenTarget {
  source: string;
  format: KeptFormat;
  lines?: BufferedFileWriter;
  parquet?: ParquetTarget;
}

export interface CorpusWriterOptions {
  /** Each source's output file, relative to the output folder (default: `keptPathFor`). */
  pathFor?: (source: string) => string;
  /** Annotating: the key (JSONL) or column (Parquet) each record's annotation goes under. */
  annotationKey?: string;
}

export class KeptCorpusWriter {
  private readonly base: string;
  private readonly openedPaths = new Set<string>();
  private current: OpenTarget | null = null;
  private readonly opened = new Set<string>();
  private readonly closedParquet = new Set<string>();
  /** Kept files written, relative to the output folder. */
  readonly files: string[] = [];

  constructor(
    private readonly outFolder: string,
    private readonly sources: readonly string[],
    private readonly textMode: 'file' | 'line',
    private readonly forcedFormat?: InputFormat,
    private readonly options: CorpusWriterOptions = {},
  ) {
    this.base = commonFolder(sources.filter((source) => source !== STDIN_ARGUMENT));
  }

  /** Output path of a source's kept file, relative to the output folder. */
  keptPathFor(source: string): string {
    const inside = relative(this.base, resolve(source)).split(sep).join('/');
    return `kept/${describeFileName(source).compression === 'zstd' ? inside.replace(/\.(zst|zstd)$/i, '') : inside}`;
  }

  /** One record, as it was read; annotated with `annotation` (JSON text) under the annotation key when given. */
  async add(record: CorpusRecord, annotation?: string): Promise<void> {
    const target = await this.targetFor(record.source);
    const key = this.options.annotationKey;
    if (target.format === 'parquet') {
      if (record.row === undefined)
        throw new Error(`Record ${record.id} of Parquet file ${record.source} has no row to write`);
      const parquet = target.parquet!;
      // An annotation is stored as its JSON text's bytes (the column is written under its physical type).
      const row =
        key === undefined ? record.row : { ...record.row, [key]: annotation === undefined ? null : utf8(annotation) };
      parquet.rows.push(row);
      parquet.written.add(row);
      if (parquet.rows.length >= PARQUET_ROW_GROUP) await this.flushParquet(parquet);
      return;
    }
    if (record.raw === undefined) throw new Error(`Record ${record.id} of ${record.source} has no raw bytes to write`);
    const plain = key === undefined || annotation === undefined;
    target.lines!.write(plain ? record.raw : annotateJsonLine(record.raw, key, annotation));
    if (target.format === 'lines') target.lines!.write('\n');
  }

  private async targetFor(source: string): Promise<OpenTarget> {
    if (this.current?.source === source) return this.current;
    await this.closeCurrent();
    const format = keptFormatOf(source, this.textMode, this.forcedFormat);
    const relativePath = (this.options.pathFor ?? ((name: string) => this.keptPathFor(name)))(source);
    const path = join(this.outFolder, relativePath);
    // Appended to when its records come again after another file's, or when several sources share one output.
    const reopened = this.openedPaths.has(path);
    this.opened.add(source);
    if (!reopened) {
      this.openedPaths.add(path);
      this.files.push(relativePath);
    }
    mkdirSync(dirname(path), { recursive: true });
    if (format === 'parquet') {
      if (this.closedParquet.has(source)) {
        throw new Error(
          `Records of ${source} come interleaved with other files'; a Parquet file cannot be appended to`,
        );
      }
      if (reopened) throw new Error(`${relativePath}: one Parquet output cannot take the rows of several files`);
      this.current = { source, format, parquet: await openParquet(source, path, this.options.annotationKey) };
    } else {
      const { compression } = describeFileName(path);
      this.current = { source, format, lines: new BufferedFileWriter(path, { append: reopened, compression }) };
    }
    return this.current;
  }

  private async flushParquet(target: ParquetTarget): Promise<void> {
    if (target.rows.length === 0) return;
    const columnData = target.columns.map((name) => ({ name, data: target.rows.map((row) => row[name] ?? null) }));
    await target.writer.write({ columnData, rowGroupSize: PARQUET_ROW_GROUP });
    target.rows = [];
  }

  private async closeCurrent(): Promise<void> {
    const target = this.current;
    if (target === null) return;
    this.current = null;
    if (target.parquet !== undefined) {
      await this.flushParquet(target.parquet);
      await finishParquet(target.parquet);
      this.closedParquet.add(target.source);
    }
    target.lines?.close();
  }

  /** Closes the open file and writes an empty kept file for every source nothing was kept from. */
  async close(): Promise<void> {
    await this.closeCurrent();
    for (const source of this.sources) {
      if (this.opened.has(source)) continue;
      await this.targetFor(source);
      await this.closeCurrent();
    }
    this.files.sort();
  }
}

async function openParquet(source: string, path: string, annotationKey?: string): Promise<ParquetTarget> {
  const file = source === STDIN_ARGUMENT ? (spooledStdin()?.path ?? source) : source;
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(file));
  const uncopyable = uncopyableColumn(metadata.schema);
  if (uncopyable) throw notCopyable(source, uncopyable.column, uncopyable.why);
  const schema = [...metadata.schema];
  const columns = parquetSchema(metadata).children.map((child) => child.element.name);
  if (annotationKey !== undefined && !columns.includes(annotationKey)) {
    // The annotation as one JSON text column (Parquet's JSON logical type), after the file's own columns.
    schema[0] = { ...schema[0], num_children: (schema[0].num_children ?? 0) + 1 };
    schema.push({ name: annotationKey, type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL', converted_type: 'JSON' });
    columns.push(annotationKey);
  }
  // Encoded under the physical schema (values as stored, no conversion); the metadata says the input's schema.
  // Statistics are left out: computed on physical values, the min and max of an unsigned column would be wrong.
  const writer = new ParquetWriter({
    writer: fileWriter(path),
    schema: physicalSchema(schema),
    codec: 'SNAPPY',
    statistics: false,
    kvMetadata: metadata.key_value_metadata,
  });
  return { writer, source, path, schema, columns, rows: [], written: new ColumnDigests(columns) };
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The file's footer under the input's schema, then the file read back: every column as it was meant, or refused. */
async function finishParquet(target: ParquetTarget): Promise<void> {
  target.writer.schema = target.schema;
  await target.writer.finish();
  const column = target.written.differingColumn(await storedDigests(target.path, target.columns));
  if (column !== undefined) throw notCopyable(target.source, column, 'its values did not read back equal once written');
}

function notCopyable(source: string, column: string, why: string): InfopruneError {
  return new InfopruneError(
    'INPUT_UNSUPPORTED',
    `${source}: column ${JSON.stringify(column)} cannot be copied exactly into the output (${why}); infoprune would change its values, so it refuses`,
  );
}
