/**
 * Reading input files into "units", one per document position (a JSONL line, a text line or file, a Parquet row),
 * without parsing them: `score` parses and tokenizes them in its worker pool, `readCorpus` on the calling thread. Streams files with
 * bounded memory (a document longer than `maxDocumentBytes` is counted and reported, never held), decompresses gzip
 * and zstd and hands on only records whose gzip member or zstd frame passed its CRC or checksum (src/corpus/
 * decompress.ts and integrity.ts: the records before damage are read, the damage is reported with its byte offset),
 * and can start at a resume position.
 */
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { type ByteSource, type DecodedPiece, decodeFile, describeError } from './decompress.js';
import type { InputFile } from './inputs.js';
import { type Damage, IntegrityCheck } from './integrity.js';
import { readStoredRows } from './parquet-rows.js';
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

/** A Parquet row's text and id cells (and, when asked for, the whole row as stored). */
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
  /** Parquet: also return every row as stored (parquet-rows.ts), for writing kept rows back out exactly. */
  parquetRows?: boolean;
  /** Documents longer than this many bytes are reported as failed, not read into memory. */
  maxDocumentBytes: number;
  shard?: ShardSpec;
  from?: ReadPosition;
  signal?: AbortSignal;
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

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

/** A damaged or truncated compressed file: the records from `line` on are not read. */
function damageFailure(
  input: InputFile,
  index: number,
  line: number,
  damage: Pick<Damage, 'reason' | 'truncated'>,
): FailedUnit {
  const before =
    line <= 1 ? '' : damage.truncated ? ' (those before it were read)' : ' (those before it were verified intact)';
  return fileFailure(input, index, line, `${damage.reason}; the records from line ${line} on are not read${before}`);
}

/** Bytes after the last gzip member or zstd frame: ignored, as `gzip -d` does, and reported. */
function trailingFailure(
  input: InputFile,
  index: number,
  line: number,
  piece: { offset: number; length: number },
): FailedUnit {
  const what = input.compression === 'gzip' ? 'gzip member' : 'zstd frame';
  return fileFailure(
    input,
    index,
    line,
    `trailing data: ${piece.length} bytes at byte ${piece.offset}, after the last ${what}, are not ${input.compression} data and were ignored (every record before them was read)`,
  );
}

/**
 * JSONL and text-per-line files: one unit per non-blank line. Lines are split on LF; a CR before it and a UTF-8 BOM
 * at the start of the file are dropped. A line longer than `maxDocumentBytes` is skipped over while being counted.
 * A compressed file's lines are handed on once the integrity check has verified them.
 */
async function* readLineUnits(
  input: InputFile,
  index: number,
  start: ReadPosition,
  options: ReadUnitsOptions,
): AsyncGenerator<Unit> {
  const seekable = input.compression === 'none';
  const check = seekable ? undefined : IntegrityCheck.start(input);
  let source: ByteSource | undefined;
  const pieces = decodeFile(input, seekable ? start.offset : 0, (opened) => {
    source = opened;
  });
  const lines = new LineSplitter(index, start, seekable, () => source?.offset ?? 0, options.maxDocumentBytes);
  let trailing: DecodedPiece | undefined;
  try {
    for await (const piece of pieces) {
      options.signal?.throwIfAborted();
      if (piece.kind === 'damaged') {
        yield damageFailure(input, index, lines.line + 1, piece);
        return;
      }
      if (piece.kind === 'trailing') trailing = piece;
      if (piece.kind !== 'data') continue;
      for (const unit of lines.push(piece.data)) {
        if (check && !(await check.reach(unit.next.offset))) {
          yield damageFailure(input, index, unit.line, check.damage ?? { reason: 'damaged data' });
          return;
        }
        yield unit;
      }
    }
  } catch (error) {
    options.signal?.throwIfAborted();
    const after = lines.line > 0 ? ` (after line ${lines.line})` : '';
    yield fileFailure(input, index, lines.line + 1, `cannot read: ${describeError(error)}${after}`);
    return;
  } finally {
    check?.stop();
    await pieces.return(undefined);
  }
  const last = lines.finish();
  if (last) yield last;
  if (trailing?.kind === 'trailing') yield trailingFailure(input, index, lines.line + 1, trailing);
}

/** Cuts a file's bytes, chunk by chunk, into line units, counting lines and bytes for resume positions. */
class LineSplitter {
  /** Lines completed. */
  line: number;
  /** Decompressed bytes consumed, up to the end of the current line. */
  private offset: number;
  /** Lines already done (compressed files are re-read from the start). */
  private readonly skipThrough: number;
  /** The current line's bytes so far. */
  private pieces: Buffer[] = [];
  private pieceBytes = 0;
  private tooLong = false;

  constructor(
    private readonly index: number,
    start: ReadPosition,
    private readonly seekable: boolean,
    /** Bytes of the file as stored consumed so far (progress). */
    private readonly storedBytes: () => number,
    private readonly limit: number,
  ) {
    this.offset = seekable ? start.offset : 0;
    this.line = seekable ? start.units : 0;
    this.skipThrough = start.units;
  }

