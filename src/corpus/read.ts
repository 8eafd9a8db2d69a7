/**
 * `readCorpus`: the records of files, folders and globs, on the calling thread. `infoprune score` (src/pipeline, in
 * worker threads) and `infoprune prune` (src/select, here) read through the same units and parsers, so both see the
 * same records, with the same ids, sources and line numbers.
 */

import { expectString } from '../util/validate.js';
import { listInputs } from './inputs.js';
import { type ReadingOptions, resolveReadingOptions } from './options.js';
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
  /**
   * Parquet only: the row as stored (src/corpus/parquet-rows.ts: physical values, byte arrays as bytes), for writing
   * the kept rows back out exactly; `text`, `id` and `group` are the decoded values.
   */
  row?: Record<string, unknown>;
  /** With `groupField`: the field's value as text (`(missing)` when the record has none). */
  group?: string;
}

export interface RecordError {
  source: string;
  line: number;
  reason: string;
}

export interface ReadCorpusOptions extends ReadingOptions {
  /** Called for each record that cannot be read (malformed JSON, missing text, ...); the read goes on. */
  onError?: (error: RecordError) => void;
  /** Parquet: return each row as an object in `row`. Default true (what writing kept rows back out needs). */
  parquetRows?: boolean;
  /** A field (JSONL) or column (Parquet) whose value groups the records (`group`): a domain, a subset. */
  groupField?: string;
  signal?: AbortSignal;
}

/** A group field's value as a group name: text as it is, numbers and booleans written out, JSON for the rest. */
export function groupName(value: unknown): string {
  if (value === undefined) return '(missing)';
  if (value === null) return '(null)';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return JSON.stringify(value);
}

/**
 * The records of the inputs (files, folders, globs), in input order, on the calling thread. Records that are not
 * documents (malformed JSON, missing or empty text, invalid UTF-8, too large, unreadable, truncated or damaged files,
 * files of folders and globs in formats that are not read) go to `onError` and the read goes on. Throws only when the inputs cannot be listed (not found, unknown format).
 */
export async function* readCorpus(
  inputs: readonly string[],
  options: ReadCorpusOptions = {},
): AsyncGenerator<CorpusRecord> {
  const read = resolveReadingOptions(options);
  const groupField =
    options.groupField === undefined ? undefined : expectString('groupField', options.groupField, { nonEmpty: true });
  // A file a folder or glob holds that is not read is reported as a fault of that file (line 0).
  const files = listInputs(inputs, {
    format: read.format,
    onSkipped: ({ path, reason }) => options.onError?.({ source: path, line: 0, reason }),
  });
  const units = readUnits(files, {
    textMode: read.textMode,
    textField: read.textField,
    idField: read.idField,
    maxDocumentBytes: read.maxDocumentBytes,
    parquetRows: (options.parquetRows ?? true) || groupField !== undefined,
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
    if (groupField !== undefined) {
      const fields = unit.kind === 'cells' ? unit.row : 'object' in parsed ? parsed.object : undefined;
      record.group = groupName(fields?.[groupField]);
    }
    yield record;
  }
}
