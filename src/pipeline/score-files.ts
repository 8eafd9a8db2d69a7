/**
 * Score files: making the record from a scored document, writing it as a JSONL line, converting a JSONL score file to
 * Parquet (same columns), and reading either back (for `merge`). The column order is `SCORE_RECORD_COLUMNS`.
 */
import { createReadStream, unlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ScoreResult } from '../engine/types.js';
import { SCORE_RECORD_COLUMNS, type ScoreRecord } from '../records.js';

export type ScoreFileFormat = 'jsonl' | 'parquet';

/** Parquet when the name ends in .parquet, else JSONL. */
export function scoreFileFormat(path: string): ScoreFileFormat {
  return path.toLowerCase().endsWith('.parquet') ? 'parquet' : 'jsonl';
}

export function toScoreRecord(
  document: { id: string; source: string; line: number; bytes: number; wordBuckets: ArrayLike<number> },
  result: ScoreResult,
): ScoreRecord {
  // Built in SCORE_RECORD_COLUMNS order: JSON.stringify keeps it, so every file has the same column order.
  return {
    id: document.id,
    source: document.source,
    line: document.line,
    tokens: result.tokens,
    nll: result.nll,
    bytes: document.bytes,
    bits_per_token: result.bitsPerToken,
    bits_per_byte: result.bitsPerByte,
    perplexity: result.perplexity,
    words: document.wordBuckets.length,
  };
}

export function scoreRecordLine(record: ScoreRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** Lines of a (possibly large) text file, streamed. */
export async function* readLines(path: string): AsyncGenerator<string> {
  const lines = createInterface({ input: createReadStream(path, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  for await (const line of lines) if (line.length > 0) yield line;
}

/** The records of a score file (JSONL or Parquet), in file order. */
export async function* readScoreRecords(path: string): AsyncGenerator<ScoreRecord> {
  if (scoreFileFormat(path) === 'jsonl') {
    let n = 0;
    for await (const line of readLines(path)) {
      n++;
      try {
        yield JSON.parse(line) as ScoreRecord;
      } catch {
        throw new Error(`${path} line ${n} is not a score record (malformed JSON)`);
      }
    }
    return;
  }
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const rows = await parquetReadObjects({ file, metadata, rowStart, rowEnd });
    for (const row of rows) {
      const record = {} as Record<string, unknown>;
      for (const column of SCORE_RECORD_COLUMNS) {
        const value = row[column];
        record[column] = typeof value === 'bigint' ? Number(value) : value;
      }
      yield record as unknown as ScoreRecord;
    }
    rowStart = rowEnd;
  }
}

const PARQUET_ROW_GROUP = 100_000;

const PARQUET_COLUMN_TYPES: Record<(typeof SCORE_RECORD_COLUMNS)[number], 'STRING' | 'INT64' | 'DOUBLE'> = {
  id: 'STRING',
  source: 'STRING',
  line: 'INT64',
  tokens: 'INT64',
  nll: 'DOUBLE',
  bytes: 'INT64',
  bits_per_token: 'DOUBLE',
  bits_per_byte: 'DOUBLE',
  perplexity: 'DOUBLE',
  words: 'INT64',
};

/**
 * Writes a JSONL score file's records as Parquet (snappy, row groups of 100k records), streaming: memory is one row
 * group. Integer columns are INT64 (read back as bigint by hyparquet; `readScoreRecords` gives numbers).
 */
export async function writeParquetFromJsonl(jsonlPath: string, parquetPath: string): Promise<void> {
  const { ParquetWriter, fileWriter } = await import('hyparquet-writer');
  const writer = new ParquetWriter({
    writer: fileWriter(parquetPath),
    schema: parquetSchemaOfScores(),
    createdBy: 'infoprune',
  });
  let columns = emptyColumns();
  let rows = 0;
  const flush = async (): Promise<void> => {
    if (rows === 0) return;
    await writer.write({
      columnData: SCORE_RECORD_COLUMNS.map((name) => ({ name, data: columns[name], type: PARQUET_COLUMN_TYPES[name] })),
      rowGroupSize: PARQUET_ROW_GROUP,
    });
    columns = emptyColumns();
    rows = 0;
  };
  try {
    for await (const record of readScoreRecords(jsonlPath)) {
      for (const name of SCORE_RECORD_COLUMNS) {
        const value = record[name];
        columns[name].push(PARQUET_COLUMN_TYPES[name] === 'INT64' ? BigInt(value as number) : value);
      }
      if (++rows >= PARQUET_ROW_GROUP) await flush();
    }
    await flush();
    await writer.finish();
  } catch (error) {
    try {
      unlinkSync(parquetPath);
    } catch {
      // nothing to remove
    }
    throw error;
  }
}

function emptyColumns(): Record<string, unknown[]> {
  return Object.fromEntries(SCORE_RECORD_COLUMNS.map((name) => [name, [] as unknown[]]));
}

function parquetSchemaOfScores() {
  const physical = { STRING: 'BYTE_ARRAY', INT64: 'INT64', DOUBLE: 'DOUBLE' } as const;
  return [
    { name: 'root', num_children: SCORE_RECORD_COLUMNS.length },
    ...SCORE_RECORD_COLUMNS.map((name) => {
      const type = PARQUET_COLUMN_TYPES[name];
      return {
        name,
        type: physical[type],
        repetition_type: 'REQUIRED' as const,
        ...(type === 'STRING' ? { converted_type: 'UTF8' as const } : {}),
      };
    }),
  ];
}