  /** The units of the lines this chunk completes. */
  *push(chunk: Buffer): Generator<Unit> {
    let from = 0;
    while (from < chunk.length) {
      const newline = chunk.indexOf(0x0a, from);
      const end = newline < 0 ? chunk.length : newline;
      const length = end - from;
      if (!this.tooLong) {
        if (this.pieceBytes + length > this.limit) {
          this.tooLong = true;
          this.pieces = [];
        } else if (length > 0) this.pieces.push(chunk.subarray(from, end));
      }
      this.pieceBytes += length;
      if (newline < 0) break;
      const unit = this.endLine(1);
      from = newline + 1;
      if (unit) yield unit;
    }
  }

  /** The last line, when the file does not end with a newline. */
  finish(): Unit | undefined {
    return this.pieceBytes > 0 || this.tooLong ? this.endLine(0) : undefined;
  }

  private endLine(newlineBytes: number): Unit | undefined {
    const atFileStart = this.offset === 0;
    this.offset += this.pieceBytes + newlineBytes;
    const data =
      this.pieces.length === 1 ? this.pieces[0] : Buffer.concat(this.pieces, this.tooLong ? 0 : this.pieceBytes);
    const unit = this.lineUnit(data, atFileStart);
    this.pieces = [];
    this.pieceBytes = 0;
    this.tooLong = false;
    return unit;
  }

  private lineUnit(data: Buffer, atFileStart: boolean): Unit | undefined {
    const line = ++this.line;
    if (line <= this.skipThrough) return undefined;
    const next = { input: this.index, units: line, offset: this.offset };
    const base = { input: this.index, line, next, inputBytes: this.seekable ? this.offset : this.storedBytes() };
    if (this.tooLong) {
      const reason = `document too large: ${this.pieceBytes} bytes, more than maxDocumentBytes ${this.limit}`;
      return { kind: 'failed', ...base, document: true, reason };
    }
    let begin = 0;
    let end = data.length;
    if (atFileStart && end >= 3 && data[0] === UTF8_BOM[0] && data[1] === UTF8_BOM[1] && data[2] === UTF8_BOM[2]) {
      begin = 3;
    }
    if (end > begin && data[end - 1] === 0x0d) end--;
    for (let i = begin; i < end; i++) {
      const c = data[i];
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return { kind: 'bytes', ...base, data: data.subarray(begin, end) };
    }
    return undefined; // a blank line
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
  let trailing: DecodedPiece | undefined;
  try {
    for await (const piece of decodeFile(input, 0)) {
      options.signal?.throwIfAborted();
      if (piece.kind === 'damaged') {
        yield fileFailure(input, index, 0, `${piece.reason}; the document is not read`);
        return;
      }
      if (piece.kind === 'trailing') trailing = piece;
      if (piece.kind !== 'data') continue;
      total += piece.data.length;
      if (total > limit) {
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
      pieces.push(piece.data);
    }
  } catch (error) {
    options.signal?.throwIfAborted();
    yield fileFailure(input, index, 0, `cannot read: ${describeError(error)}`);
    return;
  }
  let data = Buffer.concat(pieces, total);
  if (data.length >= 3 && data[0] === UTF8_BOM[0] && data[1] === UTF8_BOM[1] && data[2] === UTF8_BOM[2])
    data = data.subarray(3);
  yield { kind: 'bytes', input: index, line: 0, next: { ...next, offset: total }, inputBytes: input.sizeBytes, data };
  if (trailing?.kind === 'trailing') yield trailingFailure(input, index, 0, trailing);
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
  const { parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const opened = await openParquet(input, index, options);
  if ('failure' in opened) {
    yield opened.failure;
    return;
  }
  const { file, metadata, columns, wanted } = opened;
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
    let stored: Record<string, unknown>[] | undefined;
    try {
      rows = await parquetReadObjects({ file, metadata, columns: wanted, rowStart, rowEnd, compressors });
      // Whole rows (to write kept rows back out) as stored, never converted: see parquet-rows.ts.
      if (options.parquetRows) stored = await readStoredRows(file, metadata, rowStart, rowEnd, compressors);
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
        ...(stored ? { row: stored[r] } : {}),
      };
    }
    rowStart = rowEnd;
  }
}

interface OpenParquet {
  file: AsyncBuffer;
  metadata: FileMetaData;
  columns: string[];
  /** The columns to decode for the text and id (whole rows are read as stored, apart). */
  wanted: string[];
}

/** A Parquet file's metadata and the columns to read, or the failure of the file as a whole. */
async function openParquet(
  input: InputFile,
  index: number,
  options: ReadUnitsOptions,
): Promise<{ failure: FailedUnit } | OpenParquet> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetSchema } = await import('hyparquet');
  let metadata: FileMetaData;
  let file: AsyncBuffer;
  let columns: string[];
  try {
    file = await asyncBufferFromFile(input.path ?? input.source);
    metadata = await parquetMetadataAsync(file);
    columns = parquetSchema(metadata).children.map((child) => child.element.name);
  } catch (error) {
    return { failure: fileFailure(input, index, 0, `corrupt or unreadable Parquet file: ${describeError(error)}`) };
  }
  const { textField, idField } = options;
  if (!columns.includes(textField)) {
    const reason = `no column ${JSON.stringify(textField)} (columns: ${columns.join(', ')})`;
    return { failure: fileFailure(input, index, 0, reason) };
  }
  const idColumn = columns.includes(idField) && idField !== textField ? [idField] : [];
  return { file, metadata, columns, wanted: [textField, ...idColumn] };
}
