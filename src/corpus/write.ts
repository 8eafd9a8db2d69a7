/**
 * Writing the kept corpus in its input's format, record by record in input order:
 * - JSONL and text-per-line: each kept record's exact bytes (`CorpusRecord.raw`) and a newline (`\n`; the reader's
 *   raw bytes exclude the line end, so a CRLF file's kept lines end in LF);
 * - plain text, one document per file: the file's bytes, unchanged;
 * - Parquet: the kept rows (`CorpusRecord.row`) under the input file's own schema, Snappy-compressed, in row groups
 *   of 10,000 rows (values as hyparquet reads them, so every cell round-trips; flat schemas).
 * Gzip inputs are written gzip-compressed (one gzip member per MiB, which every gzip reader accepts); zstd inputs are
 * written uncompressed, without the `.zst` suffix (Node 20 has no zstd encoder).
 * Each input file gets its kept file under `kept/`, at its path relative to the folder all inputs share, even when
 * nothing of it is kept (an empty file: downstream sees every shard).
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { asyncBufferFromFile, parquetMetadataAsync, type SchemaElement } from 'hyparquet';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import { describeFileName, type InputFormat } from '../corpus/inputs.js';
import type { CorpusRecord } from '../corpus/read.js';

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
  columns: { name: string; element: SchemaElement }[];
  rows: Record<string, unknown>[];
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
    const columnData = target.columns.map(({ name }) => ({ name, data: target.rows.map((row) => row[name] ?? null) }));
    await target.writer.write({ columnData, rowGroupSize: PARQUET_ROW_GROUP });
    target.rows = [];
  }

  private async closeCurrent(): Promise<void> {
    const target = this.current;
    if (target === null) return;
    this.current = null;
    if (target.parquet !== undefined) {
      await this.flushParquet(target.parquet);
      await target.parquet.writer.finish();
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
  const schema = metadata.schema;
  const columns: { name: string; element: SchemaElement }[] = [];
  // Top-level columns are the root's children; nested groups are skipped over with their descendants.
  let i = 1;
  while (i < schema.length) {
    const element = schema[i];
    if (element.num_children) {
      throw new Error(`${source}: nested Parquet column ${element.name} is not supported for writing the kept rows`);
    }
    columns.push({ name: element.name, element });
    i++;
  }
  const writer = new ParquetWriter({ writer: fileWriter(path), schema, codec: 'SNAPPY' });
  return { writer, columns, rows: [] };
}
