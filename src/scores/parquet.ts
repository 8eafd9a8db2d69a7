/**
 * A JSONL score file converted to Parquet with the same columns (`SCORE_RECORD_COLUMNS`), streaming: what
 * `infoprune score` and `merge` write when the output's name ends in `.parquet`.
 */
import { removeIfPresent } from '../util/files.js';
import { readScoreRecords } from './read.js';
import { SCORE_RECORD_COLUMNS } from './record.js';

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
    removeIfPresent(parquetPath);
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
