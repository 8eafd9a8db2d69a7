/**
 * CONTRACT (implemented by the pipeline issue): reading corpus records from files, folders and globs.
 * Used by `infoprune score` (src/pipeline) and by `infoprune prune` (src/select) so both see the same records,
 * with the same ids, sources and line numbers.
 */
import { type InputFormat, listInputs } from './inputs.js';
import { DEFAULT_MAX_DOCUMENT_BYTES, resolveReadOptions } from './options.js';
import { type ParseOutcome, parseCells, parseJsonLine, parseText, positionId } from './parse.js';
import { readUnits } from './units.js';

export interface CorpusRecord {
  /** The input file, as resolved from the command line. */
  source: string;
  /** 1-based line (JSONL, text-per-line), 0-based row (Parquet), 0 (one document per text file). */
  line: number;
  /** `--id-field` value when present (stringified), else `<source>:<line>`. */
  id: string;
  /** The document text. */
  text: string;
  /** Exact bytes of the record: the JSONL line without its newline (decompressed), or the text file/line. Absent for Parquet. */
  raw?: Buffer;
  /** Parquet only: the row as an object, for writing the kept rows back out. */
  row?: Record<string, unknown>;
}

export interface RecordError {
  source: string;
  line: number;
  reason: string;
}

export interface ReadCorpusOptions {
  /** Field holding the text (JSONL, Parquet). Default `text`. */
  textField?: string;
  /** Field holding the id. Default `id` when present, else `<source>:<line>`. */
  idField?: string;
  /** Plain text files: one document per file (default) or one per line. */
  textMode?: 'file' | 'line';
  /** Called for each record that cannot be read (malformed JSON, missing text, ...); the read goes on. */
  onError?: (error: RecordError) => void;
  signal?: AbortSignal;
}

/** Options beyond the contract's, for callers that need them (all optional, with the same defaults as `score`). */
export interface ReadCorpusExtraOptions {
  /** Force the input format instead of telling it from file names. Default `auto`. */
  format?: InputFormat | 'auto';
  /** Documents longer than this are reported through `onError`, not read. Default 32 MiB. */
  maxDocumentBytes?: number;
  /** Parquet: return each row as an object in `row`. Default true (what writing kept rows back out needs). */
  parquetRows?: boolean;
}

/**
 * The records of the inputs (files, folders, globs), in input order, on the calling thread. Records that are not
 * documents (malformed JSON, missing or empty text, invalid UTF-8, too large, unreadable or truncated files) go to
 * `onError` and the read goes on. Throws only when the inputs cannot be listed (not found, unknown format).
 */
export async function* readCorpus(
  inputs: readonly string[],
  options: ReadCorpusOptions & ReadCorpusExtraOptions = {},
): AsyncGenerator<CorpusRecord> {
  const read = resolveReadOptions(options);
  const files = listInputs(inputs, { format: options.format });
  const units = readUnits(files, {
    textMode: read.textMode,
    textField: read.textField,
    idField: read.idField,
    maxDocumentBytes: options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES,
    parquetRows: options.parquetRows ?? true,
    signal: options.signal,
  });
  for await (const unit of units) {
    const source = files[unit.input].source;
    let parsed: ParseOutcome;
    if (unit.kind === 'failed') parsed = { reason: unit.reason };
    else if (unit.kind === 'cells') parsed = parseCells(unit.text, unit.id, read);
    else if (files[unit.input].format === 'jsonl') parsed = parseJsonLine(unit.data, read);
    else parsed = parseText(unit.data);
    if ('reason' in parsed) {
      options.onError?.({ source, line: unit.line, reason: parsed.reason });
      continue;
    }
    const record: CorpusRecord = {
      source,
      line: unit.line,
      id: parsed.id ?? positionId(source, unit.line),
      text: parsed.text,
    };
    if (unit.kind === 'bytes') record.raw = Buffer.from(unit.data);
    if (unit.kind === 'cells' && unit.row) record.row = unit.row;
    yield record;
  }
}
