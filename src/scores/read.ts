/**
 * Reading score files (JSONL or Parquet, src/scores/record.ts): `readScoreFile` checks every record and is what
 * callers use; `readScoreRecords` streams them as written, for copying a run's own files. Memory: one read chunk
 * (JSONL) or one row group (Parquet).
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { InfopruneError } from '../errors.js';
import { scoreFileFormat } from './files.js';
import { parseScoreRecord, SCORE_RECORD_COLUMNS, type ScoreRecord } from './record.js';

export interface ReadScoreFileOptions {
  signal?: AbortSignal;
}

/** Streams a score file's records, each checked; throws (SCORES_INVALID) on the first bad one, naming it. */
export async function* readScoreFile(path: string, options: ReadScoreFileOptions = {}): AsyncGenerator<ScoreRecord> {
  if (!existsSync(path)) throw new InfopruneError('SCORES_NOT_FOUND', `Scores file not found: ${path}`);
  let n = 0;
  for await (const raw of readScoreRecords(path)) {
    if (++n % 65536 === 0) options.signal?.throwIfAborted();
    yield parseScoreRecord(raw, `score record ${n} of ${path}`);
  }
}

/** Lines of a (possibly large) text file, streamed. */
export async function* readLines(path: string): AsyncGenerator<string> {
  const lines = createInterface({ input: createReadStream(path, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  for await (const line of lines) if (line.length > 0) yield line;
}

/**
 * The records of a score file (JSONL or Parquet), in file order, as written (unchecked: `merge` and the Parquet
 * conversion copy what `score` wrote). Integer Parquet columns come back as numbers.
 */
export async function* readScoreRecords(path: string): AsyncGenerator<ScoreRecord> {
  if (scoreFileFormat(path) === 'jsonl') {
    let n = 0;
    for await (const line of readLines(path)) {
      n++;
      try {
        yield JSON.parse(line) as ScoreRecord;
      } catch {
        throw new InfopruneError('SCORES_INVALID', `${path} line ${n} is not a score record (malformed JSON)`);
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
