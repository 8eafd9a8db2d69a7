/**
 * Writing the kept corpus in its input's format, record by record in input order:
 * - JSONL and text-per-line: each kept record's exact bytes (`CorpusRecord.raw`) and a newline (`\n`; the reader's
 *   raw bytes exclude the line end, so a CRLF file's kept lines end in LF);
 * - plain text, one document per file: the file's bytes, unchanged;
 * - Parquet: the kept rows (`CorpusRecord.row`, as stored: src/corpus/parquet-rows.ts) under the input file's own
 *   schema and key-value metadata, Snappy-compressed, in row groups of 10,000 rows: every value bit for bit, nested
 *   columns included. Once written, the file is read back and compared column by column with what was meant; a
 *   column that cannot be copied exactly (INT96, VARIANT, or any that does not come back equal) is refused by name.
 * Gzip inputs are written gzip-compressed (one gzip member per MiB, which every gzip reader accepts); zstd inputs are
 * written uncompressed, without the `.zst` suffix (Node 20 has no zstd encoder).
 * Each input file gets its kept file under `kept/`, at its path relative to the folder all inputs share, even when
 * nothing of it is kept (an empty file: downstream sees every shard).
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { asyncBufferFromFile, parquetMetadataAsync, parquetSchema, type SchemaElement } from 'hyparquet';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import { describeFileName, type InputFormat } from '../corpus/inputs.js';
import { ColumnDigests, physicalSchema, storedDigests, uncopyableColumn } from '../corpus/parquet-rows.js';
import type { CorpusRecord } from '../corpus/read.js';
import { InfopruneError } from '../errors.js';

const FLUSH_BYTES = 1 << 20;

/** Appends to a file through a 1 MiB buffer, with synchronous writes (one writer at a time, no backpressure games). */
export class BufferedFileWriter {
  private fd: number;
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    readonly path: string,
    { append = false, gzip = false }: { append?: boolean; gzip?: boolean } = {},
  ) {
    this.fd = openSync(path, append ? 'a' : 'w');
    this.gzip = gzip;
  }

  private readonly gzip: boolean;

  write(data: Buffer | string): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.chunks.push(bytes);
    this.size += bytes.length;
    if (this.size >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.size === 0) return;
    let data = Buffer.concat(this.chunks, this.size);
    if (this.gzip) data = gzipSync(data);
    let written = 0;
    while (written < data.length) written += writeSync(this.fd, data, written, data.length - written);
    this.chunks = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
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

export class KeptCorpusWriter {
  private readonly base: string;
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
  ) {
    this.base = commonFolder(sources);
  }

  /** Output path of a source's kept file, relative to the output folder. */
  keptPathFor(source: string): string {
    const inside = relative(this.base, resolve(source)).split(sep).join('/');
    return `kept/${describeFileName(source).compression === 'zstd' ? inside.replace(/\.(zst|zstd)$/i, '') : inside}`;
  }

  async add(record: CorpusRecord): Promise<void> {
    const target = await this.targetFor(record.source);
    if (target.format === 'parquet') {
      if (record.row === undefined)
        throw new Error(`Record ${record.id} of Parquet file ${record.source} has no row to write`);
      const parquet = target.parquet!;
      parquet.rows.push(record.row);
      parquet.written.add(record.row);
      if (parquet.rows.length >= PARQUET_ROW_GROUP) await this.flushParquet(parquet);
      return;
    }
    if (record.raw === undefined) throw new Error(`Record ${record.id} of ${record.source} has no raw bytes to write`);
    target.lines!.write(record.raw);
    if (target.format === 'lines') target.lines!.write('\n');
  }

  private async targetFor(source: string): Promise<OpenTarget> {
    if (this.current?.source === source) return this.current;
    await this.closeCurrent();
    const format = keptFormatOf(source, this.textMode, this.forcedFormat);
    const relativePath = this.keptPathFor(source);
    const path = join(this.outFolder, relativePath);
    const reopened = this.opened.has(source);
    if (!reopened) {
      this.opened.add(source);
      this.files.push(relativePath);
    }
    mkdirSync(dirname(path), { recursive: true });
    if (format === 'parquet') {
      if (this.closedParquet.has(source)) {
        throw new Error(
          `Records of ${source} come interleaved with other files'; a Parquet file cannot be appended to`,
        );
      }
      this.current = { source, format, parquet: await openParquet(source, path) };
    } else {
      const gzip = describeFileName(source).compression === 'gzip';
      this.current = { source, format, lines: new BufferedFileWriter(path, { append: reopened, gzip }) };
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

async function openParquet(source: string, path: string): Promise<ParquetTarget> {
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(source));
  const uncopyable = uncopyableColumn(metadata.schema);
  if (uncopyable) throw notCopyable(source, uncopyable.column, uncopyable.why);
  const columns = parquetSchema(metadata).children.map((child) => child.element.name);
  // Encoded under the physical schema (values as stored, no conversion); the metadata says the input's schema.
  // Statistics are left out: computed on physical values, the min and max of an unsigned column would be wrong.
  const writer = new ParquetWriter({
    writer: fileWriter(path),
    schema: physicalSchema(metadata.schema),
    codec: 'SNAPPY',
    statistics: false,
    kvMetadata: metadata.key_value_metadata,
  });
  return { writer, source, path, schema: metadata.schema, columns, rows: [], written: new ColumnDigests(columns) };
}

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
    `${source}: column ${JSON.stringify(column)} cannot be copied exactly into the kept corpus (${why}); prune would change its values, so it refuses`,
  );
}
