/**
 * Step 1 of the pipeline: reading input files into "units", one per document position (a JSONL line, a text line or
 * file, a Parquet row), without parsing them: parsing and tokenizing are the worker pool's job. Streams files with
 * bounded memory (a document longer than `maxDocumentBytes` is counted and reported, never held), decompresses gzip
 * and zstd, and can start at a resume position.
 */
import { promises as fs, type ReadStream } from 'node:fs';
import { pipeline, type Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { InputFile } from './inputs.js';
import { inShard, type ShardSpec } from './shard.js';

/** Where reading stands: input index, units (lines, rows) consumed in it, and the byte offset after them. */
export interface ReadPosition {
  input: number;
  /** Lines (JSONL, text lines, counting blank ones), rows (Parquet) or files (whole-file text: 0 or 1) consumed. */
  units: number;
  /** Bytes of the (decompressed) file consumed: where an uncompressed file can be reopened. */
  offset: number;
}

export const START_POSITION: ReadPosition = Object.freeze({ input: 0, units: 0, offset: 0 });

interface UnitBase {
  input: number;
  /** 1-based line (JSONL, text lines), 0-based row (Parquet), 0 (whole-file text). */
  line: number;
  /** The position after this unit: where a resumed run starts once this unit's outcome is saved. */
  next: ReadPosition;
  /** Bytes of the input file (as stored: compressed for compressed files) read up to this unit: progress by bytes. */
  inputBytes: number;
}

/** A JSONL line or a text line or file, as bytes (BOM and line end removed). */
export interface BytesUnit extends UnitBase {
  kind: 'bytes';
  data: Uint8Array;
}

/** A Parquet row's text and id cells (and, when asked for, the whole row). */
export interface CellsUnit extends UnitBase {
  kind: 'cells';
  text: unknown;
  id: unknown;
  row?: Record<string, unknown>;
}

/** A position that could not be read. `document`: it was a document (counted as read and skipped), else a file's fault. */
export interface FailedUnit extends UnitBase {
  kind: 'failed';
  reason: string;
  document: boolean;
}

export type Unit = BytesUnit | CellsUnit | FailedUnit;

export interface ReadUnitsOptions {
  /** Plain text files: one document per file (default) or one per line. */
  textMode?: 'file' | 'line';
  /** Parquet: the columns holding the text and the id (the id column is read when present). */
  textField: string;
  idField: string;
  /** Parquet: also return every row as an object (for writing kept rows back out). */
  parquetRows?: boolean;
  /** Documents longer than this many bytes are reported as failed, not read into memory. */
  maxDocumentBytes: number;
  shard?: ShardSpec;
  from?: ReadPosition;
  signal?: AbortSignal;
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];
const READ_CHUNK_BYTES = 1 << 20;

/** Reads the units of all inputs in order, starting at `from`, leaving out other shards' positions and blank lines. */
export async function* readUnits(inputs: readonly InputFile[], options: ReadUnitsOptions): AsyncGenerator<Unit> {
  const from = options.from ?? START_POSITION;
  for (let index = from.input; index < inputs.length; index++) {
    options.signal?.throwIfAborted();
    const input = inputs[index];
    const start = index === from.input ? from : { input: index, units: 0, offset: 0 };
    let units: AsyncGenerator<Unit>;
    if (input.format === 'parquet') units = readParquetUnits(input, index, start, options);
    else if (input.format === 'text' && (options.textMode ?? 'file') === 'file')
      units = readWholeFileUnit(input, index, start, options);
    else units = readLineUnits(input, index, start, options);
    for await (const unit of units) {
      if (inShard(options.shard, input.key, unit.line)) yield unit;
    }
  }
}

/** A failure of the file as a whole (or of its rest): after it, reading goes on with the next input. */
function fileFailure(input: InputFile, index: number, line: number, reason: string): FailedUnit {
  return {
    kind: 'failed',
    input: index,
    line,
    reason,
    document: false,
    next: { input: index + 1, units: 0, offset: 0 },
    inputBytes: input.sizeBytes,
  };
}

function describeError(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    const message = error instanceof Error ? error.message : String(error);
    return message.startsWith(`${error.code}:`) ? message : `${error.code}: ${message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The file's bytes, decompressed, from `offset` (uncompressed files only; compressed ones always from 0). */
async function openDecompressed(input: InputFile, offset: number): Promise<{ raw: ReadStream; stream: Readable }> {
  // Opening first, so that a missing or unreadable file is one clear error before any stream is set up.
  const handle = await fs.open(input.source, 'r');
  const raw = handle.createReadStream({
    start: input.compression === 'none' ? offset : 0,
    highWaterMark: READ_CHUNK_BYTES,
  });
  if (input.compression === 'none') return { raw, stream: raw };
  const decompressor =
    input.compression === 'gzip' ? createGunzip({ chunkSize: READ_CHUNK_BYTES }) : await createZstdDecompressor();
  const stream = pipeline(raw, decompressor, () => {
    // Errors surface through the decompressor, where the reader iterates.
  });
  return { raw, stream };
}

/** zstd through fzstd (pure JS: Node 20's zlib has no zstd), as a Transform stream. */
async function createZstdDecompressor(): Promise<Transform> {
  const { Decompress } = await import('fzstd');
  let pending: Uint8Array[] = [];
  const decoder = new Decompress((data) => {
    pending.push(data);
  });
  const flushTo = (stream: Transform): void => {
    for (const data of pending) stream.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    pending = [];
  };
  let sawInput = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        sawInput = true;
        decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        flushTo(this);
        callback();
      } catch (error) {
        callback(new Error(`corrupt zstd stream: ${describeError(error)}`));
      }
    },
    flush(callback) {
      try {
        // fzstd throws on a stream that ends inside a frame: that is how truncation is detected.
        if (sawInput) decoder.push(new Uint8Array(0), true);
        flushTo(this);
        callback();
      } catch (error) {
        callback(new Error(`truncated or corrupt zstd stream: ${describeError(error)}`));
      }
    },
  });
}

/**
 * JSONL and text-per-line files: one unit per non-blank line. Lines are split on LF; a CR before it and a UTF-8 BOM
 * at the start of the file are dropped. A line longer than `maxDocumentBytes` is skipped over while being counted.
 */
async function* readLineUnits(
  input: InputFile,
  index: number,
  start: ReadPosition,
  options: ReadUnitsOptions,
): AsyncGenerator<Unit> {
  const limit = options.maxDocumentBytes;
  const seekable = input.compression === 'none';
  let offset = seekable ? start.offset : 0; // decompressed bytes consumed, up to the end of the current line
  let line = seekable ? start.units : 0; // lines completed
  const skipThrough = start.units; // lines already done (compressed files are re-read from the start)
  let opened: { raw: ReadStream; stream: Readable };
  try {
    opened = await openDecompressed(input, offset);
  } catch (error) {
    yield fileFailure(input, index, 0, `cannot read: ${describeError(error)}`);
    return;
  }
  const { raw, stream } = opened;
  let pieces: Buffer[] = []; // the current line's bytes so far
  let pieceBytes = 0;
  let tooLong = false;
  const lineUnit = (data: Buffer, atFileStart: boolean): Unit | undefined => {
    line++;
    if (line <= skipThrough) return undefined;
    const next = { input: index, units: line, offset };
    const inputBytes = seekable ? offset : raw.bytesRead;
    if (tooLong) {
      return {
        kind: 'failed',
        input: index,
        line,
        next,
        inputBytes,
        document: true,
        reason: `document too large: ${pieceBytes} bytes, more than maxDocumentBytes ${limit}`,
      };
    }
    let begin = 0;
    let end = data.length;
    if (atFileStart && end >= 3 && data[0] === UTF8_BOM[0] && data[1] === UTF8_BOM[1] && data[2] === UTF8_BOM[2])
      begin = 3;
    if (end > begin && data[end - 1] === 0x0d) end--;
    let blank = true;
    for (let i = begin; i < end; i++) {
      const c = data[i];
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d) {
        blank = false;
        break;
      }
    }
    if (blank) return undefined;
    return { kind: 'bytes', input: index, line, next, inputBytes, data: data.subarray(begin, end) };
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      options.signal?.throwIfAborted();
      let from = 0;
      while (from < chunk.length) {
        const newline = chunk.indexOf(0x0a, from);
        const end = newline < 0 ? chunk.length : newline;
        const length = end - from;
        if (!tooLong) {
          if (pieceBytes + length > limit) {
            tooLong = true;
            pieces = [];
          } else if (length > 0) pieces.push(chunk.subarray(from, end));
        }
        pieceBytes += length;
        if (newline < 0) break;
        const atFileStart = offset === 0;
        offset += pieceBytes + 1;
        const data = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, tooLong ? 0 : pieceBytes);
        const unit = lineUnit(data, atFileStart);
        pieces = [];
        pieceBytes = 0;
        tooLong = false;
        from = newline + 1;
        if (unit) yield unit;
      }
    }
  } catch (error) {
    options.signal?.throwIfAborted();
    raw.destroy();
    const what =
      input.compression === 'none'
        ? 'read error'
        : `truncated or corrupt ${input.compression === 'gzip' ? 'gzip' : 'zstd'} data`;
    yield fileFailure(
      input,
      index,
      line + 1,
      `${what}: ${describeError(error)}${line > 0 ? ` (after line ${line})` : ''}`,
    );
    return;
  }
  if (pieceBytes > 0 || tooLong) {
    // The last line has no newline.
    const atFileStart = offset === 0;
    offset += pieceBytes;
    const unit = lineUnit(
      pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, tooLong ? 0 : pieceBytes),
      atFileStart,
    );
    if (unit) yield unit;
  }
}

/** Plain text, one document per file: the file's bytes (BOM dropped) as one unit at line 0. */
async function* readWholeFileUnit(
  input: InputFile,
  index: number,
  start: ReadPosition,
  options: ReadUnitsOptions,
): AsyncGenerator<Unit> {
  if (start.units > 0) return;
  const next = { input: index, units: 1, offset: 0 };
  const limit = options.maxDocumentBytes;
  if (input.compression === 'none' && input.sizeBytes > limit) {
    yield {
      kind: 'failed',
      input: index,
      line: 0,
      next,
      inputBytes: input.sizeBytes,
      document: true,
      reason: `document too large: ${input.sizeBytes} bytes, more than maxDocumentBytes ${limit}`,
    };
    return;
  }
  const pieces: Buffer[] = [];
  let total = 0;
  try {
    const { raw, stream } = await openDecompressed(input, 0);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      options.signal?.throwIfAborted();
      total += chunk.length;
      if (total > limit) {
        raw.destroy();
        yield {
          kind: 'failed',
          input: index,
          line: 0,
          next,
          inputBytes: input.sizeBytes,
          document: true,
          reason: `document too large: more than maxDocumentBytes ${limit} bytes`,
        };
        return;
      }
      pieces.push(chunk);
    }
  } catch (error) {
    options.signal?.throwIfAborted();
    yield fileFailure(
      input,
      index,
      0,
      `${input.compression === 'none' ? 'cannot read' : `truncated or corrupt ${input.compression} data`}: ${describeError(error)}`,
    );
    return;
  }
  let data = Buffer.concat(pieces, total);
  if (data.length >= 3 && data[0] === UTF8_BOM[0] && data[1] === UTF8_BOM[1] && data[2] === UTF8_BOM[2])
    data = data.subarray(3);
  yield { kind: 'bytes', input: index, line: 0, next: { ...next, offset: total }, inputBytes: input.sizeBytes, data };
}

/**
 * Parquet: row group by row group (what hyparquet decodes at once), reading only the text and id columns unless the
 * whole rows are asked for. Memory is one row group's columns: Hugging Face's shards hold 100-1000 MB groups at most.
 */
async function* readParquetUnits(
  input: InputFile,
  index: number,
  start: ReadPosition,
  options: ReadUnitsOptions,
): AsyncGenerator<Unit> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  let file: Awaited<ReturnType<typeof asyncBufferFromFile>>;
  let columns: string[];
  try {
    file = await asyncBufferFromFile(input.source);
    metadata = await parquetMetadataAsync(file);
    columns = parquetSchema(metadata).children.map((child) => child.element.name);
  } catch (error) {
    yield fileFailure(input, index, 0, `corrupt or unreadable Parquet file: ${describeError(error)}`);
    return;
  }
  if (!columns.includes(options.textField)) {
    yield fileFailure(
      input,
      index,
      0,
      `no column ${JSON.stringify(options.textField)} (columns: ${columns.join(', ')})`,
    );
    return;
  }
  const wanted = options.parquetRows
    ? undefined
    : [
        options.textField,
        ...(columns.includes(options.idField) && options.idField !== options.textField ? [options.idField] : []),
      ];
  let rowStart = 0;
  const groups = metadata.row_groups;
  for (let g = 0; g < groups.length; g++) {
    const rowEnd = rowStart + Number(groups[g].num_rows);
    if (rowEnd <= start.units) {
      rowStart = rowEnd;
      continue;
    }
    options.signal?.throwIfAborted();
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file, metadata, columns: wanted, rowStart, rowEnd, compressors });
    } catch (error) {
      options.signal?.throwIfAborted();
      // A corrupt row group: its rows are lost (one error names them), the following groups are still read.
      const failure = fileFailure(
        input,
        index,
        rowStart,
        `corrupt Parquet row group ${g} (rows ${rowStart} to ${rowEnd - 1}): ${describeError(error)}`,
      );
      failure.next = { input: index, units: rowEnd, offset: 0 };
      yield failure;
      rowStart = rowEnd;
      continue;
    }
    // Progress by the share of the file's rows read so far.
    const inputBytes = Math.round((input.sizeBytes * rowEnd) / Math.max(1, Number(metadata.num_rows)));
    for (let r = Math.max(0, start.units - rowStart); r < rows.length; r++) {
      const row = rows[r];
      const line = rowStart + r;
      yield {
        kind: 'cells',
        input: index,
        line,
        next: { input: index, units: line + 1, offset: 0 },
        inputBytes,
        text: row[options.textField],
        id: columns.includes(options.idField) ? row[options.idField] : undefined,
        ...(options.parquetRows ? { row } : {}),
      };
    }
    rowStart = rowEnd;
  }
}
